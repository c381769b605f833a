"""Argument checks shared by the package's entry points: each names the argument it refuses.

``check_integer`` accepts Python and NumPy integers (never ``bool``) and returns an ``int``;
``check_real`` accepts any finite real number (never ``bool``) and returns a ``float``.
"""

from __future__ import annotations

import math
import numbers


def check_integer(name: str, value, minimum: int | None = None) -> int:
    """``value`` as an ``int``; ``TypeError`` if it is not an integer, ``ValueError`` if it is
    below ``minimum`` (when given). ``name`` is the argument's name, for the message."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def check_real(name: str, value) -> float:
    """``value`` as a ``float``; ``TypeError`` if it is not a real number, ``ValueError`` if
    it is NaN or infinite. ``name`` is the argument's name, for the message."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return float(value)
