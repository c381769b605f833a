"""The mil_ecg chapter's profiles: one frozen :class:`Profile` per profile name.

The ``ci`` profile is what the rendered book runs (its values are the notebook's
``parameters`` cell); ``smoke`` is what the tests run; ``gpu`` is the stored run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Profile:
    """The parameters of one run of the mil_ecg chapter."""

    n_patients: int
    n_beats: int
    instance_beats: int
    witness_positive: float
    witness_negative_max: float
    amplitude: float
    cohort_seed: int
    seeds: int
    test_fraction: float
    archs: tuple
    poolings: tuple
    attention: bool
    baselines: tuple
    epochs: Mapping[str, Any]
    batch_size: int
    lr: float
    attention_lr: float
    sensitivity_witness: tuple
    sensitivity_beats: tuple
    min_mil_auc: float
    null_band: float
    max_instance_auc: float
    min_witness_auc: float
    pooling_margin: float
    min_risk_ratio: float
    min_cox_low: float
    mv_margin: float
    sensitivity_margin: float
    bank_path: str | None
    torch_threads: int
    device: str
    data_path: str | None
    #: the first seed; a run uses seeds first_seed .. first_seed + seeds - 1, so a second,
    #: disjoint seed set is first_seed = seeds
    first_seed: int = 0


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
    lr=0.003,
    attention_lr=0.001,
    sensitivity_witness=(0.05, 0.2),
    sensitivity_beats=(20, 40),
    min_mil_auc=0.6,
    null_band=0.3,
    max_instance_auc=0.8,
    min_witness_auc=0.5,
    pooling_margin=-1.0,
    min_risk_ratio=1.0,
    min_cox_low=0.0,
    mv_margin=-1.0,
    sensitivity_margin=-1.0,
    bank_path=None,
    torch_threads=1,
    device='cpu',
    data_path=None,
)
CI = Profile(
    n_patients=600,
    n_beats=200,
    instance_beats=2,
    witness_positive=0.1,
    witness_negative_max=0.02,
    amplitude=0.2,
    cohort_seed=0,
    seeds=3,
    test_fraction=0.5,
    archs=('dense', 'cnn'),
    poolings=('mean', 'max', 'top20'),
    attention=True,
    baselines=('hrv', 'mean_beat', 'morph_var'),
    epochs={'dense': 20, 'cnn': 12, 'attention': 40},
    batch_size=256,
    lr=0.003,
    attention_lr=0.001,
    sensitivity_witness=(0.03, 0.06, 0.1, 0.2),
    sensitivity_beats=(50, 100, 200),
    min_mil_auc=0.85,
    null_band=0.07,
    max_instance_auc=0.65,
    min_witness_auc=0.8,
    pooling_margin=0.05,
    min_risk_ratio=3.0,
    min_cox_low=1.0,
    mv_margin=0.05,
    sensitivity_margin=0.3,
    bank_path=None,
    torch_threads=1,
    device='cpu',
    data_path=None,
)
GPU = Profile(
    n_patients=3000,
    n_beats=1000,
    instance_beats=2,
    witness_positive=0.1,
    witness_negative_max=0.02,
    amplitude=0.2,
    cohort_seed=0,
    seeds=5,
    test_fraction=0.5,
    archs=('dense', 'cnn'),
    poolings=('mean', 'max', 'top10', 'top20'),
    attention=True,
    baselines=('mean_beat', 'morph_var'),
    epochs={'dense': 8, 'cnn': 6, 'attention': 20},
    batch_size=1024,
    lr=0.003,
    attention_lr=0.001,
    sensitivity_witness=(0.03, 0.06, 0.1, 0.2),
    sensitivity_beats=(50, 200, 1000),
    min_mil_auc=0.85,
    null_band=0.07,
    max_instance_auc=0.65,
    min_witness_auc=0.8,
    pooling_margin=0.05,
    min_risk_ratio=3.0,
    min_cox_low=1.0,
    mv_margin=0.05,
    sensitivity_margin=0.3,
    bank_path=None,
    torch_threads=4,
    device='cuda',
    data_path=None,
)

PROFILES = {"smoke": SMOKE, "ci": CI, "gpu": GPU}
