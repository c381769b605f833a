"""The book's one plotting theme and the plots chapters share."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from effnotes.tradeoff import TradeoffCurve

PALETTE = "colorblind"


def set_theme() -> None:
    """Apply the book's seaborn theme (call once at the top of a chapter)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE,
                  rc={"figure.figsize": (6.4, 4.0), "figure.dpi": 100, "savefig.dpi": 150,
                      "axes.titleweight": "bold", "legend.frameon": False})


def plot_tradeoff(curve: TradeoffCurve, ax: plt.Axes | None = None, *, color=None,
                  spread: np.ndarray | None = None, target: float | None = None,
                  logx: bool = True) -> plt.Axes:
    """Draw a curve's points, its Pareto frontier as a step line, optional ±``spread`` bars
    (shape ``(n_points,)``, in quality units, same order as ``curve.cost``) and a target line."""
    ax = ax or plt.gca()
    if color is None:
        color = ax._get_lines.get_next_color()  # the next colour of the theme's cycle
    if spread is not None:
        ax.errorbar(curve.cost, curve.quality, yerr=spread, fmt="none", ecolor=color, alpha=0.5,
                    capsize=2)
    ax.scatter(curve.cost, curve.quality, color=color, s=18, alpha=0.8)
    front = curve.frontier()
    # straight segments on a log-cost axis: the interpolation cost_to_reach uses
    ax.plot(front.cost, front.quality, color=color, label=curve.label or None)
    if target is not None:
        ax.axhline(target, color="0.4", linestyle=":", linewidth=1)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(f"training cost ({curve.cost_unit})")
    return ax


def plot_amdahl(fraction: float, factor: float, *, measured: tuple[float, float] | None = None,
                ax: plt.Axes | None = None) -> plt.Axes:
    """Amdahl's law, whole-step speedup against the speedup ``s`` of a fraction ``p`` of the
    step (log-log, ``s`` from 1 to 100), for p = 0.5, 0.9, 0.99 and ``fraction`` (solid);
    ``measured`` = (s, S) marks a measured point. The title gives S at (``fraction``,
    ``factor``)."""
    from effnotes.tradeoff import amdahl_speedup

    ax = ax or plt.gca()
    factors = np.logspace(0, 2, 200)
    for p in sorted({0.5, 0.9, 0.99, fraction}):
        ax.plot(factors, [amdahl_speedup(p, s) for s in factors],
                "-" if p == fraction else ":", label=f"p = {p:.2f}")
    if measured is not None:
        ax.scatter([measured[0]], [measured[1]], color="black", zorder=3, label="measured")
    ax.set(xscale="log", yscale="log", xlabel="speedup s of the fraction p",
           ylabel="whole-step speedup S")
    ax.set_title(f"S = {amdahl_speedup(fraction, factor):.2f} at p = {fraction:.2f}, "
                 f"s = {factor:.1f}")
    ax.legend(fontsize="small")
    return ax
