"""The chapter's figures: a schedule with its troughs, one cyclic run's trace, and the cyclic
and standard tradeoff curves of each method."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from effnotes.cyclic.compare import check_numeric_columns, check_tidy
from effnotes.cyclic.readoff import sweep_from_points
from effnotes.cyclic.schedule import CyclicSchedule
from effnotes.plotting import plot_tradeoff
from effnotes.validation import check_frame, check_integer, check_real


def _check_positive(name: str, value) -> float:
    if not check_real(name, value) > 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return float(value)


def plot_schedule(schedule: CyclicSchedule, total_steps: int, *, steps_per_unit: float = 1.0,
                  unit: str = "steps", ax: plt.Axes | None = None) -> plt.Axes:
    """The rate of every step of a ``total_steps`` run, its troughs marked; the x axis is in
    ``unit`` (``steps_per_unit`` steps each)."""
    if not isinstance(schedule, CyclicSchedule):
        raise TypeError(f"schedule must be a CyclicSchedule, got {type(schedule).__name__}")
    _check_positive("steps_per_unit", steps_per_unit)
    ax = ax or plt.gca()
    rates = np.array(schedule.rates(total_steps))
    x = np.arange(1, total_steps + 1) / steps_per_unit
    ax.plot(x, rates, linewidth=1.2)
    troughs = schedule.trough_steps(total_steps)
    ax.scatter(np.array(troughs) / steps_per_unit, rates[np.array(troughs) - 1], color="black",
               zorder=3, s=20, label="troughs")
    for t in troughs:
        ax.axvline(t / steps_per_unit, color="0.6", linestyle=":", linewidth=0.8)
    ax.set_xlabel(f"training progress ({unit})")
    ax.set_ylabel("learning rate")
    return ax


def plot_trace(trace: pd.DataFrame, points: pd.DataFrame, steps_per_epoch: int,
               ax: plt.Axes | None = None) -> plt.Axes:
    """One cyclic run: validation accuracy at every evaluation and the learning rate (right
    axis) against epochs, with its trough points."""
    check_frame(trace, ("step", "val_accuracy", "lr"), "trace")
    check_frame(points, ("step", "val_accuracy"), "points")
    check_numeric_columns(trace, ("step", "val_accuracy", "lr"), "trace")
    check_numeric_columns(points, ("step", "val_accuracy"), "points")
    check_integer("steps_per_epoch", steps_per_epoch, 1)
    ax = ax or plt.gca()
    trace = trace.sort_values("step")
    ax.plot(trace["step"] / steps_per_epoch, trace["val_accuracy"], color="C0", linewidth=1,
            label="validation accuracy")
    ax.scatter(points["step"] / steps_per_epoch, points["val_accuracy"], color="black",
               zorder=3, s=22, label="trough points")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy (fraction)")
    rate_ax = ax.twinx()
    rate_ax.plot(trace["step"] / steps_per_epoch, trace["lr"], color="C1", alpha=0.6,
                 linewidth=1, label="learning rate")
    rate_ax.set_ylabel("learning rate")
    rate_ax.grid(False)
    lines = ax.get_legend_handles_labels()
    rates = rate_ax.get_legend_handles_labels()
    ax.legend(lines[0] + rates[0], lines[1] + rates[1], loc="lower right", fontsize="small")
    return ax


def plot_curves(points: pd.DataFrame, methods: list[str], *, ncols: int = 2) -> plt.Figure:
    """A panel per method: the standard curve (separate runs) and the cyclic curve (one run's
    troughs), seed means with ± one seed SD, accuracy against training time."""
    check_tidy(points, ("method", "kind", "budget_epochs", "train_time_s", "val_accuracy"),
           "points")
    if isinstance(methods, str) or not hasattr(methods, "__iter__"):
        raise TypeError(f"methods must be a list of method names, got {type(methods).__name__}")
    methods = list(methods)
    unknown = [m for m in methods if m not in set(points["method"])]
    if not methods or unknown:
        known = sorted(set(points["method"]))
        raise ValueError(f"methods must name methods of the points ({known}), got {methods}")
    ncols = check_integer("ncols", ncols, 1)
    nrows = int(np.ceil(len(methods) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.6 * nrows), sharey=True,
                             squeeze=False)
    for ax, method in zip(axes.flat, methods):
        for color, kind in (("C0", "standard"), ("C3", "cyclic")):
            mine = points[(points["method"] == method) & (points["kind"] == kind)]
            sweep = sweep_from_points(mine, label=kind)
            spread = mine.groupby("budget_epochs")["val_accuracy"].std().to_numpy()
            plot_tradeoff(sweep.mean_curve(), ax, color=color, spread=spread)
        ax.set_title(method.replace("_", " "))
        ax.set_ylabel("validation accuracy (fraction)")
        ax.legend(fontsize="small")
    for ax in axes.flat[len(methods):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def draw_schedule_shape(warmup: int, first_cycle: int, m: float, budget: int,
                        steps_per_epoch: int = 10) -> None:
    """The explorer's figure: a schedule of ``warmup`` and ``first_cycle`` epochs with
    multiplier ``m`` over ``budget`` epochs, its troughs and the saving of one run over
    separate runs at those troughs (rates relative to the peak)."""
    fig, ax = plt.subplots(figsize=(7, 3))
    if budget <= warmup:
        ax.set_title("the budget must outlast the warm-up")
        plt.show()
        return
    shape = CyclicSchedule(first_cycle * steps_per_epoch, m, warmup * steps_per_epoch)
    plot_schedule(shape, budget * steps_per_epoch, steps_per_unit=steps_per_epoch,
                  unit="epochs", ax=ax)
    ax.set_ylabel("learning rate / peak rate")
    found = [t / steps_per_epoch for t in shape.trough_steps(budget * steps_per_epoch)]
    shown = ", ".join(f"{t:g}" for t in found[:8]) + (" ..." if len(found) > 8 else "")
    saving = f"one run saves {sum(found) / found[-1]:.2f}x" if found else "no trough yet"
    ax.set_title(f"troughs at {shown or 'none'} epochs; {saving}")
    plt.show()


def plot_effects(differences: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Each method's effect (method minus baseline, in percentage points) at every budget
    after the first: the standard curve's on x, the cyclic curve's on y, with the diagonal
    where the two curves agree. ``differences`` is
    :func:`~effnotes.cyclic.compare.method_differences` (fractions)."""
    check_frame(differences, ("method", "standard_diff", "cyclic_diff"), "differences")
    check_numeric_columns(differences, ("standard_diff", "cyclic_diff"), "differences")
    ax = ax or plt.gca()
    for method, group in differences.groupby("method", sort=False):
        ax.scatter(100 * group["standard_diff"], 100 * group["cyclic_diff"],
                   label=method.replace("_", " "))
    edge = 1.1 * 100 * differences[["standard_diff", "cyclic_diff"]].abs().to_numpy().max()
    ax.plot([-edge, edge], [-edge, edge], color="0.5", linestyle=":", label="agreement")
    ax.set_xlabel("method - baseline, standard curve (points)")
    ax.set_ylabel("method - baseline, cyclic curve (points)")
    ax.set_title("A method's effect as the two curves measure it")
    ax.legend(fontsize="small")
    return ax


# --- tables for the page (DataFrames in percentage points, rounded) ----------------------

def _indexed(frame: pd.DataFrame, columns: tuple[str, ...], name: str,
             index: tuple[str, ...] = ("method", "budget_epochs")) -> pd.DataFrame:
    """``frame`` (checked to be a non-empty DataFrame with ``columns``) indexed by ``index``,
    whether those are its index already or columns of it."""
    check_frame(frame, columns, name)
    return frame.set_index(list(index)) if index[0] in frame.columns else frame


def accuracy_table(points: pd.DataFrame) -> pd.DataFrame:
    """Each curve's seed mean and SD of validation accuracy (%) per method and budget."""
    check_tidy(points, ("method", "kind", "budget_epochs", "val_accuracy"), "points")
    table = points.groupby(["method", "budget_epochs", "kind"])["val_accuracy"]
    table = (100 * table.agg(["mean", "std"])).unstack("kind")
    table.columns = [f"{kind} {stat} (%)" for stat, kind in table.columns]
    table = table[[f"{kind} {stat} (%)" for kind in ("standard", "cyclic")
                   for stat in ("mean", "std")]]
    return table.rename_axis(["method", "budget (epochs)"]).round(2)


def gap_table(gaps: pd.DataFrame) -> pd.DataFrame:
    """The curves' seed means, the gap (cyclic - standard) and the pooled seed SD in
    percentage points, and the gap in pooled SDs, per method and budget; ``gaps`` is a
    :func:`~effnotes.cyclic.compare.curve_gaps` frame (indexed or with its index as columns)."""
    frame = _indexed(gaps, ("standard_mean", "cyclic_mean", "gap", "pooled_sd", "gap_in_sd"),
                     "gaps")
    shown = pd.DataFrame({
        "standard (%)": 100 * frame["standard_mean"], "cyclic (%)": 100 * frame["cyclic_mean"],
        "gap (points)": 100 * frame["gap"], "pooled SD (points)": 100 * frame["pooled_sd"],
        "gap (SDs)": frame["gap_in_sd"]})
    return shown.rename_axis(["method", "budget (epochs)"]).round(2)


def window_table(gaps: pd.DataFrame, one_sided: pd.DataFrame) -> pd.DataFrame:
    """The gap (points) with the paper's window either side of the trough beside the gap
    with the window cut at the trough, and the latter in pooled seed SDs."""
    both = _indexed(gaps, ("gap",), "gaps")
    one = _indexed(one_sided, ("gap", "gap_in_sd"), "one_sided")
    return pd.DataFrame({"gap, ±window (points)": 100 * both["gap"],
                         "gap, up to the trough (points)": 100 * one["gap"],
                         "SDs, up to the trough": one["gap_in_sd"]}
                        ).rename_axis(["method", "budget (epochs)"]).round(2)


def effects_table(effects: pd.DataFrame) -> pd.DataFrame:
    """Per method: its effect on each curve and the standard error (points), ``mean_gap``
    (standard minus cyclic effect, points: positive when the cyclic curve under-rates the
    method), z, the across-budget correlation and, when present, its bootstrap interval."""
    frame = _indexed(effects, ("standard_effect", "se", "z", "cyclic_effect", "mean_gap",
                               "correlation"), "effects", index=("method",))
    shown = pd.DataFrame({
        "standard effect (points)": 100 * frame["standard_effect"],
        "SE (points)": 100 * frame["se"], "z": frame["z"],
        "cyclic effect (points)": 100 * frame["cyclic_effect"],
        "standard - cyclic (points)": 100 * frame["mean_gap"], "r": frame["correlation"]})
    if {"low", "high"} <= set(frame.columns):
        shown["r low"], shown["r high"] = frame["low"], frame["high"]
    return shown.round(2)
