"""Everything the chapter concludes, computed from a run's stored tables alone.

:func:`analyse` reads the tables every run of the experiment stores (``points``, ``runs``,
``trace``, ``trough_epochs``, ``predicted_saving``) and the run's parameters, so one code
path judges a live run (DataFrames) and a stored one (lists of records read back from JSON).
Accuracies are fractions in [0, 1]; times are seconds of training (evaluation excluded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from effnotes.cyclic.compare import (agreement_checks, cost_saving, curve_gaps,
                                     effect_summary, pair_savings, pooled_correlation)
from effnotes.cyclic.readoff import reread_runs
from effnotes.results import as_frame

#: The methods the paper calls regularisers, whose effect it found the cyclic curve to
#: under-rate (mean standard-minus-cyclic gap of +0.44 and +0.39 points on ImageNet).
REGULARISERS = ("label_smoothing", "mixup")

#: How many seed SDs a gap may reach before the per-pair check counts it (the paper card's
#: "within 2 seed SDs").
GAP_SDS = 2.0
#: How many standard errors make a method's effect on the standard curve "strong".
STRONG_Z = 2.0
#: The paper's correlation check: r of the two curves' method effects at least this.
PAPER_CORRELATION = 0.8


def trough_epochs_formula(warmup_epochs: int, first_cycle_epochs: int, multiplier: int,
                          n_cycles: int) -> list[int]:
    r"""The trough budgets :math:`W + S_{k+1} = W + T_0 (m^{k+1} - 1)/(m - 1)` in epochs,
    for :math:`k = 0 .. n-1`, computed from the closed form (not from the schedule's code)."""
    return [warmup_epochs + first_cycle_epochs * (multiplier ** (k + 1) - 1) // (multiplier - 1)
            for k in range(n_cycles)]


def steps_per_epoch_of(points: pd.DataFrame) -> int:
    """Optimiser steps per epoch, read off the first trough of the cyclic points (every
    trough ends an epoch, so its step is the budget times the steps per epoch)."""
    first = points[(points["kind"] == "cyclic") & (points["trough"] == 0)]
    if first.empty:
        raise ValueError("the points hold no cyclic first-trough point")
    return int(first["step"].iloc[0] // first["budget_epochs"].iloc[0])


def readoff_mismatches(points: pd.DataFrame, trough_epochs: Sequence[int],
                       steps_per_epoch: int) -> int:
    """How many curve points break the read-off's bookkeeping: a point whose budget is not
    the trough budget of its index, whose step is not that budget's last step, and every
    (method, seed, kind, trough) cell that does not hold exactly one point. 0 when every
    method, seed and kind has one point at each trough of the schedule."""
    budgets = list(trough_epochs)
    trough = points["trough"].astype(int)
    inside = trough.between(0, len(budgets) - 1)
    expected = trough.where(inside, 0).map(lambda i: budgets[i])
    wrong = ~inside | (points["budget_epochs"] != expected) | \
        (points["step"] != points["budget_epochs"] * steps_per_epoch)
    counts = points.groupby(["method", "seed", "kind", "trough"]).size()
    cells = pd.MultiIndex.from_product([sorted(set(points["method"])), sorted(set(points["seed"])),
                                        ["cyclic", "standard"], range(len(budgets))])
    counts = counts.reindex(cells, fill_value=0)
    return int(wrong.sum() + (counts != 1).sum())


def one_sided_points(points: pd.DataFrame, trace: pd.DataFrame, trough_epochs: Sequence[int],
                     steps_per_epoch: int, *, every: int, window: int) -> pd.DataFrame:
    """The standard points with the cyclic ones read again from the runs' evaluations with
    the window cut at the trough (evaluations after the rate restarts left out)."""
    troughs = [int(b) * steps_per_epoch for b in trough_epochs]
    cyclic = reread_runs(trace, troughs, every=every, window=window, after=False,
                         steps_per_epoch=steps_per_epoch)
    return pd.concat([points[points["kind"] == "standard"], cyclic], ignore_index=True)


def first_trough_difference(one_sided: pd.DataFrame) -> float:
    """The largest ``|cyclic - standard|`` validation accuracy at the first trough over
    (method, seed) pairs, with the window cut at the trough: 0 when each cyclic run is its
    standard twin up to there, as it is by construction (same warm-up, one cosine of
    :math:`T_0`, same seed and data order)."""
    first = one_sided[one_sided["trough"] == 0].pivot_table(
        index=["method", "seed"], columns="kind", values="val_accuracy")
    return float((first["cyclic"] - first["standard"]).abs().max())


def _number(data: Mapping[str, Any], key: str) -> float:
    value = data.get(key)
    return float("nan") if value is None else float(value)


def analyse(result) -> dict[str, Any]:
    """The chapter's analysis of a :class:`~effnotes.contract.Result` (live or stored):

    - ``gaps`` (:func:`~effnotes.cyclic.compare.curve_gaps`), ``agreement``
      (:func:`~effnotes.cyclic.compare.agreement_checks`), ``effects``
      (:func:`~effnotes.cyclic.compare.effect_summary`), ``pooled_correlation``;
    - ``one_sided_gaps``: the gaps with the window cut at the trough; ``first_difference``:
      :func:`first_trough_difference`;
    - ``saving`` (per method and ``"all"``) and ``pair_savings`` (per (method, seed));
    - ``troughs_off``: trough budgets that differ from the closed form, ``readoff_mismatches``;
    - ``regulariser_gap``: the mean of ``mean_gap`` (standard effect minus cyclic effect, as
      a fraction) over the :data:`REGULARISERS` the run has (NaN if none): positive when the
      cyclic curve under-rates them, as the paper found;
    - ``max_torch_difference``: NaN for a run stored before the schedule stage recorded it.
    """
    data, params = result.data, result.parameters
    points, runs, trace = (as_frame(data[k]) for k in ("points", "runs", "trace"))
    trough_epochs = [int(b) for b in data["trough_epochs"]]
    per_epoch = int(data["steps_per_epoch"]) if data.get("steps_per_epoch") is not None \
        else steps_per_epoch_of(points)
    gaps = curve_gaps(points)
    effects = effect_summary(points)
    one_sided = one_sided_points(points, trace, trough_epochs, per_epoch,
                                 every=params["eval_every_steps"], window=params["window"])
    formula = trough_epochs_formula(params["warmup_epochs"], params["first_cycle_epochs"],
                                    params["multiplier"], params["n_cycles"])
    off = sum(a != b for a, b in zip(trough_epochs, formula)) + \
        abs(len(trough_epochs) - len(formula))
    regularisers = [m for m in REGULARISERS if m in effects.index]
    return {
        "gaps": gaps, "agreement": agreement_checks(points, threshold_sd=GAP_SDS,
                                                    strong_z=STRONG_Z),
        "effects": effects, "pooled_correlation": pooled_correlation(points),
        "one_sided_gaps": curve_gaps(one_sided),
        "first_difference": first_trough_difference(one_sided),
        "saving": cost_saving(runs), "pair_savings": pair_savings(runs),
        "troughs_off": int(off),
        "readoff_mismatches": readoff_mismatches(points, trough_epochs, per_epoch),
        "regularisers": regularisers,
        "regulariser_gap": float(effects.loc[regularisers, "mean_gap"].mean())
        if regularisers else float("nan"),
        "max_torch_difference": _number(data, "max_torch_difference"),
        "predicted_saving": float(data["predicted_saving"]),
        "steps_per_epoch": per_epoch,
    }


def strong_disagreements(effects: pd.DataFrame) -> int:
    """Among the methods whose effect on the standard curve exceeds :data:`STRONG_Z`
    standard errors, how many the cyclic curve puts on the other side of the baseline or
    measures more than two standard errors away from the standard curve's effect."""
    strong = effects[effects["z"] > STRONG_Z]
    signs = np.sign(strong["standard_effect"]) != np.sign(strong["cyclic_effect"])
    sizes = (strong["standard_effect"] - strong["cyclic_effect"]).abs() > 2 * strong["se"]
    return int((signs | sizes).sum())
