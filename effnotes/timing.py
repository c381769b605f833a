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
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    if min_run_time <= 0:
        raise ValueError(f"min_run_time must be positive, got {min_run_time}")
    if not statements:
        raise ValueError("statements is empty: nothing to time")
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
    if baseline not in times.columns:
        raise ValueError(f"baseline {baseline!r} is not one of the timed names {list(times.columns)}")
    return times.rdiv(times[baseline], axis=0).median().rename("speedup")
