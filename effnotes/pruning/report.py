"""Summaries of a pruning grid: means and spreads over seeds, and which strategy wins where."""

from __future__ import annotations

import numpy as np
import pandas as pd

from effnotes.validation import check_frame, check_real

#: The columns of a grid frame (:func:`~effnotes.pruning.grid.run_pruning_grid`) that
#: :func:`grid_findings` reads.
FINDINGS_COLUMNS = ("seed", "strategy", "compression", "test_acc_dense", "test_acc_pruned",
                    "test_acc_finetuned", "compression_measured", "compression_after_finetune",
                    "theoretical_speedup")
#: The columns each of :func:`flip_summary`'s frames needs.
FLIP_COLUMNS = ("seed", "strategy", "compression", "test_acc_dense", "test_acc_finetuned")


def _check_metric(metric, by) -> tuple[str, ...]:
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a column name (a str), got {type(metric).__name__} "
                        f"{metric!r}")
    if not (isinstance(by, (tuple, list)) and by and all(isinstance(c, str) for c in by)):
        raise TypeError(f"by must be a non-empty tuple of column names, got {by!r}")
    return tuple(by)


def _check_z(z) -> float:
    check_real("z", z)
    if z < 0:
        raise ValueError(f"z must be >= 0 (a number of standard errors), got {z}")
    return float(z)


def _check_settings(frames, columns: tuple[str, ...]) -> None:
    if not isinstance(frames, dict):
        raise TypeError(f"frames must be a dict of setting name -> grid frame, got "
                        f"{type(frames).__name__}")
    if len(frames) != 2:
        raise ValueError(f"frames must hold exactly two settings to compare, got {list(frames)}")
    for name, frame in frames.items():
        check_frame(frame, columns, f"frames[{name!r}]")


def summarise(frame: pd.DataFrame, metric: str, *, by: tuple[str, ...] = ("strategy", "compression")) -> pd.DataFrame:
    """Mean, sample standard deviation, standard error and count of ``metric`` over seeds,
    one row per ``by`` group (columns ``mean, std, sem, n``). ``frame`` must have rows and
    the columns ``metric`` and ``by``."""
    return _summarise(frame, metric, by=by, name="frame")


def _summarise(frame: pd.DataFrame, metric: str, *, by: tuple[str, ...],
               name: str) -> pd.DataFrame:
    by = _check_metric(metric, by)
    check_frame(frame, (metric, *by), name)
    grouped = frame.groupby(list(by))[metric]
    table = grouped.agg(["mean", "std", "count"]).rename(columns={"count": "n"})
    table["sem"] = table["std"] / np.sqrt(table["n"])
    return table[["mean", "std", "sem", "n"]]


def difference(frame: pd.DataFrame, metric: str, first: str, second: str) -> pd.DataFrame:
    """Per compression, mean ``metric`` of strategy ``first`` minus that of ``second``, with the
    standard error of the difference (independent seeds) and ``z`` = difference / error."""
    return _difference(frame, metric, first, second, name="frame")


def _difference(frame: pd.DataFrame, metric: str, first: str, second: str, *,
                name: str) -> pd.DataFrame:
    table = _summarise(frame, metric, by=("strategy", "compression"), name=name)
    strategies = set(table.index.get_level_values("strategy"))
    for strategy in (first, second):
        if strategy not in strategies:
            where = "the frame" if name == "frame" else name
            raise KeyError(f"strategy {strategy!r} is not in {where} (it has "
                           f"{sorted(strategies)})")
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
    _check_settings(frames, ())
    z = _check_z(z)
    table = pd.concat({name: _difference(frame, metric, first, second, name=f"frames[{name!r}]")
                       for name, frame in frames.items()}, names=["setting"]).unstack("setting")
    a, b = list(frames)
    significant = (table["z"].abs() >= z).all(axis=1)
    opposite = np.sign(table[("difference", a)]) != np.sign(table[("difference", b)])
    return table, table.index[significant & opposite]


MAGNITUDE = ("global_magnitude", "layer_magnitude")


def _at(series: pd.Series, key) -> float:
    """``series[key]`` as a float, NaN when the key is absent (a profile without that level)."""
    return float(series[key]) if key in series.index else float("nan")


def speedup_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean theoretical speedup (dense / nonzero multiply-adds), one row per compression and
    one column per strategy."""
    check_frame(frame, ("strategy", "compression", "theoretical_speedup"), "frame")
    return frame.groupby(["strategy", "compression"])["theoretical_speedup"].mean().unstack(0)


def strategy_ranking(frame: pd.DataFrame) -> pd.DataFrame:
    """Per compression: the best strategy by mean test accuracy before and after fine-tuning
    (columns ``best without fine-tuning``, ``best after fine-tuning``), and the spread (max
    minus min of the mean accuracies, a fraction of test images) of the non-random strategies
    at each stage (``spread pruned``, ``spread finetuned``; NaN when every row is random)."""
    check_frame(frame, ("strategy", "compression", "test_acc_pruned", "test_acc_finetuned"),
                "frame")
    ranking = pd.concat([winners(frame, "test_acc_pruned"),
                         winners(frame, "test_acc_finetuned")], axis=1)
    ranking.columns = ["best without fine-tuning", "best after fine-tuning"]
    informed = frame[frame["strategy"] != "random"]
    for stage in ("pruned", "finetuned"):
        if informed.empty:  # no informed strategy ran: no spread to measure
            ranking[f"spread {stage}"] = np.nan
            continue
        means = summarise(informed, f"test_acc_{stage}")["mean"].unstack("strategy")
        ranking[f"spread {stage}"] = means.max(axis=1) - means.min(axis=1)
    return ranking


def grid_findings(frame: pd.DataFrame, noise_floor: float) -> dict[str, float]:
    """The numbers the chapter's claims about its main grid rest on, from the grid's rows
    (accuracies are fractions of test images, speedups ratios):

    - ``compression_error``: the largest relative miss of the target compression by a
      magnitude strategy; ``masks_drift``: the largest change of the measured compression
      during fine-tuning (0 when every mask held);
    - ``dense_mean``, ``dense_sd``: the dense models' test accuracy over seeds;
    - ``z_vs_random_min`` and ``gap_vs_random_min``: the smallest z and accuracy lead of
      global magnitude over random pruning at compressions of 8 and more; ``z_vs_random_8``
      and ``gap_vs_random_8`` at 8 alone;
    - ``worst_at_two``: the largest distance of a magnitude strategy's mean from the dense mean
      at 2x, and ``noise_excess_at_two`` that distance minus the allowed seed noise
      ``max(2 sd_dense + sem_pruned, noise_floor)`` (at most 0 when within noise);
    - ``layer_minus_global_speedup_min``: the smallest lead in theoretical speedup of
      layerwise over global magnitude pruning at compressions above 1;
    - ``random_at_2``, ``random_at_32``: random pruning's fine-tuned accuracy;
    - ``spread_pruned_8``, ``spread_finetuned_8``: the non-random strategies' spread at 8x,
      before and after fine-tuning; ``n_rank_changes`` of ``n_rank_levels`` pruned levels
      where the best strategy changes with fine-tuning;
    - ``speed_spread_8``: the largest over the smallest theoretical speedup at 8x.

    ``frame`` must have rows and the columns :data:`FINDINGS_COLUMNS`; ``noise_floor`` is a
    finite accuracy >= 0.
    """
    check_frame(frame, FINDINGS_COLUMNS, "frame")
    check_real("noise_floor", noise_floor)
    if noise_floor < 0:
        raise ValueError(f"noise_floor must be >= 0 (a fraction of test images), got "
                         f"{noise_floor}")
    magnitude = frame[frame["strategy"].isin(MAGNITUDE)]
    dense = frame.groupby("seed")["test_acc_dense"].first()
    dense_mean, dense_sd = float(dense.mean()), float(dense.std())
    versus = difference(frame, "test_acc_finetuned", "global_magnitude", "random")
    high = versus[versus.index >= 8]
    two = magnitude[magnitude["compression"] == 2]
    at_two = summarise(two, "test_acc_finetuned") if len(two) else pd.DataFrame(
        {"mean": [], "std": [], "sem": [], "n": []})  # no magnitude cell at 2x
    gap = (at_two["mean"] - dense_mean).abs()
    allowed = np.maximum(2 * dense_sd + at_two["sem"], noise_floor)
    speedups = speedup_table(frame)
    pruned = speedups.index[speedups.index > 1]
    random = summarise(frame[frame["strategy"] == "random"], "test_acc_finetuned",
                       by=("compression",))["mean"] if (frame["strategy"] == "random").any() \
        else pd.Series(dtype=float)
    ranking = strategy_ranking(frame)
    levels = ranking.index > 1
    changed = ranking["best without fine-tuning"] != ranking["best after fine-tuning"]
    at_8 = speedups.loc[8] if 8 in speedups.index else pd.Series([np.nan])
    nan = float("nan")
    return {
        "compression_error": float((magnitude["compression_measured"]
                                    / magnitude["compression"] - 1).abs().max()),
        "masks_drift": float((frame["compression_after_finetune"]
                              - frame["compression_measured"]).abs().max()),
        "dense_mean": dense_mean, "dense_sd": dense_sd,
        "z_vs_random_min": float(high["z"].min()) if len(high) else nan,
        "gap_vs_random_min": float(high["difference"].min()) if len(high) else nan,
        "z_vs_random_8": _at(versus["z"], 8), "gap_vs_random_8": _at(versus["difference"], 8),
        "worst_at_two": float(gap.max()) if len(gap) else nan,
        "noise_excess_at_two": float((gap - allowed).max()) if len(gap) else nan,
        "layer_minus_global_speedup_min": float(
            (speedups.loc[pruned, "layer_magnitude"]
             - speedups.loc[pruned, "global_magnitude"]).min()) if len(pruned) else nan,
        "speedup_global_8": _at(speedups.get("global_magnitude", pd.Series(dtype=float)), 8),
        "speedup_layer_8": _at(speedups.get("layer_magnitude", pd.Series(dtype=float)), 8),
        "speed_spread_8": float(at_8.max() / at_8.min()),
        "random_at_2": _at(random, 2), "random_at_32": _at(random, 32),
        "spread_pruned_8": _at(ranking["spread pruned"], 8),
        "spread_finetuned_8": _at(ranking["spread finetuned"], 8),
        "n_rank_changes": int(changed[levels].sum()), "n_rank_levels": int(levels.sum()),
    }


def flip_summary(frames: dict[str, pd.DataFrame], *, z: float = 2.0) -> dict:
    """The checkpoint comparison (pitfall 1) in words and numbers: for two settings' grids,
    global minus layerwise magnitude accuracy after fine-tuning per compression
    (:func:`reversals`), and ``sentence``, which says how the order of the two strategies
    compares between the settings, counting only differences of at least ``z`` standard
    errors in both. Returns ``{"table": flat DataFrame (one row per compression, columns
    "<quantity> <setting>"), "n_reversed", "n_levels", "sentence", "dense": {setting: mean
    dense test accuracy}}``. Each frame needs rows and the columns :data:`FLIP_COLUMNS`."""
    _check_settings(frames, FLIP_COLUMNS)
    table, levels = reversals(frames, "test_acc_finetuned", "global_magnitude",
                              "layer_magnitude", z=z)
    first, second = list(frames)
    if len(levels):
        level = levels[0]
        sentence = (f"reversed at {len(levels)} of {len(table)} compression levels: at "
                    f"{level:g}×, global pruning's lead is "
                    f"{table.loc[level, ('difference', first)]:+.3f} from the first checkpoint "
                    f"and {table.loc[level, ('difference', second)]:+.3f} from the second")
    else:
        sentence = f"not reversed at any of the {len(table)} levels in this run"
    flat = table.copy()
    flat.columns = [f"{quantity} {setting}" for quantity, setting in flat.columns]
    dense = {name: float(frame.groupby("seed")["test_acc_dense"].first().mean())
             for name, frame in frames.items()}
    return {"table": flat.reset_index(), "n_reversed": int(len(levels)),
            "n_levels": int(len(table)), "sentence": sentence, "dense": dense}
