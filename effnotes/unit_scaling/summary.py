"""Reading the chapter's tables: precision gaps, best learning rates and their shifts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from effnotes.results import as_frame


def precision_gaps(runs, precision: str = "fp8_sim") -> pd.Series:
    """``precision / fp32 - 1`` of the final training loss per parametrisation (``fp8_sim``
    by default; ``fp8_sim_dynamic`` for the arms with dynamic scales), from a table with
    columns ``parametrisation``, ``precision`` and ``final_loss`` (NaN where a run diverged
    or an arm is missing for that parametrisation)."""
    runs = as_frame(runs)
    table = runs.pivot_table(index="parametrisation", columns="precision", values="final_loss",
                             dropna=False)
    for column in ("fp32", precision):
        if column not in table:
            raise ValueError(f"runs lack precision {column!r}; they have {list(table.columns)}")
    return table[precision] / table["fp32"] - 1


def mean_interval(values, confidence: float = 0.95) -> dict:
    """Mean of ``values`` (one per seed) and its Student-t interval at ``confidence``:
    ``mean +- t * sd / sqrt(n)``. Returns ``mean``, ``low``, ``high``, ``sd``, ``n`` and the
    values; with one value (or any NaN, e.g. a diverged run) the interval is NaN."""
    from scipy import stats

    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    array = np.asarray(list(values), dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError("values must be a non-empty sequence of numbers")
    n = int(array.size)
    mean = float(array.mean())
    if n < 2 or not np.isfinite(array).all():
        low = high = sd = float("nan")
    else:
        sd = float(array.std(ddof=1))
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / np.sqrt(n)
        low, high = mean - half, mean + half
    return {"mean": mean, "low": low, "high": high, "sd": sd, "n": n,
            "confidence": confidence, "values": array.tolist()}


def best_learning_rates(sweep) -> pd.DataFrame:
    """The best rate per (parametrisation, width) of a sweep table (columns
    ``parametrisation``, ``width``, ``lr``, ``loss``; a diverged run has loss NaN and never
    wins), with its index on the rate grid (``grid_index``)."""
    sweep = as_frame(sweep)
    grid = sorted(sweep["lr"].unique())
    rows = []
    for (param, width), group in sweep.groupby(["parametrisation", "width"]):
        finite = group.dropna(subset=["loss"])
        if finite.empty:
            rows.append({"parametrisation": param, "width": width, "best_lr": np.nan,
                         "grid_index": np.nan, "best_loss": np.nan})
            continue
        best = finite.loc[finite["loss"].idxmin()]
        rows.append({"parametrisation": param, "width": int(width), "best_lr": float(best["lr"]),
                     "grid_index": grid.index(best["lr"]), "best_loss": float(best["loss"])})
    return pd.DataFrame(rows)


def best_lr_shift(sweep) -> pd.Series:
    """How many grid steps each parametrisation's best rate moves across the widths
    (largest minus smallest grid index)."""
    best = best_learning_rates(sweep)
    return best.groupby("parametrisation")["grid_index"].agg(lambda s: s.max() - s.min())


def transfer_penalty(sweep) -> pd.Series:
    """What transferring the rate costs, per parametrisation: train the widest model at the
    rate that was best at the smallest width, and compare with the widest model's own best:
    ``loss(widest, best rate of smallest) / best loss(widest) - 1``. Infinite if that run
    diverged; NaN if the smallest width has no finite run."""
    sweep = as_frame(sweep)
    best = best_learning_rates(sweep)
    out = {}
    for param, group in best.groupby("parametrisation"):
        group = group.sort_values("width")
        base_lr, widest = group.iloc[0]["best_lr"], group.iloc[-1]
        if not np.isfinite(base_lr):
            out[param] = np.nan
            continue
        at = sweep[(sweep["parametrisation"] == param) & (sweep["width"] == widest["width"])
                   & (sweep["lr"] == base_lr)]["loss"]
        value = float(at.iloc[0]) if len(at) else np.nan
        out[param] = np.inf if not np.isfinite(value) else value / widest["best_loss"] - 1
    return pd.Series(out, dtype=float)
