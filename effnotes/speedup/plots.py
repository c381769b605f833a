"""The speedup chapter's figures, drawn from its stage outputs (live frames or stored records).

Each function draws one figure with the book's theme and returns it; the page calls
``plt.show()`` after it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from effnotes.plotting import plot_tradeoff
from effnotes.results import as_frame


def tradeoff_curves(sweep, target: float) -> plt.Figure:
    """Validation accuracy against training wall time (log scale, seconds), one seed-averaged
    curve per recipe with ± one standard deviation over seeds and its Pareto frontier; a
    dotted line at the ``target`` accuracy. ``sweep`` is the sweep stage's table."""
    from effnotes.speedup.recipes import sweeps_by_recipe

    runs = as_frame(sweep)
    spread = runs.groupby(["recipe", "budget"])["val_accuracy"].std()
    fig, ax = plt.subplots()
    for name, curve in sweeps_by_recipe(runs).items():
        plot_tradeoff(curve.mean_curve(), ax, spread=spread[name].to_numpy(), target=target)
    ax.set_ylabel("validation accuracy (fraction)")
    ax.set_ylim(max(0.0, runs["val_accuracy"].min() - 0.05), 1.0)
    ax.legend(title="recipe")
    ax.set_title("Tradeoff curves: accuracy against training time")
    return fig


def speedup_curve(curve) -> plt.Figure:
    """The wall-time speedup ``S(q)`` (a ratio) against the target accuracy ``q``, with its
    bootstrap interval shaded and a dotted line at no speedup. ``curve`` is the speedups
    stage's ``speedup_curve`` table."""
    curve = as_frame(curve)
    fig, ax = plt.subplots()
    ax.plot(curve["target"], curve["speedup"], marker="o")
    ax.fill_between(curve["target"], curve["low"], curve["high"], alpha=0.25)
    ax.axhline(1.0, color="0.4", linestyle=":")
    ax.set_xlabel("target validation accuracy $q$ (fraction)")
    ax.set_ylabel("speedup $S(q)$ (wall time, ratio)")
    ax.set_title("The speedup depends on the target")
    return fig


def step_breakdown(bottleneck) -> plt.Figure:
    """Data-wait and compute seconds per epoch against the number of DataLoader workers,
    without and with the injected delay (one panel each). ``bottleneck`` is the bottleneck
    stage's table."""
    frame = as_frame(bottleneck)
    parts = ["data_wait_s_clean", "compute_s_clean", "data_wait_s_delayed", "compute_s_delayed"]
    long = frame.melt(id_vars="workers", value_vars=parts, var_name="part",
                      value_name="seconds")
    long["pipeline"] = np.where(long["part"].str.endswith("delayed"), "with delay", "no delay")
    long["part"] = np.where(long["part"].str.startswith("data"), "data-wait", "compute")
    grid = sns.catplot(data=long, x="workers", y="seconds", hue="part", col="pipeline",
                       kind="bar", height=3.2, aspect=1.1)
    grid.set_axis_labels("DataLoader workers", "seconds per epoch")
    grid.figure.suptitle("Data-wait and compute per epoch", y=1.04)
    return grid.figure


def layer_speedups(kernels, width: int, batch: int) -> plt.Figure:
    """Theoretical (FLOP ratio) and measured speedups of each layer variant over the dense
    layer, on a log axis with a dotted line at 1. ``kernels`` is the kernels stage's table;
    ``width`` and ``batch`` label the layer's size."""
    frame = as_frame(kernels)
    long = frame.melt(id_vars="variant", value_vars=["theoretical_speedup", "measured_speedup"],
                      var_name="kind", value_name="speedup")
    long["kind"] = long["kind"].str.replace("_speedup", "")
    fig, ax = plt.subplots(figsize=(7, 3.5))
    sns.barplot(data=long, y="variant", x="speedup", hue="kind", ax=ax)
    ax.axvline(1.0, color="0.4", linestyle=":")
    ax.set_xscale("log")
    ax.set_xlabel("speedup over the dense layer (ratio)")
    ax.set_ylabel("")
    ax.set_title(f"Linear layer {width}x{width}, batch {batch}")
    return fig



def bottleneck_table(bottleneck):
    """The bottleneck stage's table narrowed to what the page discusses: per worker count, the
    injected delay and the epoch without and with it (seconds), and the shares of the delay
    booked to data-wait and to compute and hidden by the workers (fractions)."""
    frame = as_frame(bottleneck)
    columns = {"injected_s": "injected (s)", "epoch_s_clean": "epoch, no delay (s)",
               "epoch_s_delayed": "epoch, with delay (s)",
               "attributed_to_data_wait": "to data-wait", "attributed_to_compute": "to compute",
               "hidden_by_workers": "hidden"}
    return frame.set_index("workers")[list(columns)].rename(columns=columns)


def amdahl_table(amdahl):
    """The Amdahl stage's timed epochs narrowed to what the page discusses: per model (wide or
    narrow, indexed by its label) the injected delay per sample and the epoch, data-wait and
    compute times, all in seconds. The worker count, batch count and batch size are the
    profile's and the same in every row, so they are left out."""
    frame = as_frame(amdahl["runs"])
    columns = {"delay_s": "delay per sample (s)", "epoch_s": "epoch (s)",
               "data_wait_s": "data-wait (s)", "compute_s": "compute (s)"}
    return frame.set_index("label")[list(columns)].rename(columns=columns).rename_axis("model")
