"""Figures of the masking chapter (seaborn, the book's theme)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from effnotes.masking.analysis import steps_to_reach
from effnotes.masking.schedules import MaskingSchedule, parse_schedule


def plot_schedules(arms: list[str], ax: plt.Axes | None = None) -> plt.Axes:
    """Masking rate against training progress for each arm spec."""
    ax = ax or plt.gca()
    progress = np.linspace(0, 1, 201)
    for spec in arms:
        schedule = parse_schedule(spec)
        ax.plot(progress, [100 * schedule.rate(u) for u in progress], label=schedule.label)
    ax.set_xlabel("training progress t / T")
    ax.set_ylabel("masking rate (%)")
    ax.legend(fontsize="small")
    return ax


def plot_loss_curves(curves: pd.DataFrame, baseline: str, ax: plt.Axes | None = None) -> plt.Axes:
    """Held-out loss (fixed 15% masks) against step: seed mean with a ±1 SD band per arm,
    the baseline's final loss as a dotted line and a marker where each arm's mean reaches it."""
    ax = ax or plt.gca()
    labels = {spec: parse_schedule(spec).label for spec in curves["arm"].unique()}
    frame = curves.assign(schedule=curves["arm"].map(labels))
    sns.lineplot(frame, x="step", y="heldout_loss", hue="schedule", errorbar="sd", ax=ax)
    means = curves.groupby(["arm", "step"])["heldout_loss"].mean()
    target = means.loc[baseline].iloc[-1]
    ax.axhline(target, color="0.4", linestyle=":", linewidth=1)
    for arm in means.index.get_level_values("arm").unique():
        curve = means.loc[arm]
        reached = steps_to_reach(curve.index.to_numpy(), curve.to_numpy(), target)
        if np.isfinite(reached):
            ax.plot([reached], [target], marker="o", color="0.2", markersize=4)
    ax.set_ylabel("held-out MLM loss at 15% (nats)")
    ax.set_ylim(top=means.groupby("arm").nth(1).max() + 0.05)
    return ax


def plot_probe(runs: pd.DataFrame, majority: float, untrained: float,
               ax: plt.Axes | None = None) -> plt.Axes:
    """Probe accuracy per arm: seed mean with a 95% t interval, seeds as dots, and the
    majority-class and untrained-encoder references."""
    ax = ax or plt.gca()
    frame = runs.assign(schedule=runs["label"], accuracy=100 * runs["probe_accuracy"])
    sns.pointplot(frame, x="accuracy", y="schedule", errorbar=("ci", 95), linestyle="none",
                  color="0.2", ax=ax, capsize=0.2)
    sns.stripplot(frame, x="accuracy", y="schedule", alpha=0.5, ax=ax)
    ax.axvline(100 * untrained, color="tab:red", linestyle="--", label="untrained encoder")
    ax.axvline(100 * majority, color="0.5", linestyle=":", label="majority class")
    ax.set_xlabel("probe accuracy on held-out docstrings (%)")
    ax.set_ylabel("")
    ax.legend(fontsize="small", loc="lower right")
    return ax


def draw_schedule_shape(kind: str, start: float, end: float, steps: int = 1000,
                        tokens_per_step: int = 64 * 31) -> None:
    """The widget's view: a schedule's rate over training, and the masked tokens it has
    accumulated against constant 15% (rates in percent)."""
    schedule = MaskingSchedule(kind, start / 100, start / 100 if kind == "constant" else end / 100)
    rates = schedule.rates(steps)
    reference = np.full(steps, 0.15)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    left.plot(np.arange(steps), 100 * rates, label=schedule.label)
    left.plot(np.arange(steps), 100 * reference, color="0.5", linestyle=":", label="constant 15%")
    left.set_xlabel("step")
    left.set_ylabel("masking rate (%)")
    left.legend(fontsize="small")
    right.plot(np.arange(steps), np.cumsum(rates) * tokens_per_step / 1e6, label=schedule.label)
    right.plot(np.arange(steps), np.cumsum(reference) * tokens_per_step / 1e6, color="0.5",
               linestyle=":", label="constant 15%")
    right.set_xlabel("step")
    right.set_ylabel("targets so far (millions)")
    right.set_title(f"{rates.mean() / 0.15:.2f}× the targets of constant 15%", fontsize="small")
    fig.tight_layout()
    plt.show()
