"""Helpers for chapter notebooks: gluing run-time numbers into the prose."""

from __future__ import annotations

import numbers

import numpy as np


def _plain(name: str, value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not np.isfinite(value):
            raise ValueError(f"glued value {name!r} is {value}: a number in the prose must be finite")
        return value
    if isinstance(value, str):
        return value
    raise TypeError(f"glued value {name!r} must be a number or a string, got {type(value).__name__}")


def glue_values(**values) -> None:
    """Glue each keyword as a plain Python number or string (not displayed), so the prose can
    format it with ``{glue:text}`name:.2f```. NumPy scalars are converted (their repr would
    not format); a NaN or infinite value raises, because prose must not quote one."""
    from myst_nb import glue

    for name, value in values.items():
        glue(name, _plain(name, value), display=False)


def show_live_and_stored(comparison, decimals: int = 3) -> None:
    """Display a :class:`~effnotes.results.LiveAndStored`: both runs' numbers side by side,
    or a note that no stored run exists yet."""
    from IPython.display import Markdown, display

    if comparison.stored is None:
        display(Markdown("*No stored run of this chapter's `gpu` profile yet (the README "
                         "says how to make one); this run's numbers:*"))
    display(comparison.table().round(decimals))


def interval_text(values, scale: float = 1.0, spec: str = "+.3f") -> str:
    """"m (95% interval l to h)" for a ``(mean, low, high)`` triple, each multiplied by
    ``scale`` and formatted with ``spec``."""
    mean, low, high = (scale * float(v) for v in values)
    return f"{mean:{spec}} (95% interval {low:{spec}} to {high:{spec}})"
