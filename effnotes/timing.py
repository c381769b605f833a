"""Timing several statements against each other on a machine whose speed drifts.

On a shared virtual CPU the same matrix product can take twice as long a minute later, and
a burst of load from another process slows whichever statement happens to be running. Timing
the statements one after another lets such a burst land on one of them alone.
:func:`interleaved_times` instead times them in alternating short blocks, in an order
rotated from round to round, so that a change in speed reaches all of them alike; a ratio
taken round by round (:func:`paired_speedups`) then cancels what the rounds share, and a
median over rounds discards the rounds a burst split.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd
import torch
from torch.utils import benchmark


def interleaved_times(statements: dict[str, tuple[str, dict]], *, min_run_time: float,
                      rounds: int = 7) -> pd.DataFrame:
    """Seconds per execution of each statement, measured in ``rounds`` rounds.

    ``statements`` maps a name to ``(statement, globals)`` as for
    ``torch.utils.benchmark.Timer`` (which synchronises CUDA). Each round times every
    statement for about ``min_run_time / rounds`` seconds (``blocked_autorange``, its median
    block), starting from a different statement each round. Returns a frame with one row
    per round and one column per name, in ``statements``' order."""
    if isinstance(rounds, bool) or not isinstance(rounds, numbers.Integral):
        raise TypeError(f"rounds must be an integer, got {type(rounds).__name__} {rounds!r}")
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    if isinstance(min_run_time, bool) or not isinstance(min_run_time, numbers.Real):
        raise TypeError(f"min_run_time must be a number of seconds, got "
                        f"{type(min_run_time).__name__} {min_run_time!r}")
    if not (math.isfinite(min_run_time) and min_run_time > 0):
        raise ValueError(f"min_run_time must be positive and finite, got {min_run_time}")
    if not isinstance(statements, dict):
        raise TypeError(f"statements must be a dict of name -> (statement, globals), got "
                        f"{type(statements).__name__}")
    if not statements:
        raise ValueError("statements is empty: nothing to time")
    for name, entry in statements.items():
        if (not isinstance(entry, tuple) or len(entry) != 2 or not isinstance(entry[0], str)
                or not isinstance(entry[1], dict)):
            raise TypeError(f"statements[{name!r}] must be a (statement string, globals dict) "
                            f"pair, got {entry!r}")
    timers = {name: benchmark.Timer(stmt=stmt, globals=scope, num_threads=torch.get_num_threads())
              for name, (stmt, scope) in statements.items()}
    names = list(timers)
    for timer in timers.values():  # one warm-up execution each, untimed
        timer.timeit(1)
    table = []
    for round_ in range(rounds):
        shift = round_ % len(names)
        row = {}
        for name in names[shift:] + names[:shift]:
            row[name] = timers[name].blocked_autorange(min_run_time=min_run_time / rounds).median
        table.append(row)
    return pd.DataFrame(table, columns=names).rename_axis("round")


def paired_speedups(times: pd.DataFrame, baseline: str) -> pd.Series:
    """Median over rounds of ``baseline``'s time over each column's time in the same round
    (``times`` from :func:`interleaved_times`); the baseline's own entry is 1."""
    if not isinstance(times, pd.DataFrame):
        raise TypeError(f"times must be a pandas DataFrame, got {type(times).__name__}")
    if times.empty:
        raise ValueError("times has no rounds: nothing to compare")
    if baseline not in times.columns:
        raise ValueError(f"baseline {baseline!r} is not one of the timed names {list(times.columns)}")
    non_numeric = [c for c in times.columns if not pd.api.types.is_numeric_dtype(times[c])
                   or pd.api.types.is_bool_dtype(times[c])]
    if non_numeric:
        raise TypeError(f"times columns {non_numeric} are not numeric seconds")
    values = times.to_numpy(dtype=float)
    if not (np.all(np.isfinite(values)) and np.all(values > 0)):
        raise ValueError("times must be positive, finite seconds (a NaN, infinite, zero or "
                         "negative time has no speedup)")
    return times.rdiv(times[baseline], axis=0).median().rename("speedup")
