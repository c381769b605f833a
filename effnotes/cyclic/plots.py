"""The chapter's figures: a schedule with its troughs, one cyclic run's trace, and the cyclic
and standard tradeoff curves of each method."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from effnotes.cyclic.readoff import sweep_from_points
from effnotes.cyclic.schedule import CyclicSchedule
from effnotes.plotting import plot_tradeoff


def plot_schedule(schedule: CyclicSchedule, total_steps: int, *, steps_per_unit: float = 1.0,
                  unit: str = "steps", ax: plt.Axes | None = None) -> plt.Axes:
    """The rate of every step of a ``total_steps`` run, its troughs marked; the x axis is in
    ``unit`` (``steps_per_unit`` steps each)."""
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
    ax = ax or plt.gca()
    trace = trace.sort_values("step")
    ax.plot(trace["step"] / steps_per_epoch, trace["val_accuracy"], color="C0", linewidth=1,
            label="validation accuracy")
    ax.scatter(points["step"] / steps_per_epoch, points["val_accuracy"], color="black",
               zorder=3, s=22, label="trough points")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
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
        ax.set_ylabel("validation accuracy")
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
    found = [t / steps_per_epoch for t in shape.trough_steps(budget * steps_per_epoch)]
    shown = ", ".join(f"{t:g}" for t in found[:8]) + (" ..." if len(found) > 8 else "")
    saving = f"one run saves {sum(found) / found[-1]:.2f}x" if found else "no trough yet"
    ax.set_title(f"troughs at {shown or 'none'} epochs; {saving}")
    plt.show()
