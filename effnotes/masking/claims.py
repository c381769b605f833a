"""What the masking chapter claims about a run, judged by code: ``claims(result, profile)``
and ``headline(result)``, for a live :class:`~effnotes.contract.Result` and a stored one
alike, plus the sentences the page glues (:func:`page_facts`).

Three groups of claims:

- ``correctness`` (enforced at every profile): the collator masks at its schedule's rate, the
  trainer hands it the schedule's rates, the schedules start and end where they say, the
  frozen evaluation masks rebuild from their seed, hit their rate and split BERT's 80/10/10;
- ``result`` claims of the live page (enforced where ``profile.enforce_results``): every arm
  beats the unigram loss, constant 30% and 30→15 both reach constant 15%'s final loss
  sooner, the probe beats the majority class, and 30→15 does not end below constant 30%;
- ``result`` claims about the GPU-scale run (enforced where ``profile.enforce_gpu_findings``):
  the paper's criterion, constant 30% ahead of 30→15, and what the probe separates.

A stored run made before a claim's input was recorded gives that claim a NaN value: it then
fails with "the run did not measure it".
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from effnotes.claims import Claim, claims_table
from effnotes.masking.experiment import (BASELINE, DECREASING, EVAL_RATE, INTERVALS, MORE_TARGETS, analyse, tables_of)
from effnotes.masking.schedules import parse_schedule
from effnotes.notebook import interval_text
from effnotes.results import as_frame
from effnotes.tradeoff import SpeedupEstimate

NAN = float("nan")
#: How far (in binomial standard errors) a share of the frozen masks may sit from its
#: expected value: the masks are drawn once from a fixed seed, so this never flickers.
MAX_Z = 4.0
#: The largest difference allowed between two computations of one rate (float rounding).
RATE_EXACT = 1e-9

_CACHE: dict[int, tuple[object, dict]] = {}


def _parameter(result, name: str):
    return result.parameters[name]


def facts(result) -> dict:
    """The analysed run: ``speedups``, ``losses``, ``probes`` (DataFrames indexed by arm),
    ``intervals`` (name -> ``(mean, low, high)``), ``runs`` and ``curves``. Read from the
    run's ``analysis`` tables when it has them, else computed with
    :func:`~effnotes.masking.experiment.analyse` (an older stored run; kept for the session,
    since its bootstrap takes seconds)."""
    if "speedups" in result:
        tables = {k: result[k] for k in ("speedups", "losses", "probes", "intervals")}
    else:
        key = id(result["curves"])
        cached = _CACHE.get(key)
        if cached is None or cached[0] is not result["curves"]:
            found = analyse(result, n_boot=_parameter(result, "n_boot"),
                            min_speedup=_parameter(result, "min_speedup"))
            cached = (result["curves"], tables_of(found))
            _CACHE.clear()
            _CACHE[key] = cached
        tables = cached[1]
    columns = ["arm", "mean", "low", "high", "diff", "diff_low", "diff_high"]
    frames = {}
    for name in ("speedups", "losses", "probes"):
        frame = as_frame(tables[name])
        if frame.empty:
            frame = pd.DataFrame(columns=columns)
        frames[name] = frame.set_index("arm").astype({c: float for c in frame.columns
                                                      if c not in ("arm", "label")})
    intervals = as_frame(tables["intervals"]).set_index("name")
    return {**frames,
            "intervals": {name: tuple(float(v) if v is not None else NAN for v in
                                      intervals.loc[name, ["mean", "low", "high"]])
                          if name in intervals.index else (NAN,) * 3 for name in INTERVALS},
            "runs": as_frame(result["runs"]), "curves": as_frame(result["curves"])}


def _speedup(found: dict, arm: str) -> SpeedupEstimate | None:
    table = found["speedups"]
    if arm not in table.index:
        return None
    row = table.loc[arm]
    return SpeedupEstimate(target=float(row["target"]), speedup=float(row["speedup"]),
                           low=float(row["low"]), high=float(row["high"]), confidence=0.95,
                           n_boot=int(row["n_boot"]), fraction_defined=float(row["fraction_defined"]))


def _value(found: dict, arm: str, column: str, table: str = "speedups") -> float:
    frame = found[table]
    return float(frame.loc[arm, column]) if arm in frame.index else NAN


def _corpus(result, key: str) -> float:
    value = result["corpus"].get(key)
    return NAN if value is None else float(value)


def _share_z(share: float, expected: float, n: float) -> float:
    """|share - expected| in binomial standard errors of a share of ``n`` draws."""
    return abs(share - expected) / math.sqrt(expected * (1 - expected) / n)


def schedule_endpoint_error(arms) -> float:
    """The largest error of the schedules ``arms`` (specs) at their ends and, for a linear
    one, its midpoint: ``|p(0) - p_i|``, ``|p(1) - p_f|``, ``|p(1/2) - (p_i + p_f)/2|``."""
    errors = []
    for spec in arms:
        s = parse_schedule(spec)
        errors += [abs(s.rate(0.0) - s.start), abs(s.rate(1.0) - s.end)]
        if s.kind == "linear":
            errors.append(abs(s.rate(0.5) - (s.start + s.end) / 2))
    return float(max(errors))


def _correctness(result, profile, found: dict) -> list[Claim]:
    runs = found["runs"]
    steps = _parameter(result, "steps")
    expected = runs["arm"].map(lambda a: parse_schedule(a).mean_rate(steps))
    n_ordinary, n_targets = _corpus(result, "eval_ordinary_tokens"), _corpus(result, "eval_targets")
    vocab = _corpus(result, "vocab_size")
    ordinary_vocab = vocab - 5  # the five special tokens are never drawn as replacements
    split_z = max(
        _share_z(_corpus(result, "eval_mask_share"), 0.8, n_targets),
        _share_z(_corpus(result, "eval_random_share"), 0.1 * (1 - 1 / ordinary_vocab), n_targets),
        _share_z(_corpus(result, "eval_kept_share"), 0.1 * (1 + 1 / ordinary_vocab), n_targets))
    eval_z = _share_z(_corpus(result, "eval_target_share"), EVAL_RATE, n_ordinary)
    kind = {"kind": "correctness", "enforced": True}
    return [
        Claim.at_most("collator_follows_schedule",
                      "In every run, the share of ordinary tokens that were targets is within "
                      "the tolerance of the schedule's mean rate.",
                      float((runs["target_share"] - runs["scheduled_rate"]).abs().max()),
                      profile.rate_tolerance, **kind),
        Claim.at_most("trainer_follows_schedule",
                      "In every run, the rates the collator was given average to the "
                      "schedule's own mean rate over the run's steps.",
                      float((runs["scheduled_rate"] - expected).abs().max()), RATE_EXACT, **kind),
        Claim.at_most("schedule_endpoints",
                      "Every arm's schedule starts at its start rate, ends at its end rate, "
                      "and a linear one passes their mean halfway.",
                      schedule_endpoint_error(_parameter(result, "arms")), RATE_EXACT, **kind),
        Claim.at_most("eval_masks_rebuild",
                      "The frozen evaluation masks rebuilt from their seed equal the ones "
                      "every arm was scored on (positions that differ).",
                      _corpus(result, "eval_mask_mismatches"), 0, **kind),
        Claim.at_most("eval_masks_rate",
                      "The frozen evaluation masks make a share of the ordinary tokens "
                      "targets that is within four standard errors of their 15% rate.",
                      eval_z, MAX_Z, **kind),
        Claim.at_most("bert_corruption_split",
                      "Of the evaluation targets, the shares replaced by [MASK], by a random "
                      "token and kept are each within four standard errors of BERT's 80/10/10.",
                      split_z, MAX_Z, **kind),
    ]


def _results(result, profile, found: dict) -> list[Claim]:
    runs, intervals = found["runs"], found["intervals"]
    probing = not runs["probe_accuracy"].isna().all()
    kind = {"kind": "result", "enforced": bool(profile.enforce_results)}
    return [
        Claim.below("beats_unigram",
                    "Every arm learned from context: its final held-out loss (nats) is below "
                    "the loss of the corpus's token frequencies.",
                    float(runs["final_loss"].max()), float(result["unigram_loss"]), **kind),
        Claim.above("more_targets_speedup",
                    "More targets alone speed training up: constant 30% reaches constant "
                    "15%'s final loss sooner, the speedup's interval lying above 1.",
                    _value(found, MORE_TARGETS, "low"), 1.0, **kind),
        Claim.above("decreasing_speedup",
                    "30→15 reaches constant 15%'s final loss sooner than constant 15% does, "
                    "the speedup's interval lying above 1.",
                    _value(found, DECREASING, "low"), 1.0, **kind),
        Claim.above("probe_beats_majority",
                    "Every pretrained run's probe beats always answering the majority class "
                    "(lowest accuracy against the majority class's).",
                    float(runs["probe_accuracy"].min()) if probing else NAN,
                    float(result["majority_accuracy"]) if probing else 0.0, **kind),
        Claim.at_most("decreasing_not_below_constant30",
                      "30→15 does not end with a lower held-out loss than constant 30%: the "
                      "paired difference constant 30% − 30→15 (nats) does not have its "
                      "interval above 0 (its lower end).",
                      intervals["constant30_minus_decreasing"][1], 0.0, **kind),
    ]


def _gpu_findings(result, profile, found: dict) -> list[Claim]:
    intervals, probes = found["intervals"], found["probes"]
    untrained = intervals["untrained_probe"][0]
    # "every arm's probe interval above the untrained mean" once passed with no probes at all
    # (an empty list has every property): now the smallest margin, NaN when nothing was probed
    margin = float((probes["low"] - untrained).min()) if len(probes) else NAN
    vs30_low, vs30_high = intervals["probe_decreasing_minus_constant30"][1:]
    kind = {"kind": "result", "enforced": bool(profile.enforce_gpu_findings)}
    return [
        Claim.at_least("criterion_speedup",
                       "The paper's criterion, speed: 30→15's speedup over constant 15% is at "
                       "least the criterion's minimum.",
                       _value(found, DECREASING, "speedup"), profile.min_speedup, **kind),
        Claim.below("criterion_order",
                    "The paper's criterion, order: 30→15 ends below 15→30, which saw as many "
                    "targets (upper end of the paired difference's interval, nats).",
                    intervals["direction"][2], 0.0, **kind),
        Claim.above("constant30_faster",
                    "Constant 30% reaches constant 15%'s final loss sooner than 30→15 "
                    "(difference of the two speedups).",
                    _value(found, MORE_TARGETS, "speedup") - _value(found, DECREASING, "speedup"),
                    0.0, **kind),
        Claim.below("constant30_ends_lower",
                    "Constant 30% ends below 30→15: the paired difference constant 30% − "
                    "30→15 has its interval below 0 (its upper end, nats).",
                    intervals["constant30_minus_decreasing"][2], 0.0, **kind),
        Claim.above("probe_above_untrained",
                    "Every arm's probe interval lies above the untrained encoder's mean "
                    "accuracy (the smallest margin).", margin, 0.0, **kind),
        Claim.above("probe_gain_over_15",
                    "30→15's probe gain over constant 15% has its interval above 0 (its "
                    "lower end).", _value(found, DECREASING, "diff_low", "probes"), 0.0, **kind),
        Claim.at_most("probe_level_with_30",
                      "30→15's probe difference from constant 30% has an interval that "
                      "contains 0 (the larger of its lower end and minus its upper end).",
                      float(np.maximum(vs30_low, -vs30_high)), 0.0, **kind),
    ]


def claims(result, profile) -> pd.DataFrame:
    """The chapter's claims about ``result`` (live or stored) at ``profile``'s thresholds and
    enforcement: a :func:`~effnotes.claims.claims_table`."""
    found = facts(result)
    return claims_table([*_correctness(result, profile, found),
                         *_results(result, profile, found),
                         *_gpu_findings(result, profile, found)])


def reproduced(table: pd.DataFrame) -> bool:
    """Whether the criterion fixed before the run holds: a speedup of at least the minimum
    with its interval above 1, and 30→15 ending below 15→30."""
    holds = table.set_index("name")["holds"]
    return bool(holds["criterion_speedup"] and holds["decreasing_speedup"]
                and holds["criterion_order"])


def headline(result) -> pd.Series:
    """The chapter's headline numbers (speedups are ratios of steps, losses in nats,
    accuracies as fractions), for the page and for ``--check``."""
    found = facts(result)
    s, intervals = found["speedups"], found["intervals"]
    numbers = {"speedup 30→15 over constant 15% (x)": _value(found, DECREASING, "speedup"),
               "speedup, 95% CI low": _value(found, DECREASING, "low"),
               "speedup, 95% CI high": _value(found, DECREASING, "high"),
               "final loss 30→15 − 15→30 (nats)": intervals["direction"][0],
               "unigram loss (nats)": float(result["unigram_loss"]),
               "probe accuracy, untrained encoder": intervals["untrained_probe"][0],
               "probe accuracy, majority class": float(result["majority_accuracy"])}
    for arm in s.index:
        if arm != DECREASING:
            numbers[f"{arm}: speedup over constant 15% (x)"] = float(s.loc[arm, "speedup"])
    for arm, row in found["losses"].iterrows():
        numbers[f"{arm}: final held-out loss"] = row["mean"]
    for arm, row in found["probes"].iterrows():
        numbers[f"{arm}: probe accuracy"] = row["mean"]
        numbers[f"{arm}: probe accuracy CI low"] = row["low"]
        numbers[f"{arm}: probe accuracy CI high"] = row["high"]
    return pd.Series(numbers, dtype=float)


def speedup_table(result) -> pd.DataFrame:
    """Each arm's speedup over constant 15% (a ratio of steps) with its 95% interval and the
    share of bootstrap resamples that reached constant 15%'s final loss, by schedule."""
    s = facts(result)["speedups"]
    return pd.DataFrame({"speedup (x)": s["speedup"], "95% CI low": s["low"],
                         "95% CI high": s["high"], "resamples reaching L*": s["fraction_defined"]
                         }).set_axis(s["label"]).rename_axis("schedule")


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_axis([parse_schedule(a).label for a in frame.index]).rename_axis("schedule")


def loss_table(result) -> pd.DataFrame:
    """Final held-out loss per schedule (nats): mean over seeds with its 95% t interval and
    the paired difference from constant 15% with its interval."""
    return _labelled(facts(result)["losses"])


def probe_table(result) -> pd.DataFrame:
    """The probe's accuracy per schedule in percent: mean with its 95% t interval and the
    paired difference from constant 15% (percentage points) with its interval."""
    return _labelled(100 * facts(result)["probes"])


def untrained_mean(result) -> float:
    """The untrained encoder's mean probe accuracy over seeds (a fraction)."""
    return facts(result)["intervals"]["untrained_probe"][0]


def run_table(result) -> pd.DataFrame:
    """For a result (or the pretraining stage's outputs), per schedule, means over seeds: final held-out loss (nats), scheduled rate and share
    of ordinary tokens that were targets (fractions) and training time (seconds)."""
    runs = as_frame(result["runs"])
    return runs.groupby("label", sort=False)[["final_loss", "scheduled_rate", "target_share",
                                              "train_time_s"]].mean().rename_axis("schedule")


def page_facts(result, profile, prefix: str = "") -> dict:
    """The numbers and sentences the page glues about ``result``, each name prefixed with
    ``prefix`` (the page uses ``"gpu_"`` for the stored run). Verdict sentences come from
    the claims, so the page holds no verdict logic."""
    found, table = facts(result), claims(result, profile)
    holds = table.set_index("name")["holds"]
    s = _speedup(found, DECREASING)
    s30 = _speedup(found, MORE_TARGETS)
    probes, intervals = found["probes"], found["intervals"]
    separated = [parse_schedule(a).label for a, r in probes.drop(index=BASELINE, errors="ignore")
                 .iterrows() if r["diff_low"] > 0 or r["diff_high"] < 0]
    untrained = intervals["untrained_probe"]
    runs = found["runs"]
    text = {
        "target_loss": s.target, "speedup_text": s.prose(interval=False),
        "speedup": s.prose(), "speedup_low": s.low, "speedup_high": s.high,
        "speedup_reached": 100 * s.fraction_defined,
        "speedup_verdict": ("meets the speedup condition" if holds["criterion_speedup"]
                            and holds["decreasing_speedup"] else
                            "does not meet the speedup condition"),
        "direction_mean": intervals["direction"][0], "direction_low": intervals["direction"][1],
        "direction_high": intervals["direction"][2],
        "direction": interval_text(intervals["direction"]),
        "direction_verdict": ("below 0: the decreasing schedule ends lower, so the order matters"
                              if holds["criterion_order"] else
                              "not below 0: this run cannot tell the two orders apart"),
        "reproduced": ("reproduces the paper's effect" if reproduced(table) else
                       "does not reproduce the paper's effect"),
        "other_speedups": "; ".join(f"{parse_schedule(a).label}: {_speedup(found, a).prose()}"
                                    for a in found["speedups"].index if a != DECREASING),
        "more_targets_text": s30.prose() if s30 is not None else "not run at this profile",
        "c30_speedup": s30.prose() if s30 is not None else "not run at this profile",
        "c30": (interval_text(intervals["constant30_minus_decreasing"]) if s30 is not None
                else "not run at this profile"),
        "rate_gap": float((runs["target_share"] - runs["scheduled_rate"]).abs().max()),
        "n_seeds": int(runs["seed"].nunique()), "seeds": _parameter(result, "seeds"),
        "steps": _parameter(result, "steps"),
        **{name: _parameter(result, name) for name in ("n_layers", "d_model", "dropout",
                                                        "seq_len", "vocab_size")},
        "unigram_loss": float(result["unigram_loss"]),
        "n_arms": int(runs["arm"].nunique()), "n_probed_arms": len(probes),
    }
    if len(probes):
        d = probes.loc[DECREASING]
        text |= {
            "probe_scores": "; ".join(f"{parse_schedule(a).label} {100 * r['mean']:.1f}% "
                                      f"({100 * r['low']:.1f}–{100 * r['high']:.1f})"
                                      for a, r in probes.iterrows()),
            "probe_diff": 100 * d["diff"], "probe_diff_low": 100 * d["diff_low"],
            "probe_diff_high": 100 * d["diff_high"],
            "probe_diff_text": interval_text(d[["diff", "diff_low", "diff_high"]], 100, "+.1f"),
            "probe_vs30": (interval_text(intervals["probe_decreasing_minus_constant30"], 100,
                                         "+.1f") if s30 is not None else "not run at this profile"),
            "untrained_probe": 100 * untrained[0], "untrained_low": 100 * untrained[1],
            "untrained_high": 100 * untrained[2],
            "untrained_text": f"{100 * untrained[0]:.1f}%",
            "majority": 100 * float(result["majority_accuracy"]),
            "n_above_untrained": int((probes["low"] > untrained[0]).sum()),
            "probe_separation": (
                "the probe separates no arm from constant 15%: every paired difference has a "
                "95% interval that contains 0" if not separated else
                "the probe separates " + ", ".join(separated) + " from constant 15% (their "
                "paired differences have 95% intervals that exclude 0)"),
        }
    return {prefix + k: v for k, v in text.items()}


def stored_page_facts(live, name: str = "gpu") -> tuple[pd.DataFrame, dict]:
    """The stored run ``results/masking_schedules/<name>.json`` beside the ``live`` result:
    both headlines side by side, and :func:`page_facts` of the stored run at its profile's
    thresholds with ``source`` (where it came from) added. Without a stored run: the live
    headline alone, and every fact "n/a"."""
    from effnotes.chapters import get_chapter
    from effnotes.contract import stored_result

    chapter = get_chapter(live.chapter)
    stored = stored_result(chapter.name, name)
    live_numbers = headline(live)
    if stored is None:
        return (live_numbers.to_frame("this page (live)"),
                {k: "n/a" for k in ["source", *page_facts(live, chapter.profile("ci"))]})
    device = stored.provenance.get("device", "?")
    table = pd.concat({"this page (live)": live_numbers,
                       f"stored {name} ({device})": headline(stored)}, axis=1, sort=False)
    return table, {"source": stored.describe(),
                   **page_facts(stored, chapter.profile(stored.profile))}


__all__ = ["claims", "facts", "headline", "loss_table", "page_facts", "probe_table",
           "reproduced", "run_table", "schedule_endpoint_error", "speedup_table", "stored_page_facts",
           "untrained_mean"]
