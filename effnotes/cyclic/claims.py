"""What the chapter claims, judged the same way on a live run and on a stored one.

:func:`claims` returns the claims table (see :mod:`effnotes.claims`); :func:`headline` the
named numbers the page glues and ``effnotes experiment --check`` compares; :func:`sentences`
the verdict sentences the page glues (so the notebook holds no verdict logic). All three
read only what every run stores (``points``, ``runs``, ``trace``, ``trough_epochs``,
``predicted_saving``), through :func:`effnotes.cyclic.analysis.analyse`; a number a stored
run predates (``max_torch_difference``) is NaN there and its claim fails as not measured.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from effnotes.claims import Claim, claims_table
from effnotes.cyclic.analysis import (GAP_SDS, PAPER_CORRELATION, STRONG_Z, analyse,
                                      strong_disagreements)

#: The schedule must match PyTorch's composition to this, in learning rate, at every step.
TORCH_TOLERANCE = 1e-6


def claims(result, profile) -> pd.DataFrame:
    """The chapter's claims on ``result`` at ``profile``'s thresholds: four correctness
    claims (enforced at every profile), four result claims (enforced where
    ``profile.enforce_results``) and four the page reports without asserting (the paper card's
    strict gap check, whether any effect was strong enough to test, and the paper's two
    findings: the correlation of effects and the under-rating of regularisers)."""
    a = analyse(result)
    agreement, effects = a["agreement"], a["effects"]
    strong = effects[effects["z"] > STRONG_Z]
    results = bool(profile.enforce_results)
    median = float(a["pair_savings"].median())
    rows = [
        Claim.at_most(
            "schedule_matches_torch", "The cyclic schedule's learning rate equals PyTorch's "
            "LinearLR + CosineAnnealingWarmRestarts(T_mult=m) at every step of the run.",
            a["max_torch_difference"], TORCH_TOLERANCE, kind="correctness"),
        Claim.at_most(
            "troughs_at_formula", "The run's trough budgets are W + S_{k+1} epochs, the closed "
            "form of the geometric cycle lengths (count of troughs off).",
            a["troughs_off"], 0, kind="correctness"),
        Claim.at_most(
            "readoff_consistent", "Every method, seed and kind has one curve point per trough, "
            "at that trough's budget and last step (count of points off).",
            a["readoff_mismatches"], 0, kind="correctness"),
        Claim.at_most(
            "first_trough_is_standard_run", "Up to the first trough the cyclic run is the "
            "standard run of that budget: with the window cut at the trough their accuracies "
            "are equal (largest difference, a fraction).",
            a["first_difference"], 0.0, kind="correctness"),
        # n_beyond comes from agreement_checks; the threshold is what chance allows for this
        # run's design (pairs and seeds), fixed before any accuracy is seen
        Claim.at_most(
            "gaps_within_chance", "After the first budget, the (method, budget) pairs whose "
            "gap exceeds two seed SDs are no more than chance alone makes in 95% of "
            "experiments with no true gap.",
            agreement["n_beyond"], agreement["allowed_beyond"], enforced=results),
        # rewritten so that it counts failures (it read "all agree", vacuously true when no
        # effect is strong); strong_effect_found below shows when it had nothing to test
        Claim.at_most(
            "strong_effects_agree", "For every method whose effect exceeds two standard "
            "errors, the cyclic curve puts it on the same side of the baseline and within two "
            "standard errors of the standard curve's effect (count of methods that disagree).",
            strong_disagreements(effects), 0, enforced=results),
        Claim.at_least(
            "saving_at_least", f"One cyclic run saves at least {profile.min_saving:g}x of the "
            "standard runs' training time (median over (method, seed) pairs).",
            median, profile.min_saving, enforced=results),
        Claim.within(
            "saving_near_prediction", f"That saving is within {profile.saving_tolerance:.0%} "
            "of the step-count prediction (relative difference).",
            median / a["predicted_saving"], 1.0, profile.saving_tolerance, enforced=results),
        Claim.at_most(
            "every_gap_within_2sd", "The paper card's strict check: no (method, budget) pair "
            "after the first budget is more than two seed SDs from the standard curve "
            "(reported; with few seeds chance breaks it often).",
            agreement["n_beyond"], 0, enforced=False),
        Claim.at_least(
            "strong_effect_found", "At least one method's effect on the standard curve "
            "exceeds two standard errors, so the agreement of effects is tested (reported).",
            len(strong), 1, enforced=False),
        Claim.at_least(
            "paper_correlation", "The paper's check: for every method with an effect above "
            "two standard errors, the two curves' effects correlate across budgets at r >= "
            f"{PAPER_CORRELATION:g} (the smallest r; reported).",
            float(strong["correlation"].min()) if len(strong) else math.nan,
            PAPER_CORRELATION, enforced=False),
        Claim.above(
            "paper_underrates_regularisers", "The paper's direction: the cyclic curve "
            "under-rates the regularisers (label smoothing, MixUp), i.e. their effect on the "
            "standard curve minus that on the cyclic curve is positive (mean, points; "
            "reported).",
            100 * a["regulariser_gap"], 0.0, enforced=False),
    ]
    return claims_table(rows)


def headline(result) -> pd.Series:
    """The chapter's headline numbers (savings as ratios, gaps and effects in percentage
    points, correlations as Pearson's r), the same for a live and a stored run."""
    a = analyse(result)
    gaps, effects = a["gaps"], a["effects"]
    later = gaps[~gaps["first_budget"]]
    numbers = {
        "cost saving, measured (x)": a["saving"]["all"],
        "cost saving, median over (method, seed) pairs (x)": a["pair_savings"].median(),
        "cost saving, predicted from steps (x)": a["predicted_saving"],
        "largest |gap| after the first budget (seed SDs)": later["gap_in_sd"].max(),
        "largest |gap| after the first budget (pp)": 100 * later["gap"].abs().max(),
        "correlation, all methods pooled": a["pooled_correlation"],
        "pairs beyond two seed SDs": a["agreement"]["n_beyond"],
        "first trough, largest |cyclic - standard| (pp)": 100 * a["first_difference"],
        "regularisers: standard minus cyclic effect (pp)": 100 * a["regulariser_gap"],
        "largest rate difference from PyTorch": a["max_torch_difference"],
    }
    for method, row in effects.iterrows():
        numbers[f"{method}: effect on standard curve (pp)"] = 100 * row["standard_effect"]
        numbers[f"{method}: effect / SE"] = row["z"]
        numbers[f"{method}: correlation"] = row["correlation"]
    return pd.Series(numbers, dtype=float)


def _name(method: str) -> str:
    return method.replace("_", " ")


def _gap_verdict(gaps: pd.DataFrame) -> str:
    later = gaps[~gaps["first_budget"]]
    beyond = later[later["gap_in_sd"] > GAP_SDS]
    if beyond.empty:
        return "holds: every one is within two seed SDs"
    listed = "; ".join(f"{_name(m)} at {b} epochs ({100 * r.gap:+.1f} points, "
                       f"{r.gap_in_sd:.1f} SDs)" for (m, b), r in beyond.iterrows())
    return f"does not hold in {len(beyond)} of them: {listed}"


def _correlation_verdicts(effects: pd.DataFrame) -> tuple[str, str]:
    strong = effects[effects["z"] > STRONG_Z]
    if strong.empty:
        text = "none; no method's effect exceeded two standard errors, so there is nothing " \
               "to test"
        return text, "has nothing to test in this run"
    has_interval = {"low", "high"} <= set(effects.columns)
    parts = []
    for method, r in strong.iterrows():
        interval = f", 95% interval {r.low:.2f} to {r.high:.2f}" if has_interval else ""
        parts.append(f"{_name(method)} (effect {100 * r.standard_effect:+.2f} points, "
                     f"{r.z:.1f} SE): r = {r.correlation:.2f}{interval}")
    point = bool((strong["correlation"] >= PAPER_CORRELATION).all())
    if has_interval and bool((strong["low"] >= PAPER_CORRELATION).all()):
        check = "is established by this run: every interval lies above 0.8"
    elif has_interval:
        check = ("holds for the point estimates" if point else
                 "does not hold for the point estimates") + \
            ", and the bootstrap intervals reach below 0.8, so this run does not establish " \
            "it either way"
    else:
        check = "holds for the point estimates" if point else \
            "does not hold for the point estimates"
    return "; ".join(parts), check


def _direction(effects: pd.DataFrame, regularisers: list[str], gap: float) -> str:
    if not regularisers:
        return "this run trains neither label smoothing nor MixUp, so it cannot say"
    parts = [f"{_name(m)} {100 * effects.loc[m, 'standard_effect']:+.2f} points on the "
             f"standard curve and {100 * effects.loc[m, 'cyclic_effect']:+.2f} on the cyclic "
             "one" for m in regularisers]
    way = "under-rates them, as the paper found" if gap > 0 else \
        "over-rates them: the reverse of the paper's finding"
    noise = (effects.loc[regularisers, "mean_gap"].abs()
             <= 2 * effects.loc[regularisers, "se"]).all()
    size = "within two standard errors of the effects, so within this run's noise" if noise \
        else "larger than two standard errors of the effects"
    return (f"{'; '.join(parts)}: the cyclic curve {way} (mean difference "
            f"{100 * gap:+.2f} points, {size})")


def sentences(result) -> dict[str, str]:
    """The page's verdict sentences for ``result``: ``gap_verdict`` (the strict 2-SD check),
    ``correlation_verdict`` and ``correlation_check`` (the paper's correlation check, with
    bootstrap intervals when the result has them), ``direction`` (whether the cyclic curve
    under-rates the regularisers, as the paper found) and ``pooled`` (the pooled r, or
    "undefined")."""
    a = analyse(result)
    effects = a["effects"]
    if "effects" in result and {"low", "high"} <= set(pd.DataFrame(result["effects"]).columns):
        effects = pd.DataFrame(result["effects"]).set_index("method")
    verdict, check = _correlation_verdicts(effects)
    pooled = a["pooled_correlation"]
    return {"gap_verdict": _gap_verdict(a["gaps"]), "correlation_verdict": verdict,
            "correlation_check": check,
            "direction": _direction(a["effects"], a["regularisers"], a["regulariser_gap"]),
            "pooled": f"{pooled:.2f}" if np.isfinite(pooled) else "undefined"}


def stored_evidence(stored) -> dict[str, str]:
    """The stored gpu run's numbers the page quotes, as formatted strings ("n/a" each when
    nothing is stored): ``source``, the median pair ``saving`` and ``predicted`` (ratios),
    the largest later gap ``gap_sd`` (seed SDs), ``pooled`` (r), channels-last's effect
    ``cl_effect`` (points) and ``cl_z``, each regulariser's effect on both curves
    (``ls_standard``, ``ls_cyclic``, ``mixup_standard``, ``mixup_cyclic``, points), their
    mean ``regulariser_gap`` (standard minus cyclic, points) and largest standard error
    ``regulariser_se`` (points), ``first_difference`` (points), ``direction`` and
    ``checks`` (sentences)."""
    from effnotes.cyclic.compare import describe_agreement

    keys = ("source", "saving", "predicted", "gap_sd", "pooled", "cl_effect", "cl_z",
            "ls_standard", "ls_cyclic", "mixup_standard", "mixup_cyclic", "regulariser_gap",
            "regulariser_se", "first_difference", "direction", "checks")
    if stored is None:
        return dict.fromkeys(keys, "n/a")
    a, numbers = analyse(stored), headline(stored)
    effects = a["effects"]

    def effect(method: str, column: str, spec: str = "+.2f") -> str:
        return format(100 * effects.loc[method, column], spec) if method in effects.index \
            else "n/a"

    def number(key: str, spec: str = ".2f") -> str:
        value = numbers.get(key, math.nan)
        return "n/a" if not np.isfinite(value) else format(value, spec)

    regularisers = a["regularisers"]
    se = 100 * effects.loc[regularisers, "se"].max() if regularisers else math.nan
    values = {
        "source": stored.describe(),
        "saving": number("cost saving, median over (method, seed) pairs (x)"),
        "predicted": number("cost saving, predicted from steps (x)", ".3f"),
        "gap_sd": number("largest |gap| after the first budget (seed SDs)", ".1f"),
        "pooled": number("correlation, all methods pooled"),
        "cl_effect": effect("channels_last", "standard_effect"),
        "cl_z": number("channels_last: effect / SE", ".1f"),
        "ls_standard": effect("label_smoothing", "standard_effect"),
        "ls_cyclic": effect("label_smoothing", "cyclic_effect"),
        "mixup_standard": effect("mixup", "standard_effect"),
        "mixup_cyclic": effect("mixup", "cyclic_effect"),
        "regulariser_gap": number("regularisers: standard minus cyclic effect (pp)",
                                      "+.2f"),
        "regulariser_se": "n/a" if not np.isfinite(se) else f"{se:.2f}",
        "first_difference": number("first trough, largest |cyclic - standard| (pp)"),
        "direction": _direction(effects, regularisers, a["regulariser_gap"]),
        "checks": describe_agreement(a["agreement"]),
    }
    return {key: values[key] for key in keys}


def headlines_side_by_side(live, stored) -> pd.DataFrame:
    """:func:`headline` of the live run beside the stored run's (``stored`` may be None:
    nothing stored), one row per number; a number one run lacks is NaN in its column."""
    columns = {"this page": headline(live)}
    if stored is not None:
        columns[f"stored {stored.profile}"] = headline(stored)
    return pd.concat(columns, axis=1, sort=False)
