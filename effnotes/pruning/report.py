"""Summaries of a pruning grid: means and spreads over seeds, and which strategy wins where."""

from __future__ import annotations

import numpy as np
import pandas as pd


def summarise(frame: pd.DataFrame, metric: str, *, by: tuple[str, ...] = ("strategy", "compression")) -> pd.DataFrame:
    """Mean, sample standard deviation, standard error and count of ``metric`` over seeds,
    one row per ``by`` group (columns ``mean, std, sem, n``)."""
    missing = [c for c in (metric, *by) if c not in frame.columns]
    if missing:
        raise KeyError(f"the frame lacks columns {missing}")
    grouped = frame.groupby(list(by))[metric]
    table = grouped.agg(["mean", "std", "count"]).rename(columns={"count": "n"})
    table["sem"] = table["std"] / np.sqrt(table["n"])
    return table[["mean", "std", "sem", "n"]]


def difference(frame: pd.DataFrame, metric: str, first: str, second: str) -> pd.DataFrame:
    """Per compression, mean ``metric`` of strategy ``first`` minus that of ``second``, with the
    standard error of the difference (independent seeds) and ``z`` = difference / error."""
    table = summarise(frame, metric)
    strategies = set(table.index.get_level_values("strategy"))
    for name in (first, second):
        if name not in strategies:
            raise KeyError(f"strategy {name!r} is not in the frame (it has {sorted(strategies)})")
    a, b = table.xs(first, level="strategy"), table.xs(second, level="strategy")
    out = pd.DataFrame({"difference": a["mean"] - b["mean"],
                        "sem": np.sqrt(a["sem"] ** 2 + b["sem"] ** 2)})
    out["z"] = out["difference"] / out["sem"]
    return out


def winners(frame: pd.DataFrame, metric: str) -> pd.Series:
    """The strategy with the highest mean ``metric`` at each compression."""
    table = summarise(frame, metric)["mean"].unstack("strategy")
    return table.idxmax(axis=1).rename(f"best by {metric}")


def reversals(frames: dict[str, pd.DataFrame], metric: str, first: str, second: str, *,
              z: float = 2.0) -> tuple[pd.DataFrame, pd.Index]:
    """Does the order of two strategies depend on the setting (e.g. the starting checkpoint)?

    ``frames`` maps a setting's name to its grid (exactly two settings). Returns the table of
    :func:`difference` (``first`` minus ``second``) per compression for each setting
    (columns ``(quantity, setting)``), and the compressions where the difference is at least
    ``z`` standard errors in both settings and of opposite signs.
    """
    if len(frames) != 2:
        raise ValueError(f"reversals compares exactly two settings, got {list(frames)}")
    table = pd.concat({name: difference(frame, metric, first, second)
                       for name, frame in frames.items()}, names=["setting"]).unstack("setting")
    a, b = list(frames)
    significant = (table["z"].abs() >= z).all(axis=1)
    opposite = np.sign(table[("difference", a)]) != np.sign(table[("difference", b)])
    return table, table.index[significant & opposite]
