"""The chapter registry: chapter name -> notebook -> parameters per profile.

Every chapter notebook has one cell tagged ``parameters`` whose values are the ``ci``
profile, so a plain execution renders what CI renders. The profiles:

- ``smoke``: seconds; the tests run every chapter at it to prove it runs end to end;
- ``ci``: the rendered book on a 2-core CPU, at most a few minutes per chapter;
- ``gpu``: one modern GPU, minutes; its outputs are stored under ``results/<chapter>/``.
"""

from __future__ import annotations

import copy

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

PROFILES = ("smoke", "ci", "gpu")


@dataclass(frozen=True)
class Chapter:
    """One chapter: its registry ``name``, page ``title``, ``notebook`` path relative to the
    book folder, the ``paper`` it reproduces and the parameters of each profile."""

    name: str
    title: str
    notebook: str
    paper: str
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [p for p in PROFILES if p not in self.profiles]
        if missing:
            raise ValueError(f"chapter {self.name!r} lacks profiles {missing}")
        unknown = [p for p in self.profiles if p not in PROFILES]
        if unknown:
            raise ValueError(f"chapter {self.name!r} has unknown profiles {unknown}; use {PROFILES}")
        frozen = {k: MappingProxyType(copy.deepcopy(dict(v))) for k, v in self.profiles.items()}
        object.__setattr__(self, "profiles", MappingProxyType(frozen))

    def parameters(self, profile: str) -> dict[str, Any]:
        """The papermill parameters of ``profile``: a deep copy, so changing it (or a list in
        it) never changes the registry."""
        check_profile(profile)
        return copy.deepcopy(dict(self.profiles[profile]))

    def notebook_path(self, book_dir: Path) -> Path:
        return Path(book_dir) / self.notebook


def check_profile(profile: str) -> str:
    """``profile`` if it is one of :data:`PROFILES`; a ``ValueError`` naming them otherwise."""
    if not isinstance(profile, str) or profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {PROFILES}")
    return profile


_REGISTRY: dict[str, Chapter] = {}


def register(chapter: Chapter) -> Chapter:
    """Add a chapter; its name must be new."""
    if chapter.name in _REGISTRY:
        raise ValueError(f"a chapter named {chapter.name!r} is already registered")
    _REGISTRY[chapter.name] = chapter
    return chapter


def chapters() -> list[Chapter]:
    """All registered chapters, in book order."""
    return list(_REGISTRY.values())


def get_chapter(name: str) -> Chapter:
    """The chapter called ``name``; a clear error lists the known names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(_REGISTRY) or "(none)"
        raise KeyError(f"no chapter named {name!r}; registered chapters: {known}") from None


# --- the book's chapters, in reading order -------------------------------------------------

register(Chapter(
    name="speedup",
    title="Measuring speedups",
    notebook="speedup.ipynb",
    paper="Bartoldson, Kailkhura & Blalock, JMLR 2023",
    profiles={
        "smoke": {"seeds": 2, "budgets": [2, 4, 8, 16], "target_accuracy": 0.9, "n_boot": 200,
                  "pipeline_delay_ms": 1.0, "pipeline_batches": 4, "pipeline_repeats": 1,
                  "amdahl_batches": 8, "amdahl_wide": 512, "amdahl_tolerance": 0.5,
                  "stall_tolerance": 0.5, "timing_width": 512, "timing_batch": 64,
                  "timing_min_run_time": 0.2, "timing_tolerance": 0.75, "enforce_timing": False,
                  "device": "cpu", "data_path": None},
        "ci": {"seeds": 5, "budgets": [1, 2, 3, 4, 6, 8, 12, 16, 24, 32], "target_accuracy": 0.95,
               "n_boot": 2000, "pipeline_delay_ms": 1.0, "pipeline_batches": 20,
               "pipeline_repeats": 3, "amdahl_batches": 40, "amdahl_wide": 1024,
               "amdahl_tolerance": 0.15, "stall_tolerance": 0.0, "timing_width": 2048,
               "timing_batch": 256, "timing_min_run_time": 0.5, "timing_tolerance": 0.25,
               "enforce_timing": True, "device": "cpu", "data_path": None},
        "gpu": {"seeds": 10, "budgets": [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64],
                "target_accuracy": 0.95, "n_boot": 5000, "pipeline_delay_ms": 1.0,
                "pipeline_batches": 40, "pipeline_repeats": 5, "amdahl_batches": 80,
                "amdahl_wide": 4096, "amdahl_tolerance": 0.15, "stall_tolerance": 0.5,
                "timing_width": 8192, "timing_batch": 4096, "timing_min_run_time": 1.0,
                "timing_tolerance": 0.25, "enforce_timing": True, "device": "cuda", "data_path": None},
    },
))

_US_SMOKE = {
    "mc_samples": 4000, "corpus_bytes": 300_000, "depth_layers": 4, "depth_width": 32,
    "depth_heads": 2, "depth_batch": 2, "depth_seq": 32, "train_width": 32, "train_layers": 1,
    "train_heads": 2, "train_seq": 32, "train_batch": 4, "train_steps": 20, "lr_sp": 2.0**-7,
    "lr_mus": 2.0**-6, "weight_decay": 0.0, "sweep_widths": [32, 64], "sweep_lrs_sp": [2.0**-8, 2.0**-6],
    "sweep_lrs_mus": [2.0**-4, 2.0**-2],
    "sweep_layers": 1, "sweep_heads": 2, "sweep_seq": 32, "sweep_batch": 4, "sweep_steps": 10,
    "mc_tolerance": 0.5, "fp8_gap_tolerance": 0.2, "sp_fp8_min_gap": -1.0, "max_mus_shift": 1,
    "transfer_tolerance": 0.5, "sp_penalty_ratio": 0.0, "gpu_bench": None,
    "torch_threads": 1, "device": "cpu", "data_path": None,
}

register(Chapter(
    name="unit_scaling",
    title="μnit Scaling: FP8 training without dynamic scales",
    notebook="unit_scaling.ipynb",
    paper="Narayan et al., ICML 2025",
    profiles={
        "smoke": _US_SMOKE,
        "ci": {**_US_SMOKE, "mc_samples": 200_000, "corpus_bytes": None, "depth_layers": 24,
               "depth_width": 64, "depth_heads": 4, "depth_batch": 4, "depth_seq": 64,
               "train_width": 64, "train_layers": 2, "train_heads": 4, "train_seq": 64,
               "train_batch": 16, "train_steps": 300, "lr_sp": 2.0**-7, "lr_mus": 2.0**-3,
               "sweep_widths": [32, 64, 128], "sweep_lrs_sp": [2.0**e for e in range(-11, -4)],
               "sweep_lrs_mus": [2.0**e for e in range(-6, 1)], "sweep_layers": 2,
               "sweep_heads": 4, "sweep_seq": 64, "sweep_batch": 8, "sweep_steps": 200,
               "mc_tolerance": 0.05, "fp8_gap_tolerance": 0.02, "sp_fp8_min_gap": 0.02,
               "max_mus_shift": 2, "transfer_tolerance": 0.02, "sp_penalty_ratio": 3.0},
        "gpu": {**_US_SMOKE, "mc_samples": 1_000_000, "corpus_bytes": None, "depth_layers": 24,
                "depth_width": 256, "depth_heads": 4, "depth_batch": 8, "depth_seq": 128,
                "train_width": 256, "train_layers": 4, "train_heads": 4, "train_seq": 128,
                "train_batch": 32, "train_steps": 600, "lr_sp": 2.0**-8, "lr_mus": 2.0**-3,
                "sweep_widths": [128, 256, 512, 1024],
                "sweep_lrs_sp": [2.0**e for e in range(-14, -5)],
                "sweep_lrs_mus": [2.0**e for e in range(-7, 1)], "sweep_layers": 2,
                "sweep_heads": 4, "sweep_seq": 64, "sweep_batch": 16, "sweep_steps": 300,
                "mc_tolerance": 0.05, "fp8_gap_tolerance": 0.02, "sp_fp8_min_gap": 0.02,
                "max_mus_shift": 2, "transfer_tolerance": 0.02, "sp_penalty_ratio": 3.0,
                "torch_threads": 4,
                "device": "cuda",
                # step times: python -m effnotes.unit_scaling.gpu_bench --step-times --store
                "gpu_bench": {"throughput": None,
                              "parity": {"d_model": 512, "n_layers": 8, "n_heads": 8,
                                         "seq_len": 512, "batch_size": 32, "steps": 800,
                                         "warmup_steps": 80, "optimizer": "lion",
                                         "lr": 2e-2, "sp_lr": 2e-4, "base_width": 128,
                                         "seeds": [0, 1, 2]}}},
    },
))

register(Chapter(
    name="masking_schedules",
    title="Dynamic masking-rate schedules for MLM pretraining",
    notebook="masking_schedules.ipynb",
    paper="Ankner, Saphra, Blalock, Frankle & Leavitt, EACL 2024",
    profiles={
        "smoke": {"seeds": 2, "arms": ["constant-0.15", "linear-0.30-0.15", "linear-0.15-0.30"],
                  "vocab_size": 512, "seq_len": 16, "d_model": 16, "n_layers": 1, "n_heads": 2,
                  "d_ff": 32, "dropout": 0.0, "steps": 30, "batch_size": 16, "lr": 5e-3, "eval_every": 10,
                  "n_eval": 64, "n_classes": 4, "n_boot": 200, "min_speedup": 1.1,
                  "rate_tolerance": 0.03, "strict_claims": False, "torch_threads": 1, "device": "cpu", "data_path": None},
        "ci": {"seeds": 3, "arms": ["constant-0.15", "constant-0.30", "linear-0.30-0.15",
                                    "linear-0.15-0.30"],
               "vocab_size": 1024, "seq_len": 32, "d_model": 64, "n_layers": 2, "n_heads": 2,
               "d_ff": 128, "dropout": 0.0, "steps": 500, "batch_size": 64, "lr": 5e-3, "eval_every": 25,
               "n_eval": 256, "n_classes": 8, "n_boot": 2000, "min_speedup": 1.1,
               "rate_tolerance": 0.005, "strict_claims": True, "torch_threads": 2, "device": "cpu", "data_path": None},
        "gpu": {"seeds": 5, "arms": ["constant-0.15", "constant-0.30", "linear-0.30-0.15",
                                     "linear-0.15-0.30", "cosine-0.30-0.15"],
                "vocab_size": 4096, "seq_len": 128, "d_model": 256, "n_layers": 4, "n_heads": 4,
                "d_ff": 1024, "dropout": 0.1, "steps": 700, "batch_size": 64, "lr": 1e-3,
                "eval_every": 40,
                "n_eval": 400, "n_classes": 8, "n_boot": 5000, "min_speedup": 1.1,
                "rate_tolerance": 0.005, "strict_claims": True, "torch_threads": 4, "device": "cuda", "data_path": None},
    },
))

register(Chapter(
    name="cyclic_tradeoff",
    title="Tradeoff curves from one run: multiplicative cyclic learning rates",
    notebook="cyclic_tradeoff.ipynb",
    paper="Portes, Blalock, Stephenson & Frankle, 2022",
    profiles={
        "smoke": {"seeds": 2, "methods": ["baseline", "mixup"], "warmup_epochs": 1,
                  "first_cycle_epochs": 1, "multiplier": 2, "n_cycles": 4, "lr": 0.1,
                  "channels": 8, "eval_every_steps": 4, "window": 2, "torch_threads": 1,
                  "min_saving": 1.5, "saving_tolerance": 0.25, "device": "cpu", "data_path": None},
        "ci": {"seeds": 3, "methods": ["baseline", "label_smoothing", "mixup", "blurpool"],
               "warmup_epochs": 1, "first_cycle_epochs": 1, "multiplier": 2, "n_cycles": 5,
               "lr": 0.1, "channels": 16, "eval_every_steps": 4, "window": 3,
               "torch_threads": 1, "min_saving": 1.8, "saving_tolerance": 0.10,
               "device": "cpu", "data_path": None},
        "gpu": {"seeds": 4, "methods": ["baseline", "label_smoothing", "mixup", "blurpool",
                                        "channels_last", "combined"],
                "warmup_epochs": 3, "first_cycle_epochs": 3, "multiplier": 2, "n_cycles": 5,
                "lr": 0.1, "channels": 16, "eval_every_steps": 4, "window": 3,
                "torch_threads": 4, "min_saving": 1.8, "saving_tolerance": 0.10,
                "device": "cuda", "data_path": None},
    },
))

_MADDNESS_TARGETS = [["row-major", 10, 2.0], ["row-major", 100, 4.0],
                     ["column-major", 10, 5.0], ["column-major", 100, 8.0]]

register(Chapter(
    name="maddness",
    title="MADDNESS from scratch: multiplying matrices without multiplying",
    notebook="maddness.ipynb",
    paper="Blalock & Guttag, ICML 2021",
    profiles={
        "smoke": {"hidden": 64, "budgets": [4, 16], "lambdas": [1.0], "time_rows": 1000,
                  "time_repeats": 3, "ucr_sets": ["GunPoint"], "ucr_codebooks": 16,
                  "tradeoff_shape": [1000, 64, 10], "train_rows": 500,
                  "bench_shapes": [[2000, 64, 10]], "bench_repeats": 3, "bench_codebooks": 4,
                  "threads": 2, "min_relative_accuracy": 0.9, "speed_targets": [],
                  "bias_tolerance": 0.5, "data_path": None},
        "ci": {"hidden": 64, "budgets": [1, 2, 4, 8, 16, 32, 64],
               "lambdas": [0.0, 0.1, 1.0, 10.0, 100.0], "time_rows": 10000, "time_repeats": 10,
               "ucr_sets": ["OSULeaf", "ItalyPowerDemand", "GunPoint", "ArrowHead", "ACSF1"],
               "ucr_codebooks": 16, "tradeoff_shape": [5000, 256, 10], "train_rows": 4000,
               "bench_shapes": [[10000, 512, 10], [10000, 512, 100]], "bench_repeats": 30,
               "bench_codebooks": 16, "threads": 2, "min_relative_accuracy": 0.985,
               "speed_targets": _MADDNESS_TARGETS, "bias_tolerance": 0.1, "data_path": None},
        "gpu": {"hidden": 64, "budgets": [1, 2, 4, 8, 16, 32, 64],
                "lambdas": [0.0, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0], "time_rows": 100000,
                "time_repeats": 10, "ucr_sets": [], "ucr_codebooks": 16,
                "tradeoff_shape": [20000, 512, 10], "train_rows": 10000,
                "bench_shapes": [[10000, 512, 10], [10000, 512, 100], [100000, 512, 10],
                                 [100000, 512, 100]],
                "bench_repeats": 50, "bench_codebooks": 16, "threads": 16,
                "min_relative_accuracy": 0.985, "speed_targets": _MADDNESS_TARGETS,
                "bias_tolerance": 0.1, "data_path": None},
    },
))

register(Chapter(
    name="pruning",
    title="The state of pruning",
    notebook="pruning.ipynb",
    paper="Blalock, Gonzalez Ortiz, Frankle & Guttag, MLSys 2020",
    profiles={
        "smoke": {"seeds": 2, "compressions": [1, 2, 8, 16], "flip_compressions": [8],
                  "channels": 8, "hidden": 32, "pretrain_epochs": 4, "finetune_epochs": 1,
                  "timing_batch": 256, "timing_min_run_time": 0.05, "noise_floor": 0.03,
                  "device": "cpu", "data_path": None},
        "ci": {"seeds": 3, "compressions": [1, 2, 4, 8, 16, 32], "flip_compressions": [4, 8, 16, 32],
               "channels": 16, "hidden": 64, "pretrain_epochs": 15, "finetune_epochs": 5,
               "timing_batch": 1024, "timing_min_run_time": 0.5, "noise_floor": 0.005,
               "device": "cpu", "data_path": None},
        "gpu": {"seeds": 8, "compressions": [1, 2, 4, 8, 16, 32, 64],
                "flip_compressions": [4, 8, 16, 32, 64], "channels": 64, "hidden": 256,
                "pretrain_epochs": 30, "finetune_epochs": 10, "timing_batch": 8192,
                "timing_min_run_time": 1.0, "noise_floor": 0.005, "device": "cuda", "data_path": None},
    },
))

register(Chapter(
    name="mil_ecg",
    title="Multiple instance learning for ECG risk",
    notebook="mil_ecg.ipynb",
    paper="Shanmugam, Blalock & Guttag, MLHC 2019",
    profiles={
        "smoke": {"n_patients": 160, "n_beats": 40, "instance_beats": 2, "witness_positive": 0.3,
                  "witness_negative_max": 0.02, "amplitude": 0.4, "cohort_seed": 0, "seeds": 1,
                  "test_fraction": 0.5, "archs": ["dense", "cnn"],
                  "poolings": ["mean", "max", "top20"], "attention": True,
                  "baselines": ["hrv", "mean_beat", "morph_var"],
                  "epochs": {"dense": 6, "cnn": 2, "attention": 2}, "batch_size": 128,
                  "lr": 0.003, "attention_lr": 0.001, "sensitivity_witness": [0.05, 0.2],
                  "sensitivity_beats": [20, 40],
                  "min_mil_auc": 0.6, "null_band": 0.3, "max_instance_auc": 0.8,
                  "min_witness_auc": 0.5, "pooling_margin": -1.0, "min_risk_ratio": 1.0,
                  "min_cox_low": 0.0, "mv_margin": -1.0, "sensitivity_margin": -1.0, "bank_path": None, "torch_threads": 1,
                  "device": "cpu", "data_path": None},
        "ci": {"n_patients": 600, "n_beats": 200, "instance_beats": 2, "witness_positive": 0.1,
               "witness_negative_max": 0.02, "amplitude": 0.2, "cohort_seed": 0, "seeds": 3,
               "test_fraction": 0.5, "archs": ["dense", "cnn"],
               "poolings": ["mean", "max", "top20"], "attention": True,
               "baselines": ["hrv", "mean_beat", "morph_var"],
               "epochs": {"dense": 20, "cnn": 12, "attention": 40}, "batch_size": 256, "lr": 0.003,
               "attention_lr": 0.001,
               "sensitivity_witness": [0.03, 0.06, 0.1, 0.2], "sensitivity_beats": [50, 100, 200],
               "min_mil_auc": 0.85, "null_band": 0.07, "max_instance_auc": 0.65,
               "min_witness_auc": 0.8, "pooling_margin": 0.05, "min_risk_ratio": 3.0,
               "min_cox_low": 1.0, "mv_margin": 0.05, "sensitivity_margin": 0.3, "bank_path": None, "torch_threads": 1, "device": "cpu", "data_path": None},
        "gpu": {"n_patients": 3000, "n_beats": 1000, "instance_beats": 2, "witness_positive": 0.1,
                "witness_negative_max": 0.02, "amplitude": 0.2, "cohort_seed": 0, "seeds": 5,
                "test_fraction": 0.5, "archs": ["dense", "cnn"],
                "poolings": ["mean", "max", "top10", "top20"], "attention": True,
                "baselines": ["mean_beat", "morph_var"],
                "epochs": {"dense": 8, "cnn": 6, "attention": 20}, "batch_size": 1024, "lr": 0.003,
                "attention_lr": 0.001,
                "sensitivity_witness": [0.03, 0.06, 0.1, 0.2],
                "sensitivity_beats": [50, 200, 1000], "min_mil_auc": 0.85, "null_band": 0.07,
                "max_instance_auc": 0.65, "min_witness_auc": 0.8, "pooling_margin": 0.05,
                "min_risk_ratio": 3.0, "min_cox_low": 1.0, "mv_margin": 0.05, "sensitivity_margin": 0.3, "bank_path": None,
                "torch_threads": 4, "device": "cuda", "data_path": None},
    },
))
