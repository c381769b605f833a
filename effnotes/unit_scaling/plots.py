"""Figures of the μnit Scaling chapter (seaborn, the book's theme): variances, tensor scales
at initialisation, training curves, the learning-rate sweep and the stored GPU runs."""

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
               ylabel="final training loss (nats/byte)")
    return axes


def plot_attention_variance(variances, ax: plt.Axes | None = None) -> plt.Axes:
    """Softmax attention's output variance against the causal position ``k`` (log-log):
    Prop. 2.1's closed form and the exact value as lines, the Monte Carlo of
    :func:`~effnotes.unit_scaling.variance.monte_carlo_variances`'s table ``variances`` as
    dots, and √softmax's Monte Carlo as crosses."""
    import numpy as np

    from effnotes.results import as_frame
    from effnotes.unit_scaling.variance import attention_variance, attention_variance_exact

    variances = as_frame(variances)
    ax = ax or plt.subplots(figsize=(6.4, 3.6))[1]
    ks = np.unique(np.geomspace(1, 256, 40).astype(int))
    ax.plot(ks, attention_variance(ks), label="Prop. 2.1: e/k − (e−1)/k²")
    ax.plot(ks, [attention_variance_exact(int(k)) for k in ks], label="exact", ls="--")
    attn = variances[variances["op"] == "softmax attention"]
    ax.scatter(attn["k"], attn["measured"], color="k", zorder=3, s=18, label="Monte Carlo")
    roots = variances[variances["op"] == "√softmax attention"]
    ax.scatter(roots["k"], roots["measured"], marker="x", zorder=3,
               label="√softmax, Monte Carlo")
    ax.set(xscale="log", yscale="log", xlabel="causal position k (keys attended)",
           ylabel="output variance (inputs of variance 1)",
           title="Attention output variance at unit-variance inputs")
    ax.legend(fontsize=8)
    return ax


def plot_hidden_scales(hidden, axes=None):
    """Three panels over the deep model's layers, one line per hidden linear layer (hue) and
    parametrisation (style): the input RMS (the band [0.5, 2] shaded), the output-gradient
    RMS (E5M2's smallest normal dotted) and the % of gradient entries flushed to zero in
    E5M2. ``hidden``: the depth stage's table. Returns the three axes."""
    from effnotes.results import as_frame
    from effnotes.unit_scaling.formats import E5M2

    hidden = as_frame(hidden)
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharex=True)
    style = dict(x="layer", hue="linear", style="parametrisation")
    sns.lineplot(data=hidden, y="input_rms", ax=axes[0], **style)
    axes[0].set(yscale="log", title="hidden-linear input RMS", ylabel="RMS")
    axes[0].axhspan(0.5, 2, color="tab:green", alpha=0.08)
    sns.lineplot(data=hidden, y="grad_rms", ax=axes[1], legend=False, **style)
    axes[1].axhline(E5M2.min_normal, color="tab:red", ls=":", lw=1)
    axes[1].set(yscale="log", title="output-gradient RMS (E5M2 cast)", ylabel="RMS")
    sns.lineplot(data=hidden.assign(pct=100 * hidden["grad_underflow"]), y="pct", ax=axes[2],
                 legend=False, **style)
    axes[2].set(title="gradient entries flushed to 0 in E5M2", ylabel="%")
    axes[0].legend(fontsize=7, ncol=2)
    for ax in axes:
        ax.set_xlabel("block")
    return axes


def plot_first_and_last_blocks(scales, axes=None):
    """Per-op tensor scales (:func:`~effnotes.unit_scaling.analysis.plot_scales`) of the
    embedding, the first and the last block and the readout, SP and μS side by side.
    ``scales``: the depth stage's per-op table. Returns the two axes."""
    from effnotes.results import as_frame
    from effnotes.unit_scaling.analysis import plot_scales

    scales = as_frame(scales)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 6), sharex=True)
    last = max(int(op.split(".")[1]) for op in scales["op"] if op.startswith("blocks."))
    for ax, param in zip(axes, ["sp", "mus"]):
        frame = scales[scales["parametrisation"] == param]
        ops = [op for op in dict.fromkeys(frame["op"])
               if op.startswith(("blocks.0.", f"blocks.{last}.")) or op in ("embed", "head")]
        plot_scales(frame, ops=ops, ax=ax, title={"sp": "SP", "mus": "μS"}[param])
    return axes


def plot_parity_curves(parity_curves, device: str, ax: plt.Axes | None = None) -> plt.Axes:
    """The stored real-FP8 parity runs' training loss (nats per byte) against step, one line
    per arm (mean over seeds, with its band). ``parity_curves``: records or a table with
    ``step``, ``loss`` and ``arm``; ``device`` names the GPU in the title."""
    from effnotes.results import as_frame

    ax = ax or plt.subplots(figsize=(6.4, 3.6))[1]
    sns.lineplot(data=as_frame(parity_curves), x="step", y="loss", hue="arm", ax=ax)
    ax.set(title=f"loss parity, {device}", xlabel="step", ylabel="training loss (nats/byte)")
    return ax


def plot_kernel_breakdown(breakdown, ax: plt.Axes | None = None) -> plt.Axes:
    """GPU kernel time per training step (ms) by kernel category, BF16 against FP8, as
    horizontal bars. ``breakdown``: a table indexed by category with ``bf16_ms`` and
    ``fp8_ms``."""
    ax = ax or plt.subplots(figsize=(6.4, 3.6))[1]
    breakdown[["bf16_ms", "fp8_ms"]].rename(columns={"bf16_ms": "BF16", "fp8_ms": "FP8"}) \
        .plot.barh(ax=ax)
    ax.set(xlabel="GPU kernel time per step (ms)", ylabel="", title="where the step time goes")
    return ax
