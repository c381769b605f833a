"""The chapter's whole experiment as one call, for running a profile without Jupyter.

``python -m effnotes.mil.experiment --profile gpu --store`` builds the cohort, trains the MIL
models with every pooling and the baselines over the profile's seeds, runs the sensitivity
grid, and stores ``results/mil_ecg/<profile>.json`` with provenance. It needs torch, numpy,
pandas and scikit-learn only, provided the beat bank is cached or given as a file through
``$EFFNOTES_ECG_BANK`` (or the ``bank_path`` parameter); the HRV baseline needs neurokit2 and
runs only when the profile lists it. The Cox fit (lifelines) is made by :func:`analyse`, from
the stored test scores, wherever the result is read.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from effnotes.mil.baselines import (fit_baseline, hrv_features, mean_beat_features,
                                    morphologic_variability)
from effnotes.mil.beats import BankConfig, importable, load_beat_bank
from effnotes.data.paths import resolve_data
from effnotes.mil.cohort import Cohort, CohortConfig, make_cohort
from effnotes.mil.records import RecordsCohort, records_bank, records_cohort, repetition_summary
from effnotes.mil.metrics import auc, cox_top_quartile, instance_auc, top_quartile_risk_ratio
from effnotes.mil.models import AttentionMIL, InstanceMIL, TrainConfig
from effnotes.mil.pooling import pool
from effnotes.profile_runner import profile_main
from effnotes.results import as_frame
from effnotes.runtime import choose_device, describe_hardware, torch_threads

CHAPTER = "mil_ecg"
#: the patient table's name inside a reader's folder of WFDB records
PATIENT_TABLE = "patients.csv"
BASELINES = ("hrv", "mean_beat", "morph_var")
#: inverse L2 strength of each baseline's logistic regression (the mean beat has 128 features)
BASELINE_C = {"hrv": 1.0, "mean_beat": 0.01, "morph_var": 1.0}
#: the paper's model: the tiny dense instance model, top-20% pooling
HEADLINE = "dense/top20"


def cohort_config(params: dict, **overrides) -> CohortConfig:
    """The :class:`CohortConfig` a profile's parameters describe (with ``overrides``)."""
    values = {"n_patients": params["n_patients"], "n_beats": params["n_beats"],
              "instance_beats": params["instance_beats"],
              "witness_positive": params["witness_positive"],
              "witness_negative_max": params["witness_negative_max"],
              "amplitude": params["amplitude"], "seed": params["cohort_seed"]}
    values.update(overrides)
    return CohortConfig(**values)


def user_cohort(params: dict, **overrides) -> RecordsCohort:
    """The cohort of the reader's records named by ``params["data_path"]``: a folder of WFDB
    records holding ``patients.csv`` (columns record,label[,time,event]); bags of
    ``n_beats`` beats that never repeat one, records too short for a bag dropped."""
    path = resolve_data(CHAPTER, params["data_path"])
    bank, frame, _ = records_bank(path, path / PATIENT_TABLE)
    return records_cohort(bank, frame, n_beats=overrides.get("n_beats", params["n_beats"]),
                          instance_beats=params["instance_beats"], seed=params["cohort_seed"])


def build_cohort(params: dict, progress: bool = False, **overrides) -> Cohort:
    """The profile's cohort, from the cached (or given) beat bank, or from the reader's
    records when the ``data_path`` parameter names them (:func:`user_cohort`)."""
    if params.get("data_path") is not None:
        return user_cohort(params, **overrides).cohort
    bank = load_beat_bank(BankConfig(), path=params.get("bank_path"), progress=progress)
    return make_cohort(bank, cohort_config(params, **overrides))


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


def _train_config(params: dict, arch: str) -> TrainConfig:
    return TrainConfig(epochs=params["epochs"][arch], batch_size=params["batch_size"],
                       lr=params["attention_lr"] if arch == "attention" else params["lr"])


def baseline_features(cohort: Cohort, names: list[str]) -> dict[str, np.ndarray]:
    """Feature matrices of the named baselines for every patient."""
    unknown = set(names) - set(BASELINES)
    if unknown:
        raise ValueError(f"unknown baselines {sorted(unknown)}; choose from {BASELINES}")
    makers = {"hrv": lambda: hrv_features(cohort.rr_ms, cohort.sampling_rate),
              "mean_beat": lambda: mean_beat_features(cohort.beats),
              "morph_var": lambda: morphologic_variability(cohort.beats, cohort.sampling_rate)}
    return {name: makers[name]() for name in names}


def compare_methods(cohort: Cohort, params: dict, device, progress: bool = False) -> dict:
    """Every MIL model with every pooling, attention MIL and the baselines, over the profile's
    seeds (each seed: a fresh stratified split and initialisation). Returns tables: ``aucs``
    (seed, method, family, auc), ``instance`` (seed, arch, instance_auc, witness_auc),
    ``scores`` (the headline model's test scores with survival data), ``risk``, and
    ``pooling_example``: the headline architecture's instance scores on the first seed's test
    patients, ``instance_scores`` ``(n_test, n_instances)`` with their ``labels``, for
    trying other poolings on them."""
    bags, labels = cohort.instances(), cohort.labels
    features = baseline_features(cohort, list(params["baselines"]))
    aucs, instance, scores, risk = [], [], [], []
    example: dict[str, np.ndarray] = {}
    for seed in tqdm(range(params["seeds"]), desc="seeds", disable=not progress):
        train, test = split_patients(labels, cohort.record, params["test_fraction"], seed)
        for arch in params["archs"]:
            model = InstanceMIL(arch, _train_config(params, arch), seed=seed, device=device)
            model.fit(bags[train], labels[train])
            inst = model.instance_scores(bags[test])
            if not example and arch == HEADLINE.split("/")[0]:
                example = {"instance_scores": inst, "labels": labels[test]}
            instance.append({"seed": seed, "arch": arch,
                             "instance_auc": instance_auc(labels[test], inst),
                             "witness_auc": (auc(cohort.instance_witness()[test].ravel(),
                                                 inst.ravel()) if cohort.witness.any()
                                             else float("nan"))})  # real records: unknown
            for pooling in params["poolings"]:
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
        if params["attention"]:
            model = AttentionMIL(_train_config(params, "attention"), seed=seed, device=device)
            score = model.fit(bags[train], labels[train]).patient_scores(bags[test])
            aucs.append({"seed": seed, "method": "cnn/attention", "family": "MIL",
                         "auc": auc(labels[test], score)})
        for name, matrix in features.items():
            score = fit_baseline(matrix, labels, train, test, C=BASELINE_C[name])
            aucs.append({"seed": seed, "method": name, "family": "baseline",
                         "auc": auc(labels[test], score)})
    return {"aucs": pd.DataFrame(aucs), "instance": pd.DataFrame(instance),
            "scores": pd.DataFrame(scores), "risk": pd.DataFrame(risk),
            "pooling_example": example}


def sensitivity(params: dict, device, progress: bool = False) -> pd.DataFrame:
    """Patient AUC of the headline model (one seed) on cohorts with each witness fraction of
    ``params["sensitivity_witness"]`` and bag size (beats) of ``params["sensitivity_beats"]``."""
    rows = []
    grid = [(w, n) for w in params["sensitivity_witness"] for n in params["sensitivity_beats"]]
    for w, n in tqdm(grid, desc="sensitivity", disable=not progress):
        cohort = build_cohort(params, witness_positive=w, n_beats=n)
        bags, labels = cohort.instances(), cohort.labels
        train, test = split_patients(labels, cohort.record, params["test_fraction"], 0)
        model = InstanceMIL("dense", _train_config(params, "dense"), seed=0, device=device)
        score = model.fit(bags[train], labels[train]).patient_scores(bags[test], "top20")
        rows.append({"witness_positive": w, "n_beats": n, "auc": auc(labels[test], score)})
    return pd.DataFrame(rows)


def run_profile(params: dict, *, progress: bool = False) -> dict:
    """The whole experiment with ``params`` (a profile's parameters); plain data to store."""
    device = choose_device(params["device"])
    threads = params["torch_threads"]
    with torch_threads(threads) if threads else contextlib.nullcontext():
        hardware = describe_hardware(device).as_dict()
        cohort = build_cohort(params, progress=progress)
        result = compare_methods(cohort, params, device, progress=progress)
        result.pop("pooling_example")  # every test patient's every instance: too large to store
        if params.get("data_path") is None:
            result["sensitivity"] = sensitivity(params, device, progress=progress)
        else:  # the grid plants witnesses, which real records do not have
            made = user_cohort(params)
            result["sensitivity"] = pd.DataFrame(columns=["witness_positive", "n_beats", "auc"])
            result["records"] = {"n_patients": int(made.cohort.n_patients),
                                 "dropped": list(made.dropped)}
    return {"hardware": hardware, **result}


def auc_table(result: dict) -> pd.DataFrame:
    """Mean, SD, min and max of the patient AUC of each method over seeds."""
    aucs = as_frame(result["aucs"])
    return (aucs.groupby(["family", "method"])["auc"].agg(["mean", "std", "min", "max"])
            .sort_values("mean", ascending=False))


def analyse(result: dict) -> dict:
    """Cox hazard ratio (top quartile vs rest, lifelines) of the headline model's test scores
    for each seed, and the summary tables, from a live or a stored result."""
    scores = as_frame(result["scores"])
    cox = pd.DataFrame([{"seed": seed, **cox_top_quartile(g["score"].to_numpy(),
                                                           g["time"].to_numpy(),
                                                           g["event"].to_numpy())}
                        for seed, g in scores.groupby("seed")])
    return {"aucs": auc_table(result), "cox": cox}


def headline_numbers(result: dict, with_cox: bool = True) -> pd.Series:
    """The chapter's headline figures, so two runs (CPU live, GPU stored) sit side by side."""
    table = auc_table(result)["mean"].droplevel(0)
    instance = as_frame(result["instance"])
    numbers = {f"patient AUC, {m}": v for m, v in table.items()}
    numbers["instance AUC (dense, inherited labels)"] = \
        instance.loc[instance["arch"] == "dense", "instance_auc"].mean()
    numbers["witness-detection AUC (dense)"] = \
        instance.loc[instance["arch"] == "dense", "witness_auc"].mean()
    numbers["top-quartile risk ratio (mean over seeds)"] = as_frame(result["risk"])["risk_ratio"].mean()
    if with_cox:
        cox = analyse(result)["cox"]
        numbers["Cox HR, top quartile (median over seeds)"] = cox["hazard_ratio"].median()
    return pd.Series(numbers, dtype=float)


def _report(data: dict, params: dict) -> None:
    with_cox = importable("lifelines")  # absent on a GPU machine
    with pd.option_context("display.width", 120):
        print(headline_numbers(data, with_cox=with_cox).round(3).to_string())


def main(argv: list[str] | None = None) -> int:
    return profile_main(CHAPTER, run_profile, _report, argv, description=__doc__)


if __name__ == "__main__":
    raise SystemExit(main())


def bag_repetition_table(params: dict) -> pd.DataFrame:
    """How much the profile's bags repeat beats, at every bag size it uses (``n_beats`` and
    ``sensitivity_beats``): :func:`~effnotes.mil.records.repetition_summary` of the bank the
    synthetic cohort wraps around. A reader's records (``data_path``) are cut into bags that
    never repeat a beat, so there every count is zero."""
    sizes = sorted({int(params["n_beats"]), *map(int, params["sensitivity_beats"])})
    if params.get("data_path") is not None:
        path = resolve_data(CHAPTER, params["data_path"])
        bank, _, _ = records_bank(path, path / PATIENT_TABLE)
        table = repetition_summary(bank, sizes)
        return table.assign(records_repeating=0, mean_repeated_share=0.0, max_uses=1)
    bank = load_beat_bank(BankConfig(), path=params.get("bank_path"))
    return repetition_summary(bank, sizes)
