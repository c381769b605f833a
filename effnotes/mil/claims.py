"""What the mil_ecg chapter claims, judged by code: :func:`claims` (one row per claim),
:func:`headline` (the numbers ``--check`` compares) and the numbers its page glues.

Every function here reads a live :class:`~effnotes.contract.Result` (DataFrames), a stored
one (lists of records) or, for the page's stage-by-stage narrative, the mapping of what the
stages have made so far (``run.state``). A table or number that an older stored run lacks
comes out empty or NaN, so that a claim resting on it fails with "the run did not measure it"
rather than raising.

Correctness claims (the cohort has the bags and the planted witness shares the profile asks
for, no bag repeats a beat, the AUC is the rank statistic, top-k pooling has the right limits,
the splits keep records apart, the run's tables are complete) are enforced at every profile.
Result claims with a threshold the profile scales to its size (the AUC floors, the instance AUC
ceiling, the risk ratio and the Cox interval) are enforced at every profile too; the fixed
margins (pooling, morphologic variability, sensitivity) only where the profile's
``enforce_results`` says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np
import pandas as pd

from effnotes.claims import Claim, claims_table
from effnotes.results import as_frame

NAN = float("nan")
#: the paper's pooling and the two it is compared with, for the dense instance model
HEADLINE, MEAN, MAX = "dense/top20", "dense/mean", "dense/max"
#: how close two AUCs computed two ways must agree
AUC_TOLERANCE = 1e-9
#: how close top-k pooling must be to mean and max pooling at its limits
POOLING_TOLERANCE = 1e-12

_COLUMNS = {
    "aucs": ["seed", "method", "family", "auc"],
    "instance": ["seed", "arch", "instance_auc", "witness_auc"],
    "scores": ["seed", "patient", "label", "score", "time", "event"],
    "risk": ["seed", "risk_ratio"],
    "splits": ["seed", "n_train", "n_test", "shared_records"],
    "cox": ["seed", "hazard_ratio", "ci_low", "ci_high", "p"],
    "sensitivity": ["witness_positive", "n_beats", "auc"],
    "repetition": ["n_beats", "min_record_beats", "max_record_beats", "n_records",
                   "records_dropped", "bags_repeating", "mean_repeated_share", "max_uses"],
}


def _data(result) -> Mapping:
    return result.data if hasattr(result, "data") and hasattr(result, "parameters") else result


def table(result, key: str) -> pd.DataFrame:
    """The table ``key`` of a live or stored result (or of ``run.state``) as a DataFrame; an
    empty one with the table's columns when the run has none."""
    data = _data(result)
    columns = _COLUMNS.get(key, [])
    if key not in data or data[key] is None:
        return pd.DataFrame(columns=columns)
    frame = as_frame(data[key])
    return frame.reindex(columns=columns) if columns and frame.empty else frame


def auc_table(result) -> pd.DataFrame:
    """Mean, SD, min and max of each method's patient AUC over seeds, indexed by (family,
    method), best mean first."""
    aucs = table(result, "aucs")
    return (aucs.groupby(["family", "method"])["auc"].agg(["mean", "std", "min", "max"])
            .sort_values("mean", ascending=False))


def _by_method(result, statistic: str = "mean") -> pd.Series:
    aucs = table(result, "aucs")
    return aucs.groupby("method")["auc"].agg(statistic).astype(float)


def _get(series: pd.Series, key) -> float:
    return float(series[key]) if key in series.index else NAN


def cox_frame(result) -> pd.DataFrame:
    """The per-seed Cox fits of the headline model's top quartile: the run's ``cox`` table, or
    (for a stored run made without one, or without lifelines) a fit of its stored test scores
    here, where lifelines is installed."""
    cox = table(result, "cox")
    if len(cox) and np.isfinite(cox["ci_low"].to_numpy(float)).all():
        return cox
    from effnotes.mil.beats import importable

    source = _data(result).get("scores")
    known = _COX_FITS.get(id(source))
    if known is not None and known[0] is source:  # the same stored scores: fitted already
        return known[1]
    scores = table(result, "scores")
    if not len(scores) or not importable("lifelines"):
        return cox
    from effnotes.mil.experiment import cox_table

    fitted = cox_table(scores)
    _COX_FITS[id(source)] = (source, fitted)
    return fitted


#: Cox fits made from a stored run's scores, by the identity of its scores table (kept
#: alive with it), so that a page judging one stored run several times fits it once
_COX_FITS: dict[int, tuple[object, pd.DataFrame]] = {}


def risk_table(result) -> pd.DataFrame:
    """Per seed: the top-quartile risk ratio and the Cox hazard ratio with its 95% interval."""
    cox = cox_frame(result).drop(columns="p", errors="ignore")
    return table(result, "risk").merge(cox, on="seed", how="left")


def sensitivity_pivot(result) -> pd.DataFrame:
    """The sensitivity grid's patient AUC, witness share (rows) by beats per patient
    (columns)."""
    grid = table(result, "sensitivity")
    return grid.pivot(index="witness_positive", columns="n_beats", values="auc")


def repetition_table(result) -> pd.DataFrame:
    """Whether the bags repeat beats, one row per bag size (beats per patient): the bank
    records' shortest and longest length (beats), how many records there are and how many
    were dropped as shorter than a bag, how many bags repeat a beat, the mean share of a
    bag's positions holding a beat already in it (percent) and the most uses of one beat;
    short column names, for the page."""
    rep = table(result, "repetition")
    names = {"n_beats": "beats per bag", "min_record_beats": "shortest record",
             "max_record_beats": "longest record", "n_records": "records",
             "records_dropped": "records dropped", "bags_repeating": "bags repeating",
             "mean_repeated_share": "repeated (%)", "max_uses": "most uses of a beat"}
    shown = rep.rename(columns=names).reindex(columns=list(names.values()))
    shown = shown.set_index("beats per bag")
    return shown.assign(**{"repeated (%)": 100 * shown["repeated (%)"]}).round(1)


# --- the numbers the page glues -------------------------------------------------------------
# Each function returns names without the page's prefix: the page glues ``cohort_<name>``,
# ``auc_<name>``, ``risk_<name>``, ``sens_<name>``, ``rep_<name>`` and ``gpu_<name>``, and
# :func:`headline` names its numbers the same way.

PREFIXES = {"cohort": "cohort", "methods": "auc", "risk": "risk", "sensitivity": "sens",
            "repetition": "rep", "stored": "gpu"}


def prefixed(prefix: str, numbers: Mapping) -> dict:
    """``numbers`` with ``<prefix>_`` before each name."""
    return {f"{prefix}_{name}": value for name, value in numbers.items()}


def cohort_numbers(result) -> dict:
    """The cohort stage's numbers: the ``hardware`` it ran on (a sentence), the class mean
    beats' largest gap (``mean_gap``, mV; ``mean_gap_sd``, in SDs of the patients' mean
    beats), the mean RR interval per class (``rr_neg``, ``rr_pos``, ms), each class's event
    rate (``event_rate_neg``, ``event_rate_pos``) and the number of bank records the patients
    come from (``n_records``)."""
    from effnotes.runtime import Hardware

    data = _data(result)
    summary = data.get("cohort", {})
    numbers = {key: float(summary.get(name, NAN)) for key, name in (
        ("mean_gap", "mean_gap_mv"), ("mean_gap_sd", "mean_gap_sd"),
        ("rr_neg", "rr_negative_ms"), ("rr_pos", "rr_positive_ms"),
        ("event_rate_pos", "event_rate_positive"), ("event_rate_neg", "event_rate_negative"))}
    numbers["n_records"] = int(summary["n_records"]) if "n_records" in summary else NAN
    numbers["hardware"] = str(Hardware(**data["hardware"])) if "hardware" in data else "unknown"
    return numbers


def method_numbers(result) -> dict:
    """The comparison's numbers: each method's mean patient AUC over seeds (named after the
    method, ``/`` as ``_``: ``dense_top20``), the lowest seed's AUC of dense/top20 and of
    attention MIL (``min_dense_top20``, ``min_cnn_attention``), the dense and CNN instance
    AUCs against inherited labels (``instance_dense``, ``instance_cnn``), the dense
    witness-detection AUC (``witness_dense``) and the gains of top-20% over mean and over max
    pooling (``top20_minus_mean``, ``top20_minus_max``; dense, mean AUC)."""
    mean, low = _by_method(result), _by_method(result, "min")
    numbers = {m.replace("/", "_"): float(v) for m, v in mean.items()}
    instance = table(result, "instance").groupby("arch")[["instance_auc", "witness_auc"]].mean()
    numbers |= {"min_dense_top20": _get(low, HEADLINE),
                "min_cnn_attention": _get(low, "cnn/attention"),
                "instance_dense": _get(instance["instance_auc"], "dense"),
                "instance_cnn": _get(instance["instance_auc"], "cnn"),
                "witness_dense": _get(instance["witness_auc"], "dense"),
                "top20_minus_mean": _get(mean, HEADLINE) - _get(mean, MEAN),
                "top20_minus_max": _get(mean, HEADLINE) - _get(mean, MAX)}
    return numbers


def risk_numbers(result) -> dict:
    """Risk stratification's numbers: the top-quartile risk ratio (``ratio``, mean over seeds;
    ``ratio_min``, lowest seed), the Cox hazard ratio of the median seed with its 95% interval
    (``cox_hr``, ``cox_low``, ``cox_high``), and the event rates of the top and bottom score
    quartiles on the first seed's test patients (``q4_rate``, ``q1_rate``)."""
    from effnotes.mil.metrics import score_quartiles

    ratios = table(result, "risk")["risk_ratio"].astype(float)
    cox = cox_frame(result)
    numbers = {"ratio": float(ratios.mean()) if len(ratios) else NAN,
               "ratio_min": float(ratios.min()) if len(ratios) else NAN,
               "cox_hr": NAN, "cox_low": NAN, "cox_high": NAN, "q4_rate": NAN, "q1_rate": NAN}
    if len(cox) and cox["hazard_ratio"].notna().all():
        middle = cox.loc[cox["hazard_ratio"].rank(method="first") == (len(cox) + 1) // 2].iloc[0]
        numbers |= {"cox_hr": float(middle["hazard_ratio"]), "cox_low": float(middle["ci_low"]),
                    "cox_high": float(middle["ci_high"])}
    scores = table(result, "scores")
    if len(scores):
        first = scores[scores["seed"] == scores["seed"].min()]
        rates = first['event'].astype(float).groupby(
            score_quartiles(first['score'].to_numpy(float))).mean()
        numbers |= {"q4_rate": float(rates.get(4, NAN)), "q1_rate": float(rates.get(1, NAN))}
    return numbers


def sensitivity_numbers(result) -> dict:
    """The sensitivity grid's numbers: the mean AUC at the smallest and largest witness share
    (``wlow``, ``whigh``: over bag sizes; the shares in percent as ``wlow_pct``,
    ``whigh_pct``) and their difference (``witness_gain``), at the shortest and longest bags
    (``short``, ``long``: over witness shares; the sizes as ``short_n``, ``long_n``), the
    richest cell's AUC (``richest``), and the second-smallest witness share (``w2``, percent)
    with its AUC at the shortest and longest bags (``w2_short``, ``w2_long``)."""
    grid = table(result, "sensitivity")
    names = ["richest", "wlow", "wlow_pct", "whigh", "whigh_pct", "short", "long", "short_n",
             "long_n", "w2", "w2_short", "w2_long", "witness_gain"]
    numbers = dict.fromkeys(names, NAN)
    if not len(grid):
        return numbers
    grid = grid.astype({"witness_positive": float, "n_beats": int, "auc": float})
    by_bag = grid.groupby("n_beats")["auc"].mean()
    by_witness = grid.groupby("witness_positive")["auc"].mean()
    numbers |= {"richest": float(grid.sort_values(["witness_positive", "n_beats"])["auc"]
                                 .iloc[-1]),
                "wlow": float(by_witness.iloc[0]),
                "wlow_pct": 100 * float(by_witness.index[0]),
                "whigh": float(by_witness.iloc[-1]),
                "whigh_pct": 100 * float(by_witness.index[-1]),
                "short": float(by_bag.iloc[0]), "long": float(by_bag.iloc[-1]),
                "short_n": int(by_bag.index[0]), "long_n": int(by_bag.index[-1]),
                "witness_gain": float(by_witness.iloc[-1] - by_witness.iloc[0])}
    if len(by_witness) > 1:
        second = grid[grid["witness_positive"] == by_witness.index[1]].sort_values("n_beats")
        numbers |= {"w2": 100 * float(by_witness.index[1]),
                    "w2_short": float(second["auc"].iloc[0]),
                    "w2_long": float(second["auc"].iloc[-1])}
    return numbers


def repetition_numbers(result) -> dict:
    """Whether the bags repeat beats: the records' shortest and longest length
    (``min_beats``, ``max_beats``) and their number (``n_records``), the longest bag
    (``n``), the mean share of its positions that repeat a beat (``share``, percent) and the
    most uses of one beat in it (``max_uses``), the largest of those shares over every bag
    size (``worst_share``, percent) and the records dropped as shorter than the longest bag
    (``dropped``; NaN for a run that predates the count)."""
    rep = table(result, "repetition")
    names = ["min_beats", "max_beats", "n", "n_records", "share", "max_uses", "worst_share",
             "dropped"]
    if not len(rep):
        return dict.fromkeys(names, NAN)
    longest = rep.sort_values("n_beats").iloc[-1]
    dropped = longest.get("records_dropped", NAN)
    return {"min_beats": int(longest['min_record_beats']),
            "max_beats": int(longest['max_record_beats']),
            "n": int(longest['n_beats']), "n_records": int(longest['n_records']),
            "share": 100 * float(longest['mean_repeated_share']),
            "max_uses": int(longest['max_uses']),
            "worst_share": 100 * float(rep['mean_repeated_share'].astype(float).max()),
            "dropped": NAN if pd.isna(dropped) else int(dropped)}


def stored_repetition(runs: Mapping) -> str:
    """Sentences on whether the stored runs ``runs`` (name to stored result, ``None`` where
    nothing is stored) repeated beats in their bags, from each run's own repetition table;
    runs with the same numbers share a sentence."""
    groups: dict[tuple, list[str]] = {}
    for name, result in runs.items():
        if result is not None:
            numbers = repetition_numbers(result)
            key = tuple(numbers[k] for k in ("worst_share", "min_beats", "max_beats", "n",
                                             "share", "max_uses"))
            groups.setdefault(key, []).append(f"`{name}`")
    if not groups:
        return "There is no stored run."
    sentences = []
    for (worst, low, high, n, share, uses), names in groups.items():
        which = (f"The stored run {names[0]}" if len(names) == 1 else
                 f"The stored runs {', '.join(names[:-1])} and {names[-1]}")
        if np.isnan(worst):
            sentences.append(f"{which} did not record whether its bags repeat beats.")
        elif worst == 0:
            sentences.append(f"{which}: no bag repeats a beat.")
        else:
            sentences.append(
                f"{which} {'was' if len(names) == 1 else 'were'} made with bags that wrap "
                f"around their record and so repeat beats: the records held {low} to {high} "
                f"beats, and at {n} beats per bag {share:.1f}% of a bag's positions held a beat "
                f"already in it, one beat up to {uses} times. Their longer bags add copies, "
                "not new beats, so their bag-size results are confounded, and the claim that "
                "no bag repeats a beat fails on them.")
    return " ".join(sentences)


def headline(result) -> pd.Series:
    """The chapter's headline numbers (the comparison, risk and sensitivity numbers of
    :func:`method_numbers`, :func:`risk_numbers` and :func:`sensitivity_numbers`), so that two
    runs (the live CPU one, the stored GPU one) sit side by side and ``--check`` compares
    them."""
    numbers = (prefixed(PREFIXES["methods"], method_numbers(result))
               | prefixed(PREFIXES["risk"], risk_numbers(result))
               | prefixed(PREFIXES["sensitivity"], sensitivity_numbers(result)))
    return pd.Series(numbers, dtype=float)


def headline_table(live, stored) -> pd.DataFrame:
    """The headline numbers of the live run and of the stored one (``None``: nothing stored)
    side by side, with the rows that neither run measured left out."""
    columns = {f"this page ({live.profile})": headline(live)}
    if stored is not None:
        columns[f"stored {stored.profile}"] = headline(stored)
    return pd.concat(columns, axis=1).dropna(how="all")


def stored_numbers(stored, profile=None) -> dict:
    """What the page says about the stored gpu run (``None``: nothing stored), as text: its
    ``source``, the dense top-20% and mean-pooling AUCs (``auc``, ``auc_mean``), top-20%'s
    gain over mean pooling (``margin``), the instance AUC (``instance``), the risk ratio
    (``ratio``), ``pooling_verdict``, a sentence on whether the pooling-margin claim holds on
    it at ``profile``'s threshold (the registry's gpu profile by default), and
    ``unmeasured``, a sentence naming the claims whose inputs it lacks."""
    if stored is None:
        absent = "n/a (no stored run)"
        return {"source": "none stored yet", "auc": absent, "auc_mean": absent,
                "margin": absent, "instance": absent, "ratio": absent,
                "pooling_verdict": "there is no stored gpu run to judge it on",
                "unmeasured": "There is no stored run to judge."}
    if profile is None:
        from effnotes.chapters import get_chapter

        profile = get_chapter("mil_ecg").profile(stored.profile)
    numbers = method_numbers(stored)
    judged = claims(stored, profile).set_index("name")
    row = judged.loc["top20_over_mean"]
    unmeasured = list(judged.index[judged["value"].isna()])
    missing = (f"It predates {len(unmeasured)} of today's claims, whose inputs it did not "
               f"record ({', '.join(unmeasured)}): they fail on it as not measured, and a new "
               "stored run would judge them." if unmeasured else
               "It recorded the inputs of every claim.")
    margin, threshold = numbers["top20_minus_mean"], profile.thresholds["pooling_margin"]
    headroom = 1 - _auc(stored, MEAN)
    if row["holds"]:
        verdict = (f"on the stored run the gain is {margin:+.3f}, above the {threshold:+.2f} "
                   "claimed, so the claim holds there")
    else:
        verdict = (f"on the stored run the gain is only {margin:+.3f}, short of the "
                   f"{threshold:+.2f} claimed, so the claim fails there")
        if headroom <= threshold:
            verdict += (f"; mean pooling there already reaches {_auc(stored, MEAN):.3f}, which "
                        f"leaves {headroom:.3f} below an AUC of 1, less than the margin asked for")
    return {"source": stored.describe(), "auc": f"{_auc(stored, HEADLINE):.3f}",
            "auc_mean": f"{_auc(stored, MEAN):.3f}", "margin": f"{margin:+.3f}",
            "instance": f"{numbers['instance_dense']:.3f}",
            "ratio": f"{table(stored, 'risk')['risk_ratio'].mean():.1f}",
            "pooling_verdict": verdict, "unmeasured": missing}


def _auc(result, method: str) -> float:
    return _get(_by_method(result), method)


# --- the claims -----------------------------------------------------------------------------


def _worst(*values: float) -> float:
    """The largest of ``values``, NaN when any is NaN (a check that was not made)."""
    values = [float(v) for v in values]
    return NAN if any(np.isnan(v) for v in values) else max(values)


def _count_mismatch(expected: list, observed: list) -> int:
    want, have = Counter(expected), Counter(observed)
    return sum(((want - have) + (have - want)).values())


def _completeness(result, parameters: Mapping) -> float:
    """How many rows the run's tables lack or have too many of, for the parameters it ran."""
    tables = [table(result, k) for k in ("aucs", "instance", "scores", "sensitivity")]
    if not all(len(t) for t in tables[:3]):
        return NAN
    aucs, instance, scores, grid = tables
    first = int(parameters.get("first_seed", 0))
    seeds = range(first, first + int(parameters["seeds"]))
    methods = [f"{a}/{p}" for a in parameters["archs"] for p in parameters["poolings"]]
    methods += ["cnn/attention"] * bool(parameters["attention"]) + list(parameters["baselines"])
    missing = _count_mismatch([(s, m) for s in seeds for m in methods],
                              list(zip(aucs["seed"].astype(int), aucs["method"])))
    missing += _count_mismatch([(s, a) for s in seeds for a in parameters["archs"]],
                               list(zip(instance["seed"].astype(int), instance["arch"])))
    missing += int(scores.duplicated(["seed", "patient"]).sum())
    missing += _count_mismatch([int(s) for s in seeds],
                               scores["seed"].astype(int).unique().tolist())
    grid_of = parameters.get("sensitivity") or {  # runs stored before the grid was one field
        "witness": parameters["sensitivity_witness"], "beats": parameters["sensitivity_beats"]}
    cells = ([] if parameters.get("data_path") is not None else
             [(float(w), int(n)) for w in grid_of["witness"] for n in grid_of["beats"]])
    missing += _count_mismatch(cells, list(zip(grid["witness_positive"].astype(float),
                                               grid["n_beats"].astype(int))))
    return float(missing)


def _auc_checks(result) -> tuple[float, float]:
    """(perfect-score error, rank-statistic error) on each seed's stored test scores."""
    from scipy.stats import mannwhitneyu

    from effnotes.mil.metrics import auc

    scores = table(result, "scores")
    if not len(scores):
        return NAN, NAN
    stored = _by_method_per_seed(result)
    perfect, rank = 0.0, 0.0
    for seed, g in scores.groupby("seed"):
        labels, score = g["label"].to_numpy(int), g["score"].to_numpy(float)
        perfect = _worst(perfect, abs(auc(labels, labels.astype(float)) - 1),
                         abs(auc(labels, 1.0 - labels)))
        u = mannwhitneyu(score[labels == 1], score[labels == 0]).statistic
        statistic = u / ((labels == 1).sum() * (labels == 0).sum())
        rank = _worst(rank, abs(auc(labels, score) - statistic),
                      abs(stored.get((int(seed), HEADLINE), NAN) - statistic))
    return float(perfect), float(rank)


def _by_method_per_seed(result) -> dict:
    aucs = table(result, "aucs")
    return {(int(s), m): float(a) for s, m, a in zip(aucs["seed"], aucs["method"], aucs["auc"])}


def _split_error(result) -> float:
    splits = table(result, "splits")
    shape = _data(result).get("cohort", {}).get("bag_shape")
    if not len(splits) or shape is None:
        return NAN
    sides = (splits["n_train"] + splits["n_test"] - shape[0]).abs().sum()
    return float(splits["shared_records"].sum() + sides)


def _cohort_error(summary: Mapping) -> float:
    if not summary:
        return NAN
    shape, expected = summary["bag_shape"], summary["expected_bag_shape"]
    return float(sum(a != b for a, b in zip(shape, expected)) + abs(len(shape) - len(expected))
                 + abs(summary["n_positive"] - summary["expected_positive"]))


def claims(result, profile) -> pd.DataFrame:
    """The chapter's claims on ``result`` (live or stored) at ``profile``'s thresholds, as a
    :func:`~effnotes.claims.claims_table`: ``kind="correctness"`` rows (enforced at every
    profile; the planted-witness ones only on the synthetic cohort) and ``kind="result"``
    rows (the margins enforced where ``profile.enforce_results``)."""
    data, parameters = _data(result), result.parameters
    synthetic = parameters.get("data_path") is None
    margins = bool(profile.enforce_results)
    t = profile.thresholds
    summary = data.get("cohort", {})
    mean, low = _by_method(result), _by_method(result, "min")
    numbers = method_numbers(result)
    sens = sensitivity_numbers(result)
    half_beat = 0.5 / profile.n_beats + 1e-12  # witness shares are whole beats of a bag
    perfect, rank = _auc_checks(result)
    null = [abs(_get(mean, name) - 0.5) for name in ("hrv", "mean_beat") if name in mean.index]
    cox = cox_frame(result)
    cox_low = float(cox["ci_low"].min()) if len(cox) and cox["ci_low"].notna().all() else NAN
    ratios = table(result, "risk")["risk_ratio"].astype(float)
    repetition = table(result, "repetition")
    m, k = profile.n_beats // profile.instance_beats, profile.instance_beats
    rows = [
        Claim.at_most(
            "bag_shapes", f"Every patient is a bag of {m} instances of {k} adjacent beats, "
            "with as many patients and positives as the cohort asks for",
            _cohort_error(summary), 0, kind="correctness"),
        Claim.within(
            "witness_share_positive", f"Every positive patient's witness mask covers the "
            f"planted share of its beats, {profile.witness_positive:.0%} (to the nearest beat)",
            _worst(summary.get("witness_share_positive_max_error", NAN),
                   summary.get("witness_mask_vs_fraction", NAN)), 0, half_beat,
            enforced=synthetic, kind="correctness"),
        Claim.at_most(
            "witness_share_negative", "No negative patient carries more than "
            f"{profile.witness_negative_max:.0%} witness beats (to the nearest beat)",
            summary.get("witness_share_negative_max", NAN),
            profile.witness_negative_max + half_beat, enforced=synthetic, kind="correctness"),
        Claim.within(
            "planted_score_auc", "The planted witness share, a perfect patient score, has "
            "AUC 1", summary.get("planted_score_auc", NAN), 1, AUC_TOLERANCE,
            enforced=synthetic, kind="correctness"),
        Claim.at_most(
            "perfect_score_auc", "The AUC gives 1 to a perfect score and 0 to its reverse "
            "(each seed's test labels)", perfect, AUC_TOLERANCE, kind="correctness"),
        Claim.at_most(
            "auc_is_rank_statistic", "Each seed's dense/top20 AUC is the Mann-Whitney "
            "statistic U/(n1 n0) of its test scores (scipy)", rank, AUC_TOLERANCE,
            kind="correctness"),
        Claim.at_most(
            "pooling_limits", "Top-k pooling is mean pooling at k = 100% and max pooling at a "
            "k below one instance", data.get("pooling_limits", NAN), POOLING_TOLERANCE,
            kind="correctness"),
        Claim.at_most(
            "bags_never_repeat", "No bag repeats a beat, at any bag size the run uses (the "
            "largest mean share of a bag's positions holding a beat already in it)",
            float(repetition["mean_repeated_share"].astype(float).max())
            if len(repetition) else NAN, 0, kind="correctness"),
        Claim.at_most(
            "split_by_record", "Each seed's split puts every patient on one side and no bank "
            "record on both", _split_error(result), 0, kind="correctness"),
        Claim.at_most(
            "runs_complete", "The run holds one AUC per seed and method, one instance AUC per "
            "seed and architecture, one score per test patient and seed, and every "
            "sensitivity cell", _completeness(result, parameters), 0, kind="correctness"),
        Claim.at_least(
            "mil_auc_every_seed", "MIL with the paper's pooling (dense, top 20%) reaches a "
            f"patient AUC of at least {t['min_mil_auc']:.2f} on every seed",
            _get(low, HEADLINE), t['min_mil_auc']),
        Claim.at_most(
            "null_baselines", "The HRV and mean-beat baselines stay within "
            f"{t['null_band']:.2f} of chance (mean over seeds)",
            max(null) if null else NAN, t['null_band']),
        Claim.below(
            "instance_auc_near_chance", "The dense model's instance AUC against inherited "
            f"labels is below {t['max_instance_auc']:.2f}", numbers["instance_dense"],
            t['max_instance_auc']),
        Claim.at_least(
            "witness_detection", "The same instance scores find the witness instances with "
            f"an AUC of at least {t['min_witness_auc']:.2f}", numbers["witness_dense"],
            t['min_witness_auc'], enforced=synthetic),
        Claim.above(
            "top20_over_mean", "Top-20% pooling beats mean pooling (dense, mean AUC over "
            f"seeds) by more than {t['pooling_margin']:+.2f}", numbers["top20_minus_mean"],
            t['pooling_margin'], enforced=margins),
        # the old rule was "> max + min(pooling_margin, 0)": 0 at every pooling_margin >= 0
        Claim.above(
            "top20_over_max", "Top-20% pooling beats max pooling (dense, mean AUC over seeds)",
            numbers["top20_minus_max"], min(t['pooling_margin'], 0.0), enforced=margins),
        Claim.at_least(
            "risk_ratio", f"The top quartile of the MIL score has at least "
            f"{t['min_risk_ratio']:.1f} times the event rate of the rest (mean over seeds)",
            float(ratios.mean()) if len(ratios) else NAN, t['min_risk_ratio']),
        Claim.above(
            "cox_interval", "The lower end of the top quartile's Cox hazard ratio 95% "
            f"interval exceeds {t['min_cox_low']:.1f} on every seed", cox_low,
            t['min_cox_low']),
        Claim.above(
            "morph_var_above_chance", "The morphologic-variability baseline is more than "
            f"{t['mv_margin']:.2f} above chance", _get(mean, "morph_var") - 0.5,
            t['mv_margin'], enforced=margins),
        Claim.above(
            "mil_over_morph_var", "MIL (dense, top 20%) is more than "
            f"{t['mv_margin']:.2f} above the morphologic-variability baseline",
            _get(mean, HEADLINE) - _get(mean, "morph_var"), t['mv_margin'],
            enforced=margins),
        Claim.above(
            "sensitivity_witness_gain", "In the sensitivity grid, the largest witness share "
            f"scores more than {t['sensitivity_margin']:.2f} higher than the smallest "
            "(mean over bag sizes)", sens["witness_gain"], t['sensitivity_margin'],
            enforced=margins and synthetic),
        Claim.at_least(
            "sensitivity_richest", "The grid's richest cell (most witnesses, longest bags) "
            f"reaches a patient AUC of {t['min_mil_auc']:.2f}", sens["richest"],
            t['min_mil_auc'], enforced=synthetic),
    ]
    return claims_table(rows)


__all__ = ["PREFIXES", "auc_table", "claims", "cohort_numbers", "cox_frame", "headline",
           "headline_table", "method_numbers", "prefixed", "repetition_numbers",
           "repetition_table", "risk_numbers", "risk_table", "sensitivity_numbers",
           "sensitivity_pivot", "stored_numbers", "stored_repetition", "table"]
