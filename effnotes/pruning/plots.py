"""The pruning chapter's figures, from its stage outputs (each function returns the figure)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

from effnotes.results import as_frame

STAGE_LABELS = {"test_acc_pruned": "after pruning", "test_acc_finetuned": "after fine-tuning"}


def literature_counts(comparisons, fragments, *, top: int = 12):
    """Two panels: papers by how many other pruning methods they compare to, and the ``top``
    most common (architecture, dataset) pairs by papers reporting on them."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    sns.barplot(data=comparisons.histogram, x="n_compares_to", y="n_papers", color="C0",
                ax=axes[0])
    axes[0].set_xlabel("other pruning methods a paper compares to")
    axes[0].set_ylabel("papers")
    axes[0].set_title("How many methods a paper compares to")
    pairs = fragments.pairs.head(top).assign(
        pair=lambda t: t["architecture"] + " / " + t["dataset"])
    sns.barplot(data=pairs, y="pair", x="n_papers", color="C1", ax=axes[1])
    axes[1].set_xlabel("papers reporting results on it")
    axes[1].set_ylabel("")
    axes[1].set_title("The most common (architecture, dataset) pairs")
    return fig


def reported_tradeoffs(tradeoffs):
    """Each reported result's change in top-1 accuracy (points) against its compression ratio
    and its theoretical speedup (log axes), coloured by dataset."""
    table = tradeoffs.table
    common = table["dataset"].isin(["ImageNet", "CIFAR-10", "MNIST"])
    table = table.assign(dataset=table["dataset"].where(common, "other"))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for ax, column, label in ((axes[0], "compression_ratio", "compression ratio"),
                              (axes[1], "speedup", "theoretical speedup")):
        sns.scatterplot(data=table.dropna(subset=[column, "d_top1"]), x=column, y="d_top1",
                        hue="dataset", hue_order=["ImageNet", "CIFAR-10", "MNIST", "other"],
                        s=20, ax=ax)
        ax.set_xscale("log")
        ax.axhline(0, color="0.4", linestyle=":")
        ax.set_xlabel(f"{label} (dense / pruned)")
        ax.set_title(f"Reported results against {label}")
    axes[0].set_ylabel("change in top-1 accuracy (points)")
    return fig


def magnitude_vs_random(gale):
    """Gale et al.'s best ResNet-50 ImageNet top-1 (%) per sparsity, magnitude and random
    pruning, with the dense model's accuracy."""
    gale = as_frame(gale)
    fig, ax = plt.subplots()
    ax.plot(gale["sparsity"], gale["magnitude_best"], marker="o", label="magnitude")
    ax.plot(gale["sparsity"], gale["random_best"], marker="o", label="random")
    ax.axhline(gale["dense"].iloc[0], color="0.4", linestyle=":", label="dense")
    ax.set_xlabel("sparsity (fraction of weights removed)")
    ax.set_ylabel("ImageNet top-1 (%)")
    ax.set_title("ResNet-50: magnitude vs random pruning")
    ax.legend()
    return fig


def architectures(architectures, pruned_points):
    """Pruned ResNet-50 and VGG-16 results over off-the-shelf ImageNet models: top-1 (%)
    against parameters (millions, log axis)."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    sns.scatterplot(data=architectures, x="mparams", y="top1", color="0.6", s=22,
                    label="unpruned models", ax=ax)
    sns.scatterplot(data=pruned_points, x="mparams", y="top1", hue="family", s=30, ax=ax)
    ax.set_xscale("log")
    ax.set_xlabel("parameters (millions)")
    ax.set_ylabel("ImageNet top-1 (%)")
    ax.set_title("Pruned models over off-the-shelf architectures")
    return fig


def accuracy_curves(grid):
    """Test accuracy against compression (log axis), mean ± sd over seeds per strategy, in two
    panels: straight after pruning and after fine-tuning."""
    long = as_frame(grid).melt(id_vars=["strategy", "compression", "seed"],
                               value_vars=list(STAGE_LABELS), var_name="stage",
                               value_name="test accuracy")
    long["stage"] = long["stage"].map(STAGE_LABELS)
    plot = sns.relplot(data=long, x="compression", y="test accuracy", hue="strategy",
                       col="stage", kind="line", marker="o", errorbar="sd", height=3.4,
                       aspect=1.1)
    plot.set(xscale="log")
    plot.set_axis_labels("compression ratio (|θ| / |θ ≠ 0|)", "test accuracy (fraction)")
    plot.figure.suptitle("Accuracy against compression (mean ± sd over seeds)", y=1.04)
    return plot.figure


def accuracy_vs_speedup(grid, strategies=None, *, x="theoretical_speedup",
                        y="test_acc_finetuned", ax=None):
    """Mean test accuracy (``y``: after fine-tuning by default) against ``x`` (the theoretical
    speedup, dense / nonzero multiply-adds, or the compression), log axis, one line per
    strategy (``strategies``: all by default)."""
    grid = as_frame(grid)
    if strategies is not None:
        grid = grid[grid["strategy"].isin(list(strategies))]
    means = grid.groupby(["strategy", "compression"], as_index=False)[
        list(dict.fromkeys([x, y, "theoretical_speedup"]))].mean()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6))
    sns.lineplot(data=means, x=x, y=y, hue="strategy", marker="o", ax=ax)
    ax.set_xscale("log")
    ax.set_xlabel("theoretical speedup (dense / nonzero multiply-adds)"
                  if x == "theoretical_speedup" else "compression ratio (|θ| / |θ ≠ 0|)")
    ax.set_ylabel(f"test accuracy {STAGE_LABELS.get(y, y)} (fraction)")
    axis = "theoretical speedup" if x == "theoretical_speedup" else "compression"
    ax.set_title(f"Accuracy against {axis}")
    return ax.figure
