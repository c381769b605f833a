"""The mil_ecg chapter's profiles: one frozen :class:`Profile` per profile name.

The ``ci`` profile is what the rendered book runs (its values are the notebook's
``parameters`` cell); ``smoke`` is what the tests run; ``gpu`` is the stored run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any


#: the names of the claims' thresholds (the keys of ``Profile.thresholds``)
THRESHOLDS = ("min_mil_auc", "null_band", "max_instance_auc", "min_witness_auc",
              "pooling_margin", "min_risk_ratio", "min_cox_low", "mv_margin",
              "sensitivity_margin")
#: the model families that have their own epochs and learning rate
FAMILIES = ("dense", "cnn", "attention")


@dataclass(frozen=True)
class Profile:
    """The parameters of one run of the mil_ecg chapter (see :mod:`effnotes.mil.cohort` for
    the planted signal and :mod:`effnotes.mil.claims` for the claims the thresholds judge).
    The beat bank comes from the cache (simulated on first use) or from the file that
    ``$EFFNOTES_ECG_BANK`` names."""

    # --- the synthetic cohort (ignored where data_path names real records, except n_beats
    # and instance_beats)
    #: patients (bags) in the cohort
    n_patients: int
    #: beats per patient's bag
    n_beats: int
    #: adjacent beats per instance (n_beats must be a multiple of it)
    instance_beats: int
    #: share of a positive patient's beats that are witnesses (fraction, 0 to 1)
    witness_positive: float
    #: a negative patient's witness share is drawn uniformly from [0, this] (fraction)
    witness_negative_max: float
    #: the witness deflection in the ST/T segment (mV, alternating in sign)
    amplitude: float
    #: seed of the cohort: labels, source records, witnesses, gains, noise and survival
    cohort_seed: int
    # --- the comparison
    #: seeds per method; each seed is a fresh split by record and a fresh initialisation
    seeds: int
    #: share of the bank's records whose patients are test patients (fraction)
    test_fraction: float
    #: instance-model architectures ("dense": the paper's, "cnn")
    archs: tuple
    #: poolings of the instance models ("mean", "max", "topNN": mean of the top NN%)
    poolings: tuple
    #: whether to train gated-attention MIL (reported as "cnn/attention")
    attention: bool
    #: patient-feature baselines ("hrv" needs neurokit2, "mean_beat", "morph_var")
    baselines: tuple
    #: passes over the training data per model family ("dense", "cnn", "attention")
    epochs: Mapping[str, Any]
    #: instances per batch (half from positive, half from negative patients)
    batch_size: int
    #: Adam learning rate per model family ("dense", "cnn", "attention")
    lr: Mapping[str, Any]
    #: the sensitivity grid: "witness", the witness shares of positive patients (fractions),
    #: times "beats", the bag sizes (beats per patient); one seed (first_seed) per cell
    sensitivity: Mapping[str, Any]
    #: the claims' thresholds (effnotes.mil.claims), by name:
    #: "min_mil_auc": lowest patient AUC of dense/top20 over seeds, and of the sensitivity
    #: grid's richest cell; "null_band": largest distance of the HRV and mean-beat baselines'
    #: mean AUC from chance (0.5); "max_instance_auc": the dense model's instance AUC against
    #: inherited labels stays below it; "min_witness_auc": lowest AUC of the dense instance
    #: scores for telling witness instances apart; "pooling_margin": least patient-AUC gain of
    #: top-20% over mean pooling (dense, mean over seeds); "min_risk_ratio": least mean
    #: top-quartile event-rate ratio (top quartile over the rest); "min_cox_low": the Cox
    #: hazard ratio's 95% interval starts above it on every seed; "mv_margin": least AUC margin
    #: of the morphologic-variability baseline over chance and of MIL over it;
    #: "sensitivity_margin": least AUC gain from the grid's smallest to its largest witness
    #: share (mean over bag sizes)
    thresholds: Mapping[str, float]
    #: whether the result claims with fixed thresholds (the pooling, morphologic-variability
    #: and sensitivity margins) are enforced; the smoke run (one seed, a small cohort) is too
    #: small for them, so there they are shown, not asserted. The claims whose thresholds the
    #: profile scales to its size (AUC, instance AUC, risk) are enforced at every profile.
    enforce_results: bool
    # --- where and how
    #: PyTorch intra-op threads while training
    torch_threads: int
    #: "cpu", "cuda" or "auto"
    device: str
    #: a folder of WFDB records with patients.csv (absolute, or relative to $EFFNOTES_DATA);
    #: None: the synthetic cohort
    data_path: str | None
    #: the first seed; a run uses seeds first_seed .. first_seed + seeds - 1, so a second,
    #: disjoint seed set is first_seed = seeds
    first_seed: int = 0

    def __post_init__(self) -> None:
        for name, keys in (("thresholds", THRESHOLDS), ("sensitivity", ("witness", "beats")),
                           ("epochs", FAMILIES), ("lr", FAMILIES)):
            given = getattr(self, name)
            if not isinstance(given, Mapping) or set(given) != set(keys):
                raise ValueError(f"{name} must be a mapping with exactly the keys {list(keys)}, "
                                 f"got {given!r}")


SMOKE = Profile(
    n_patients=160,
    n_beats=40,
    instance_beats=2,
    witness_positive=0.3,
    witness_negative_max=0.02,
    amplitude=0.4,
    cohort_seed=0,
    seeds=1,
    test_fraction=0.5,
    archs=('dense', 'cnn'),
    poolings=('mean', 'max', 'top20'),
    attention=True,
    baselines=('hrv', 'mean_beat', 'morph_var'),
    epochs={'dense': 6, 'cnn': 2, 'attention': 2},
    batch_size=128,
    lr={'dense': 0.003, 'cnn': 0.003, 'attention': 0.001},
    sensitivity={'witness': [0.05, 0.2], 'beats': [20, 40]},
    thresholds={"min_mil_auc": 0.6, "null_band": 0.3, "max_instance_auc": 0.8,
                "min_witness_auc": 0.5, "pooling_margin": 0.05, "min_risk_ratio": 1.0,
                "min_cox_low": 0.0, "mv_margin": 0.05, "sensitivity_margin": 0.3},
    enforce_results=False,
    torch_threads=1,
    device='cpu',
    data_path=None,
)
CI = replace(
    SMOKE,
    n_patients=600,
    n_beats=200,
    witness_positive=0.1,
    amplitude=0.2,
    seeds=3,
    epochs={'dense': 20, 'cnn': 12, 'attention': 40},
    batch_size=256,
    sensitivity={'witness': [0.03, 0.06, 0.1, 0.2], 'beats': [50, 100, 200]},
    thresholds={"min_mil_auc": 0.85, "null_band": 0.07, "max_instance_auc": 0.65,
                "min_witness_auc": 0.8, "pooling_margin": 0.05, "min_risk_ratio": 3.0,
                "min_cox_low": 1.0, "mv_margin": 0.05, "sensitivity_margin": 0.3},
    enforce_results=True,
)
GPU = replace(
    CI,
    n_patients=3000,
    n_beats=1000,
    seeds=5,
    poolings=('mean', 'max', 'top10', 'top20'),
    baselines=('mean_beat', 'morph_var'),
    epochs={'dense': 8, 'cnn': 6, 'attention': 20},
    batch_size=1024,
    sensitivity={'witness': [0.03, 0.06, 0.1, 0.2], 'beats': [50, 200, 1000]},
    torch_threads=4,
    device='cuda',
)

PROFILES = {"smoke": SMOKE, "ci": CI, "gpu": GPU}
