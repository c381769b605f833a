"""Figures of the μnit Scaling chapter's training runs (seaborn, the book's theme)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

_TITLES = {"sp": "SP (one global rate)", "mus": "μS (√ rule)"}


def plot_training_curves(curves: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Training loss against step, one line per parametrisation and precision (columns
    ``parametrisation, precision, step, loss`` of
    :func:`~effnotes.unit_scaling.experiment.training_comparison`'s ``curves``)."""
    ax = ax or plt.gca()
    arms = curves.assign(arm=curves["parametrisation"] + " / " + curves["precision"])
    sns.lineplot(data=arms, x="step", y="loss", hue="arm", ax=ax)
    ax.set(ylabel="training loss (nats/byte)", title="SP and μS, FP32 and simulated FP8")
    return ax


def plot_lr_sweep(sweep: pd.DataFrame, best: pd.DataFrame, axes=None):
    """Final loss against peak learning rate (log2 axis), one line per width, SP and μS side
    by side, with each width's best rate starred. ``sweep``: columns ``parametrisation,
    width, lr, loss``; ``best``: ``parametrisation, best_lr, best_loss`` per width. Returns
    the two axes."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for ax, parametrisation in zip(axes, ["sp", "mus"]):
        part = sweep[sweep["parametrisation"] == parametrisation]
        sns.lineplot(data=part, x="lr", y="loss", hue="width", marker="o", ax=ax,
                     palette="viridis")
        starred = best[best["parametrisation"] == parametrisation]
        ax.scatter(starred["best_lr"], starred["best_loss"], marker="*", s=150, color="k",
                   zorder=4)
        ax.set_xscale("log", base=2)
        ax.set(title=_TITLES[parametrisation], xlabel="peak learning rate η",
               ylabel="final training loss")
    return axes
