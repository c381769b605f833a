"""Reading a tradeoff curve off one cyclic run, and the standard curve to compare it with.

A run is evaluated on a grid of steps around each trough (every ``every`` steps, ``window``
evaluations either side). Each trough gives one point of the curve: the training time at the
trough (evaluation excluded) and the best validation accuracy within ``window`` evaluations
of it, the read-off of Portes et al. (2022). A standard run, whose schedule is scaled to its
own budget, is read off the same way at its last step (the grid after it is empty), so both
curves use one rule.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd

from effnotes.tradeoff import SeedSweep, TradeoffCurve

#: Columns an evaluation frame must have (``TrainHistory.evaluations_frame()`` has them).
EVAL_COLUMNS = ("step", "train_time_s", "val_accuracy")


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_troughs(troughs: Sequence[int]) -> list[int]:
    if isinstance(troughs, (str, bytes)) or not isinstance(troughs, (Sequence, np.ndarray)):
        raise TypeError(f"troughs must be a sequence of step counts, got {type(troughs).__name__}")
    troughs = [int(t) if isinstance(t, numbers.Integral) and not isinstance(t, bool) else t
               for t in troughs]
    if not troughs:
        raise ValueError("troughs is empty: there is no point to read off")
    if any(not isinstance(t, int) or t < 1 for t in troughs):
        raise ValueError(f"troughs must be positive integer step counts, got {troughs}")
    if any(b <= a for a, b in zip(troughs, troughs[1:])):
        raise ValueError(f"troughs must be strictly increasing, got {troughs}")
    return troughs


def evaluation_steps(troughs: Sequence[int], total_steps: int, *, every: int,
                     window: int) -> list[int]:
    """The steps to evaluate at: ``t + i * every`` for every trough ``t`` and ``|i| <=
    window``, clipped to ``[1, total_steps]``; sorted, without repeats."""
    troughs = _check_troughs(troughs)
    total_steps = _positive_int("total_steps", total_steps)
    every = _positive_int("every", every)
    if isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 0:
        raise ValueError(f"window must be a non-negative integer, got {window!r}")
    if troughs[-1] > total_steps:
        raise ValueError(f"trough {troughs[-1]} lies beyond the run's {total_steps} steps")
    steps = {t + i * every for t in troughs for i in range(-window, window + 1)}
    return sorted(s for s in steps if 1 <= s <= total_steps)


def troughs_from_rates(rates: Sequence[float]) -> list[int]:
    """Trough steps found in a recorded learning-rate trace (``rates[t]`` is the rate of step
    ``t``): every local minimum followed by a rise (the step count after it), plus the
    run's last step, as in the paper's read-off."""
    rates = np.asarray(rates, dtype=float)
    if rates.ndim != 1 or rates.size < 2:
        raise ValueError(f"rates must be a 1-D trace of at least 2 steps, got shape {rates.shape}")
    if not np.all(np.isfinite(rates)):
        raise ValueError("rates contain NaN or infinite values")
    middle = np.arange(1, rates.size - 1)
    minima = middle[(rates[middle] < rates[middle - 1]) & (rates[middle] < rates[middle + 1])]
    troughs = [int(i) + 1 for i in minima]
    if not troughs or troughs[-1] != rates.size:
        troughs.append(int(rates.size))
    return troughs


def trough_points(evaluations: pd.DataFrame, troughs: Sequence[int], *, every: int,
                  window: int, after: bool = True) -> pd.DataFrame:
    """One row per trough: ``trough`` (its index), ``step``, ``train_time_s`` (training time
    at the trough), ``val_accuracy`` (best within ``window`` evaluations either side, on the
    ``every``-step grid; only those up to the trough if ``after`` is False) and ``n_evals``
    (how many evaluations that window held).

    ``evaluations`` has at least the columns :data:`EVAL_COLUMNS`, one row per evaluation;
    evaluations off the grid (e.g. once per epoch, for a plot) are ignored. Every trough must
    have been evaluated exactly at its step.
    """
    if not isinstance(evaluations, pd.DataFrame):
        raise TypeError(f"evaluations must be a pandas DataFrame, got {type(evaluations).__name__}")
    missing = [c for c in EVAL_COLUMNS if c not in evaluations.columns]
    if missing:
        raise KeyError(f"evaluations lack columns {missing}; they have {list(evaluations.columns)}")
    troughs = _check_troughs(troughs)
    every = _positive_int("every", every)
    if isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 0:
        raise ValueError(f"window must be a non-negative integer, got {window!r}")
    by_step = evaluations.drop_duplicates("step", keep="last").set_index("step")
    rows = []
    for index, trough in enumerate(troughs):
        if trough not in by_step.index:
            raise ValueError(f"the run was not evaluated at trough step {trough}; evaluate at "
                             "evaluation_steps(...) to read the curve off")
        grid = [trough + i * every for i in range(-window, (window if after else 0) + 1)]
        near = by_step.loc[by_step.index.intersection(grid)]
        values = near["val_accuracy"].to_numpy(dtype=float)
        if not np.all(np.isfinite(values)) or \
                not np.isfinite(float(by_step.loc[trough, "train_time_s"])):
            raise ValueError(f"evaluations hold a NaN or infinite val_accuracy or train_time_s "
                             f"near trough step {trough}")
        rows.append({"trough": index, "step": trough,
                     "train_time_s": float(by_step.loc[trough, "train_time_s"]),
                     "val_accuracy": float(near["val_accuracy"].max()),
                     "n_evals": int(len(near))})
    return pd.DataFrame(rows)


def curve_from_points(points: pd.DataFrame, *, label: str = "", cost: str = "train_time_s",
                      cost_unit: str = "s") -> TradeoffCurve:
    """One run's trough points (from :func:`trough_points`) as a tradeoff curve."""
    return TradeoffCurve(points[cost].to_numpy(), points["val_accuracy"].to_numpy(), label,
                         cost_unit)


def sweep_from_points(points: pd.DataFrame, *, budget: str = "budget_epochs",
                      cost: str = "train_time_s", label: str = "",
                      cost_unit: str = "s") -> SeedSweep:
    """Seeds' trough points (a ``seed`` column, one row per seed and budget) as a
    :class:`~effnotes.tradeoff.SeedSweep`, so the speedup tools apply to them."""
    return SeedSweep.from_frame(points, budget=budget, seed="seed", cost=cost,
                                quality="val_accuracy", label=label, cost_unit=cost_unit)


def reread_runs(trace: pd.DataFrame, troughs: Sequence[int], *, every: int, window: int,
                after: bool = True, steps_per_epoch: int) -> pd.DataFrame:
    """Read the trough points again from stored evaluations of several runs (``trace`` with
    ``method`` and ``seed`` columns besides :data:`EVAL_COLUMNS`), e.g. with another window;
    returns the columns of the points of :func:`effnotes.cyclic.runs.run_comparison`, with
    ``kind`` "cyclic"."""
    steps_per_epoch = _positive_int("steps_per_epoch", steps_per_epoch)
    if not isinstance(trace, pd.DataFrame):
        raise TypeError(f"trace must be a pandas DataFrame, got {type(trace).__name__}")
    missing = [c for c in ("method", "seed", *EVAL_COLUMNS) if c not in trace.columns]
    if missing:
        raise KeyError(f"trace lacks columns {missing}; it has {list(trace.columns)}")
    if trace.empty:
        raise ValueError("trace has no rows: there is no run to read off")
    frames = []
    for (method, seed), run in trace.groupby(["method", "seed"], sort=False):
        points = trough_points(run, troughs, every=every, window=window, after=after)
        frames.append(points.assign(method=method, seed=seed, kind="cyclic",
                                    budget_epochs=points["step"] // steps_per_epoch))
    return pd.concat(frames, ignore_index=True)
