"""Figures of the MADDNESS chapter (seaborn, the book's theme)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from effnotes.maddness.hashing import learn_tree


def plot_toy_tree(X: np.ndarray, ax: plt.Axes | None = None) -> plt.Axes:
    """Learn one depth-4 tree on 2-D points ``X`` (n, 2) and draw the points coloured by
    their leaf, with each level's thresholds as segments."""
    ax = ax or plt.gca()
    tree = learn_tree(X)
    palette = sns.color_palette("tab20", 16)
    ax.scatter(X[:, 0], X[:, 1], c=[palette[c] for c in tree.codes], s=8)
    lo, hi = X.min(axis=0) - 0.1, X.max(axis=0) + 0.1
    boxes = [(lo.copy(), hi.copy())]
    for level in range(4):
        j = int(tree.split_dims[level])
        children = []
        for i, (blo, bhi) in enumerate(boxes):
            v = tree.thresholds[2**level - 1 + i]
            if j == 0:
                ax.plot([v, v], [blo[1], bhi[1]], color="0.2", lw=2.2 - 0.4 * level)
            else:
                ax.plot([blo[0], bhi[0]], [v, v], color="0.2", lw=2.2 - 0.4 * level)
            left_hi, right_lo = bhi.copy(), blo.copy()
            left_hi[j], right_lo[j] = v, v
            children += [(blo, left_hi), (right_lo, bhi)]
        boxes = children
    ax.set(xlabel="$x_0$", ylabel="$x_1$", title="one tree: 4 levels, 16 buckets")
    return ax


def plot_split_losses(values: np.ndarray, losses: np.ndarray, best: float,
                      ax: plt.Axes | None = None) -> plt.Axes:
    """SSE after splitting at each sorted position (``losses`` for the gaps of ``values``)."""
    ax = ax or plt.gca()
    mids = (values[:-1] + values[1:]) / 2
    ax.plot(mids, losses, color="C0")
    ax.axvline(best, color="C3", linestyle="--", label=f"chosen threshold {best:.2f}")
    ax.set(xlabel="threshold on the split column", ylabel="SSE of the two halves")
    ax.legend()
    return ax


def plot_accuracy_curves(frame: pd.DataFrame, y: str, ax: plt.Axes | None = None,
                         logy: bool = False) -> plt.Axes:
    """``y`` against budget for every method of an :func:`~effnotes.maddness.accuracy.evaluate`
    frame."""
    ax = ax or plt.gca()
    sns.lineplot(data=frame, x="budget", y=y, hue="method", marker="o", ax=ax)
    ax.set_xscale("log", base=2)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("codebooks (MADDNESS, PQ, Bolt) or sketch width (RandGauss, PCA)")
    return ax


def plot_tradeoff_frame(frame: pd.DataFrame, ax: plt.Axes | None = None,
                        compiled_only: bool = False) -> plt.Axes:
    """NMSE against median time for every method and budget (log-log); with
    ``compiled_only``, only the methods whose ``compiled`` column is true."""
    ax = ax or plt.gca()
    data = frame[frame["method"] != "exact"]
    if compiled_only:
        data = data[data["compiled"].astype(bool)]
    sns.lineplot(data=data, x="time_ms", y="nmse", hue="method", marker="o", sort=False,
                 estimator=None, ax=ax)
    exact = frame[frame["method"] == "exact"]
    if len(exact):
        ax.axvline(float(exact["time_ms"].iloc[0]), color="0.3", linestyle=":",
                   label="exact (numpy float32)")
    ax.set(xscale="log", yscale="log", xlabel="time per product (ms)", ylabel="NMSE")
    ax.legend(fontsize=8)
    return ax


BENCH_LABELS = {"maddness matmul": "est.matmul(A)", "maddness fused": "raw fused kernel"}


def plot_bench(table: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """MADDNESS's speedup over numpy per shape and layout, cache-warm and cache-cold, for
    ``est.matmul(A)`` and the raw fused kernel (whichever the table has)."""
    ax = ax or plt.gca()
    table = pd.DataFrame(table)
    fused = table[table["method"].isin(list(BENCH_LABELS))].copy()
    fused["case"] = "M=" + fused["M"].astype(str) + ", " + fused["layout"]
    long = fused.melt(id_vars=["case", "method"], value_vars=["speedup_warm", "speedup_cold"],
                      var_name="cache", value_name="speedup")
    long["call"] = (long["method"].map(BENCH_LABELS) + ", "
                    + long["cache"].str.replace("speedup_", "cache-"))
    sns.barplot(data=long, x="case", y="speedup", hue="call", ax=ax)
    ax.axhline(1, color="0.3", lw=1)
    ax.set(xlabel="output columns M of the product, and the layout of A",
           ylabel="speedup over numpy float32 (x)")
    return ax


def plot_lambda_grid(grid: pd.DataFrame, ncodebooks: int, lam: float,
                     ax: plt.Axes | None = None) -> plt.Axes:
    """Relative accuracy against fused kernel time for every ridge penalty λ of a
    :func:`~effnotes.maddness.experiment.lambda_grid` result (one line per λ, log time), with
    the point (``ncodebooks``, ``lam``) circled and its figures in the title."""
    chosen = grid[(grid["ncodebooks"] == ncodebooks) & (grid["lam"] == lam)]
    if chosen.empty:
        raise ValueError(f"the grid has no point with ncodebooks={ncodebooks}, lam={lam}")
    row = chosen.iloc[0]
    ax = ax or plt.gca()
    for value, part in grid.groupby("lam"):
        ax.plot(part["time_ms"], part["relative_accuracy"], "o-", label=f"λ={value}")
    ax.scatter([row.time_ms], [row.relative_accuracy], s=160, facecolors="none",
               edgecolors="k", linewidths=2)
    ax.set(xscale="log", xlabel="est.matmul time (ms)", ylabel="relative accuracy")
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(f"C={ncodebooks}, λ={lam}: NMSE {row.nmse:.4f}, "
                 f"rel. acc. {row.relative_accuracy:.4f}, {row.time_ms:.3f} ms")
    return ax


def plot_thread_scaling(table: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Warm time at one thread over warm time at ``t`` threads, against ``t``, for NumPy's
    BLAS and MADDNESS's fused kernel in every (N, M, layout) of a thread-sweep table
    (:mod:`effnotes.maddness.threads`), with the ideal line."""
    ax = ax or plt.gca()
    t = pd.DataFrame(table)
    t = t[t["method"].isin(["numpy float32 matmul", "maddness fused"])].copy()
    t["case"] = ("N=" + t["N"].astype(str) + ", M=" + t["M"].astype(str) + ", "
                 + t["layout"])
    sns.lineplot(data=t, x="threads", y="scaling_warm", hue="case", style="method",
                 marker="o", ax=ax)
    top = int(t["threads"].max())
    ax.plot([1, top], [1, top], color="0.6", lw=1, linestyle=":", label="ideal")
    ax.set(xscale="log", yscale="log", xlabel="threads",
           ylabel="speedup over its own 1-thread time")
    ax.legend(fontsize=7)
    return ax


def figure_toy_tree(toy: np.ndarray) -> plt.Figure:
    """The toy tree of the ``hash_function`` stage (its ``_toy`` points, ``(n, 2)``)."""
    fig, ax = plt.subplots(figsize=(5, 4.2))
    plot_toy_tree(toy, ax)
    return fig


def figure_split(split: dict) -> plt.Figure:
    """The ``split_search`` stage's ``_split``: SSE at every split point of the sorted
    bucket, with the threshold chosen."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    plot_split_losses(split["values"], split["losses"], split["threshold"], ax)
    ax.set_title("one bucket: SSE after each split point")
    return fig


def figure_accuracy(digits: pd.DataFrame) -> plt.Figure:
    """NMSE (log) and relative accuracy against budget on digits, for every method of a
    ``digits`` frame (the ``digits_accuracy`` stage)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    plot_accuracy_curves(digits, "nmse", axes[0], logy=True)
    plot_accuracy_curves(digits, "relative_accuracy", axes[1])
    axes[0].set(ylabel="NMSE of the product", title="error of the approximate product")
    axes[1].set(ylim=(0.5, 1.02), ylabel="accuracy / exact accuracy",
                title="classifier accuracy, relative to exact")
    return fig


def figure_bench(bench: pd.DataFrame, hardware: dict) -> plt.Figure:
    """The ``speed`` stage's benchmark table as bars of speedup over NumPy float32, with
    the CPU and thread count (``hardware``) in the title."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    plot_bench(bench, ax)
    ax.set_title(f"{hardware.get('cpu', '?')}, {hardware.get('threads', '?')} threads "
                 "each side", fontsize=10)
    return fig


def figure_tradeoff(trade: pd.DataFrame, compiled_only: bool) -> plt.Figure:
    """NMSE against time for every method of the ``speed_against_accuracy`` stage's
    ``tradeoff`` frame (only the compiled ones when ``compiled_only``)."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    plot_tradeoff_frame(trade, ax, compiled_only=compiled_only)
    ax.set_title("speed against accuracy, synthetic activations")
    return fig


def figure_thread_scaling(table) -> plt.Figure:
    """:func:`plot_thread_scaling` of a stored thread sweep's table (records or frame)."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    plot_thread_scaling(pd.DataFrame(table), ax)
    ax.set_title("thread scaling, each method over its own 1-thread time")
    return fig


def lambda_grid_widget(grid: pd.DataFrame, ncodebooks: int = 16, lam: float = 1.0):
    """Two sliders (codebooks C and ridge penalty λ) over the ``lambda_grid`` frame, showing
    :func:`plot_lambda_grid` at the chosen point, every point drawn ahead so that the
    sliders work on a static page too (:mod:`effnotes.precomputed_controls`); returns the
    ipywidgets box to display."""
    from effnotes.precomputed_controls import precomputed_controls

    def draw_point(ncodebooks, lam):
        plt.figure(figsize=(6, 3.4))
        plot_lambda_grid(grid, ncodebooks, lam)

    options = {"ncodebooks": [int(v) for v in sorted(grid["ncodebooks"].unique())],
               "lam": [float(v) for v in sorted(grid["lam"].unique())]}
    return precomputed_controls(draw_point, options,
                                initial={"ncodebooks": ncodebooks, "lam": lam},
                                labels={"ncodebooks": "C", "lam": "λ"})
