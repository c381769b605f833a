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


def check_frame(frame, columns: tuple[str, ...], name: str):
    """``frame`` if it is a non-empty DataFrame with ``columns``: a ``TypeError`` if it is no
    DataFrame, a ``KeyError`` naming the missing columns, a ``ValueError`` if it has no rows
    (``name`` is the argument's name, for the messages)."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"{name} lacks columns {missing}; it has {list(frame.columns)}")
    if frame.empty:
        raise ValueError(f"{name} has no rows")
    return frame
