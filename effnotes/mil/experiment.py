"""The chapter's experiment as named stages, run one at a time by the notebook or all at once
by ``effnotes experiment mil_ecg --profile P`` (``python -m effnotes.mil.experiment`` is the
same command).

The stages, in order:

1. :func:`cohort`: the beat bank and the patients (the synthetic cohort, or the reader's WFDB
   records when the profile's ``data_path`` names them), with the numbers that check it;
2. :func:`methods`: every instance model with every pooling, attention MIL and the baselines
   over the profile's seeds;
3. :func:`risk`: the Cox hazard ratio of the headline model's top score quartile, per seed;
4. :func:`sensitivity`: the headline model on cohorts with other witness shares and bag sizes;
5. :func:`repetition`: whether the bags repeat beats of their record (measured at every bag
   size the run uses; they must not) and which records were too short for a bag.

It needs torch, numpy, pandas and scikit-learn only, provided the beat bank is cached or given
as a file through ``$EFFNOTES_ECG_BANK``; the HRV baseline
needs neurokit2 and the Cox fit lifelines (without it the ``cox`` table holds NaN and the
claims fit it from the stored test scores where lifelines is installed).
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from effnotes.contract import Experiment, Result
from effnotes.data.paths import resolve_data
from effnotes.experiment_runner import experiment_main
from effnotes.mil import pooling as pooling_lib
from effnotes.mil.baselines import (fit_baseline, hrv_features, mean_beat_features,
                                    morphologic_variability)
from effnotes.mil.beats import BankConfig, bank_for_bags, importable, load_beat_bank
from effnotes.mil.cohort import Cohort, CohortConfig, bag_repetition, draw_bags, make_cohort
from effnotes.mil.metrics import auc, cox_top_quartile, instance_auc, top_quartile_risk_ratio
from effnotes.mil.models import AttentionMIL, InstanceMIL, TrainConfig
from effnotes.mil.pooling import pool
from effnotes.mil.records import RecordsCohort, records_bags, records_bank, records_cohort
from effnotes.runtime import choose_device, describe_hardware, torch_threads

CHAPTER = "mil_ecg"
#: the patient table's name inside a reader's folder of WFDB records
PATIENT_TABLE = "patients.csv"
BASELINES = ("hrv", "mean_beat", "morph_var")
#: inverse L2 strength of each baseline's logistic regression (the mean beat has 128 features)
BASELINE_C = {"hrv": 1.0, "mean_beat": 0.01, "morph_var": 1.0}
#: the paper's model: the tiny dense instance model, top-20% pooling
HEADLINE = "dense/top20"


def seed_range(profile) -> range:
    """The seeds a run uses: ``first_seed .. first_seed + seeds - 1``."""
    return range(profile.first_seed, profile.first_seed + profile.seeds)


def cohort_config(profile, **overrides) -> CohortConfig:
    """The :class:`~effnotes.mil.cohort.CohortConfig` a profile describes (with ``overrides``
    of its fields)."""
    values = {"n_patients": profile.n_patients, "n_beats": profile.n_beats,
              "instance_beats": profile.instance_beats,
              "witness_positive": profile.witness_positive,
              "witness_negative_max": profile.witness_negative_max,
              "amplitude": profile.amplitude, "seed": profile.cohort_seed}
    values.update(overrides)
    return CohortConfig(**values)


def bag_sizes(profile) -> list[int]:
    """Every bag size (beats per patient) a run of ``profile`` uses, ascending: its
    ``n_beats`` and the sensitivity grid's ``beats``."""
    return sorted({int(profile.n_beats), *map(int, profile.sensitivity["beats"])})


def bank_bag(profile) -> int:
    """The bag (beats) the simulated bank's records must hold for ``profile``: its longest
    bag, and at least the ``ci`` profile's, so that the smoke tests and the book, which run
    the smaller profiles, share one bank and simulate it once."""
    from effnotes.mil.profiles import CI

    return max(bag_sizes(profile)[-1], bag_sizes(CI)[-1])


def bank_config(profile) -> BankConfig:
    """The simulated beat bank ``profile`` needs: the default
    :class:`~effnotes.mil.beats.BankConfig` with records long enough for :func:`bank_bag`
    (:func:`~effnotes.mil.beats.bank_for_bags`)."""
    return bank_for_bags(bank_bag(profile))


def user_cohort(profile, **overrides) -> RecordsCohort:
    """The cohort of the reader's records named by the profile's ``data_path``: a folder of
    WFDB records holding ``patients.csv`` (columns record,label[,time,event]); bags of
    ``n_beats`` beats that never repeat one, records too short for a bag dropped."""
    path = resolve_data(CHAPTER, profile.data_path)
    bank, frame, _ = records_bank(path, path / PATIENT_TABLE)
    return records_cohort(bank, frame, n_beats=overrides.get("n_beats", profile.n_beats),
                          instance_beats=profile.instance_beats, seed=profile.cohort_seed)


def build_cohort(profile, progress: bool = False, **overrides) -> Cohort:
    """The profile's cohort, from the cached (or given) beat bank, or from the reader's
    records when the profile's ``data_path`` names them (:func:`user_cohort`)."""
    if profile.data_path is not None:
        return user_cohort(profile, **overrides).cohort
    bank = load_beat_bank(bank_config(profile), progress=progress)
    return make_cohort(bank, cohort_config(profile, **overrides))


def split_patients(labels: np.ndarray, groups: np.ndarray, test_fraction: float,
                   seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split patient indices into (train, test) by group: a ``test_fraction`` of the groups
    (the bank records the patients were resampled from) goes to the test side, so no test
    patient shares a heart with a training patient."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    labels, groups = np.asarray(labels), np.asarray(groups)
    if labels.shape != groups.shape:
        raise ValueError(f"labels and groups must match, got {labels.shape} and {groups.shape}")
    rng = np.random.default_rng(seed)
    names = rng.permutation(np.unique(groups))
    if len(names) < 2:
        raise ValueError("a split by group needs at least two groups")
    cut = min(len(names) - 1, max(1, int(round(len(names) * test_fraction))))
    is_test = np.isin(groups, names[:cut])
    train, test = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    for side, index in (("train", train), ("test", test)):
        if len(np.unique(labels[index])) < 2:
            raise ValueError(f"the {side} split holds one class only: use more patients")
    return train, test


def _train_config(profile, arch: str) -> TrainConfig:
    return TrainConfig(epochs=profile.epochs[arch], batch_size=profile.batch_size,
                       lr=profile.lr[arch])


def _threads(profile):
    count = profile.torch_threads
    return torch_threads(count) if count else contextlib.nullcontext()


def baseline_features(cohort: Cohort, names: list[str]) -> dict[str, np.ndarray]:
    """Feature matrices ``(n_patients, n_features)`` of the named baselines."""
    unknown = set(names) - set(BASELINES)
    if unknown:
        raise ValueError(f"unknown baselines {sorted(unknown)}; choose from {BASELINES}")
    makers = {"hrv": lambda: hrv_features(cohort.rr_ms, cohort.sampling_rate),
              "mean_beat": lambda: mean_beat_features(cohort.beats),
              "morph_var": lambda: morphologic_variability(cohort.beats, cohort.sampling_rate)}
    return {name: makers[name]() for name in names}


def cohort_summary(cohort: Cohort, expected_patients: int, profile) -> dict:
    """The numbers that describe the cohort and check it: its bag shape against the one the
    profile asks for (``(patients, n_beats // instance_beats, instance_beats * window)``),
    the planted witness shares of each class as the witness masks hold them (fractions of
    the bag's beats; NaN for real records, whose witnesses are unknown), the AUC of that
    planted share as a patient score, the class mean beats' largest gap (mV, and in SDs of
    the patients' mean beats), the mean RR interval per class (ms) and each class's event
    rate."""
    labels = cohort.labels
    window = cohort.beats.shape[2]
    synthetic = profile.data_path is None
    share = cohort.witness.mean(axis=1) if synthetic else np.full(len(labels), np.nan)
    mean_beats = cohort.mean_beats()
    gap = np.abs(mean_beats[labels == 1].mean(0) - mean_beats[labels == 0].mean(0))
    spread = mean_beats[labels == 0].std(0)
    rr = cohort.rr_ms.mean(axis=1)
    positive, negative = labels == 1, labels == 0
    return {
        "bag_shape": [int(v) for v in cohort.instances().shape],
        "expected_bag_shape": [int(expected_patients), profile.n_beats // profile.instance_beats,
                               profile.instance_beats * window],
        "n_positive": int(positive.sum()),
        "expected_positive": (int(round(CohortConfig.prevalence * expected_patients))
                              if synthetic else int(positive.sum())),
        "n_records": int(len(np.unique(cohort.record))),
        "witness_share_positive_max_error": (float(np.abs(share[positive]
                                                          - profile.witness_positive).max())
                                             if synthetic else float("nan")),
        "witness_share_negative_max": float(share[negative].max()) if synthetic else float("nan"),
        "witness_mask_vs_fraction": (float(np.abs(share - cohort.witness_fraction).max())
                                     if synthetic else float("nan")),
        "planted_score_auc": auc(labels, share) if synthetic else float("nan"),
        "mean_gap_mv": float(gap.max()),
        "mean_gap_sd": float((gap / spread).max()),
        "rr_negative_ms": float(rr[negative].mean()),
        "rr_positive_ms": float(rr[positive].mean()),
        "event_rate_positive": float(cohort.event[positive].mean()),
        "event_rate_negative": float(cohort.event[negative].mean()),
    }


def compare_methods(cohort: Cohort, profile, device, progress: bool = False) -> dict:
    """Every MIL model with every pooling, attention MIL and the baselines, over the profile's
    seeds (each seed: a fresh split by record and a fresh initialisation). Returns tables:
    ``aucs`` (seed, method, family, auc), ``instance`` (seed, arch, instance_auc,
    witness_auc), ``scores`` (the headline model's test scores with survival data), ``risk``
    (seed, risk_ratio), ``splits`` (seed, n_train, n_test, shared_records: records on both
    sides) and ``pooling_example``: the headline architecture's instance scores on the first
    seed's test patients, ``instance_scores`` ``(n_test, n_instances)`` with their
    ``labels``, for trying other poolings on them."""
    bags, labels = cohort.instances(), cohort.labels
    features = baseline_features(cohort, list(profile.baselines))
    aucs, instance, scores, risk, splits = [], [], [], [], []
    example: dict[str, np.ndarray] = {}
    for seed in tqdm(seed_range(profile), desc="seeds", disable=not progress):
        train, test = split_patients(labels, cohort.record, profile.test_fraction, seed)
        splits.append({"seed": seed, "n_train": len(train), "n_test": len(test),
                       "shared_records": len(np.intersect1d(cohort.record[train],
                                                            cohort.record[test]))})
        for arch in profile.archs:
            model = InstanceMIL(arch, _train_config(profile, arch), seed=seed, device=device)
            model.fit(bags[train], labels[train])
            inst = model.instance_scores(bags[test])
            if not example and arch == HEADLINE.split("/")[0]:
                example = {"instance_scores": inst, "labels": labels[test]}
            instance.append({"seed": seed, "arch": arch,
                             "instance_auc": instance_auc(labels[test], inst),
                             "witness_auc": (auc(cohort.instance_witness()[test].ravel(),
                                                 inst.ravel()) if cohort.witness.any()
                                             else float("nan"))})  # real records: unknown
            for pooling in profile.poolings:
                score = pool(inst, pooling)
                method = f"{arch}/{pooling}"
                aucs.append({"seed": seed, "method": method, "family": "MIL",
                             "auc": auc(labels[test], score)})
                if method == HEADLINE:
                    risk.append({"seed": seed,
                                 "risk_ratio": top_quartile_risk_ratio(score, cohort.event[test])})
                    scores += [{"seed": seed, "patient": int(p), "label": int(labels[p]),
                                "score": float(s), "time": float(cohort.time[p]),
                                "event": bool(cohort.event[p])} for p, s in zip(test, score)]
        if profile.attention:
            model = AttentionMIL(_train_config(profile, "attention"), seed=seed, device=device)
            score = model.fit(bags[train], labels[train]).patient_scores(bags[test])
            aucs.append({"seed": seed, "method": "cnn/attention", "family": "MIL",
                         "auc": auc(labels[test], score)})
        for name, matrix in features.items():
            score = fit_baseline(matrix, labels, train, test, C=BASELINE_C[name])
            aucs.append({"seed": seed, "method": name, "family": "baseline",
                         "auc": auc(labels[test], score)})
    return {"aucs": pd.DataFrame(aucs), "instance": pd.DataFrame(instance),
            "scores": pd.DataFrame(scores), "risk": pd.DataFrame(risk),
            "splits": pd.DataFrame(splits), "pooling_example": example}


def pooling_limit_error(instance_scores: np.ndarray) -> float:
    """How far top-k pooling is from its two limits on ``instance_scores``
    ``(n_patients, n_instances)``: the largest difference from mean pooling at k = 100% and
    from max pooling at a k below one instance (0 when top-k pooling is right)."""
    scores = np.asarray(instance_scores, dtype=float)
    every = pooling_lib.topk_pool(scores, 1.0) - pooling_lib.mean_pool(scores)
    single = pooling_lib.topk_pool(scores, 0.5 / scores.shape[1]) - pooling_lib.max_pool(scores)
    return float(max(np.abs(every).max(), np.abs(single).max()))


def cox_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Per seed, the Cox hazard ratio of the top score quartile against the rest (lifelines)
    with its 95% interval and p value: columns seed, hazard_ratio, ci_low, ci_high, p. Without
    lifelines the four numbers are NaN."""
    fit = importable("lifelines")
    nan = {"hazard_ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan}
    rows = [{"seed": int(seed), **(cox_top_quartile(g["score"].to_numpy(), g["time"].to_numpy(),
                                                    g["event"].to_numpy()) if fit else nan)}
            for seed, g in scores.groupby("seed")]
    return pd.DataFrame(rows, columns=["seed", *nan])


def sensitivity_grid(profile, device, progress: bool = False) -> pd.DataFrame:
    """Patient AUC of the headline model (one seed, ``first_seed``) on cohorts with each
    witness share of ``sensitivity["witness"]`` and bag size (beats) of
    ``sensitivity["beats"]``:
    columns witness_positive, n_beats, auc."""
    rows = []
    grid = [(w, n) for w in profile.sensitivity["witness"] for n in profile.sensitivity["beats"]]
    seed = profile.first_seed
    for w, n in tqdm(grid, desc="sensitivity", disable=not progress):
        cohort = build_cohort(profile, witness_positive=w, n_beats=n)
        bags, labels = cohort.instances(), cohort.labels
        train, test = split_patients(labels, cohort.record, profile.test_fraction, seed)
        model = InstanceMIL("dense", _train_config(profile, "dense"), seed=seed, device=device)
        score = model.fit(bags[train], labels[train]).patient_scores(bags[test], "top20")
        rows.append({"witness_positive": w, "n_beats": n, "auc": auc(labels[test], score)})
    return pd.DataFrame(rows, columns=["witness_positive", "n_beats", "auc"])


def bag_repetition_table(profile) -> pd.DataFrame:
    """Whether the profile's bags repeat beats, measured at every bag size it uses
    (:func:`bag_sizes`) on the bags the cohorts are made of (their bank beat indices, from
    :func:`~effnotes.mil.cohort.draw_bags` or, for a reader's records, from
    :func:`~effnotes.mil.records.records_bags`): one row per size with the records' shortest
    and longest length (beats), ``n_records``, ``records_dropped`` (records shorter than the
    bag, left out) and :func:`~effnotes.mil.cohort.bag_repetition`'s ``bags_repeating``,
    ``mean_repeated_share`` and ``max_uses``."""
    rows = []
    if profile.data_path is not None:
        path = resolve_data(CHAPTER, profile.data_path)
        bank, frame, _ = records_bank(path, path / PATIENT_TABLE)
    else:
        bank = load_beat_bank(bank_config(profile))
    lengths = [len(run) for run in bank.runs()]
    for n in bag_sizes(profile):
        if profile.data_path is not None:
            index, _, dropped = records_bags(bank, frame, n_beats=n,
                                             instance_beats=profile.instance_beats,
                                             seed=profile.cohort_seed)
        else:
            bags = draw_bags(bank, cohort_config(profile, n_beats=n))
            index, dropped = bags.index, bags.dropped
        measured = bag_repetition(index)
        rows.append({"n_beats": n, "min_record_beats": min(lengths),
                     "max_record_beats": max(lengths), "n_records": len(lengths),
                     "records_dropped": len(dropped),
                     "bags_repeating": measured["bags_repeating"],
                     "mean_repeated_share": measured["mean_repeated_share"],
                     "max_uses": measured["max_uses"]})
    return pd.DataFrame(rows)


# --- the stages ------------------------------------------------------------------------


def cohort(profile, state, *, progress=False) -> dict:
    """Stage 1: the device and its description (``hardware``), the cohort (``_cohort``) and
    its :func:`cohort_summary` (``cohort``); for the synthetic cohort also the simulated
    bank's configuration (``bank``, :func:`bank_config`), for the reader's records ``records``
    (patients kept, records dropped for being shorter than a bag)."""
    device = choose_device(profile.device)
    with _threads(profile):
        hardware = describe_hardware(device).as_dict()
    out = {"_device": device, "hardware": hardware}
    if profile.data_path is None:
        made = build_cohort(profile, progress=progress)
        expected = profile.n_patients
        out["bank"] = asdict(bank_config(profile))
    else:
        records = user_cohort(profile)
        made, expected = records.cohort, len(records.kept)
        out["records"] = {"n_patients": int(made.n_patients), "dropped": list(records.dropped)}
    return out | {"_cohort": made, "cohort": cohort_summary(made, expected, profile)}


def methods(profile, state, *, progress=False) -> dict:
    """Stage 2: :func:`compare_methods` on the cohort: ``aucs``, ``instance``, ``scores``,
    ``risk`` and ``splits``; ``pooling_limits`` (:func:`pooling_limit_error` on the first
    seed's instance scores); and those scores as ``_pooling_example`` (every test patient's
    every instance: kept in memory for the page's widget, never stored)."""
    with _threads(profile):
        out = compare_methods(state["_cohort"], profile, state["_device"], progress=progress)
    example = out.pop("pooling_example")
    return out | {"_pooling_example": example,
                  "pooling_limits": pooling_limit_error(example["instance_scores"])}


def risk(profile, state, *, progress=False) -> dict:
    """Stage 3: the Cox fit of the headline model's top quartile per seed (``cox``,
    :func:`cox_table`)."""
    return {"cox": cox_table(state["scores"])}


def sensitivity(profile, state, *, progress=False) -> dict:
    """Stage 4: the sensitivity grid (``sensitivity``, :func:`sensitivity_grid`); empty for
    the reader's records, whose witnesses cannot be planted."""
    if profile.data_path is not None:
        return {"sensitivity": pd.DataFrame(columns=["witness_positive", "n_beats", "auc"])}
    with _threads(profile):
        return {"sensitivity": sensitivity_grid(profile, state["_device"], progress=progress)}


def repetition(profile, state, *, progress=False) -> dict:
    """Stage 5: whether the bags repeat beats, and the records too short for them
    (``repetition``, :func:`bag_repetition_table`)."""
    return {"repetition": bag_repetition_table(profile)}


EXPERIMENT = Experiment(CHAPTER, [cohort, methods, risk, sensitivity, repetition])


def run(profile, *, progress: bool = False) -> Result:
    """Every stage at ``profile`` (the chapter's Profile), in order; the
    :class:`~effnotes.contract.Result`."""
    return EXPERIMENT.run(profile, progress=progress)


def main(argv: list[str] | None = None) -> int:
    """``python -m effnotes.mil.experiment ARGS``: the same as ``effnotes experiment mil_ecg
    ARGS``."""
    return experiment_main(CHAPTER, argv)


if __name__ == "__main__":
    raise SystemExit(main())
