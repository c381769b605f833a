"""The chapter registry: chapter name -> notebook -> parameters per profile.

Every chapter notebook has one cell tagged ``parameters`` whose values are the ``ci``
profile, so a plain execution renders what CI renders. The profiles:

- ``smoke``: seconds; the tests run every chapter at it to prove it runs end to end;
- ``ci``: the rendered book on a 2-core CPU, at most a few minutes per chapter;
- ``gpu``: one modern GPU, minutes; its outputs are stored under ``results/<chapter>/``.
"""

from __future__ import annotations

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
        frozen = {k: MappingProxyType(dict(v)) for k, v in self.profiles.items()}
        object.__setattr__(self, "profiles", MappingProxyType(frozen))

    def parameters(self, profile: str) -> dict[str, Any]:
        """The papermill parameters of ``profile`` (a fresh dict)."""
        check_profile(profile)
        return dict(self.profiles[profile])

    def notebook_path(self, book_dir: Path) -> Path:
        return Path(book_dir) / self.notebook


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
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
                  "timing_min_run_time": 0.2, "timing_tolerance": 0.75, "device": "cpu"},
        "ci": {"seeds": 5, "budgets": [1, 2, 3, 4, 6, 8, 12, 16, 24, 32], "target_accuracy": 0.95,
               "n_boot": 2000, "pipeline_delay_ms": 1.0, "pipeline_batches": 20,
               "pipeline_repeats": 3, "amdahl_batches": 40, "amdahl_wide": 1024,
               "amdahl_tolerance": 0.15, "stall_tolerance": 0.0, "timing_width": 2048,
               "timing_batch": 256, "timing_min_run_time": 0.5, "timing_tolerance": 0.25,
               "device": "cpu"},
        "gpu": {"seeds": 10, "budgets": [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64],
                "target_accuracy": 0.95, "n_boot": 5000, "pipeline_delay_ms": 1.0,
                "pipeline_batches": 40, "pipeline_repeats": 5, "amdahl_batches": 80,
                "amdahl_wide": 4096, "amdahl_tolerance": 0.15, "stall_tolerance": 0.5,
                "timing_width": 8192, "timing_batch": 4096, "timing_min_run_time": 1.0,
                "timing_tolerance": 0.25, "device": "cuda"},
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
                  "rate_tolerance": 0.03, "strict_claims": False, "torch_threads": 1, "device": "cpu"},
        "ci": {"seeds": 3, "arms": ["constant-0.15", "constant-0.30", "linear-0.30-0.15",
                                    "linear-0.15-0.30"],
               "vocab_size": 1024, "seq_len": 32, "d_model": 64, "n_layers": 2, "n_heads": 2,
               "d_ff": 128, "dropout": 0.0, "steps": 500, "batch_size": 64, "lr": 5e-3, "eval_every": 25,
               "n_eval": 256, "n_classes": 8, "n_boot": 2000, "min_speedup": 1.1,
               "rate_tolerance": 0.005, "strict_claims": True, "torch_threads": 2, "device": "cpu"},
        "gpu": {"seeds": 5, "arms": ["constant-0.15", "constant-0.30", "linear-0.30-0.15",
                                     "linear-0.15-0.30", "cosine-0.30-0.15"],
                "vocab_size": 4096, "seq_len": 128, "d_model": 256, "n_layers": 4, "n_heads": 4,
                "d_ff": 1024, "dropout": 0.1, "steps": 1200, "batch_size": 64, "lr": 1e-3,
                "eval_every": 40,
                "n_eval": 400, "n_classes": 8, "n_boot": 5000, "min_speedup": 1.1,
                "rate_tolerance": 0.005, "strict_claims": True, "torch_threads": 4, "device": "cuda"},
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
                  "min_saving": 1.5, "device": "cpu"},
        "ci": {"seeds": 3, "methods": ["baseline", "label_smoothing", "mixup", "blurpool"],
               "warmup_epochs": 1, "first_cycle_epochs": 1, "multiplier": 2, "n_cycles": 5,
               "lr": 0.1, "channels": 16, "eval_every_steps": 4, "window": 3,
               "torch_threads": 1, "min_saving": 1.8, "device": "cpu"},
        "gpu": {"seeds": 4, "methods": ["baseline", "label_smoothing", "mixup", "blurpool",
                                        "channels_last", "combined"],
                "warmup_epochs": 3, "first_cycle_epochs": 3, "multiplier": 2, "n_cycles": 5,
                "lr": 0.1, "channels": 16, "eval_every_steps": 4, "window": 3,
                "torch_threads": 4, "min_saving": 1.8, "device": "cuda"},
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
                  "device": "cpu"},
        "ci": {"seeds": 3, "compressions": [1, 2, 4, 8, 16, 32], "flip_compressions": [4, 8, 16, 32],
               "channels": 16, "hidden": 64, "pretrain_epochs": 15, "finetune_epochs": 5,
               "timing_batch": 1024, "timing_min_run_time": 0.5, "noise_floor": 0.005,
               "device": "cpu"},
        "gpu": {"seeds": 8, "compressions": [1, 2, 4, 8, 16, 32, 64],
                "flip_compressions": [4, 8, 16, 32, 64], "channels": 64, "hidden": 256,
                "pretrain_epochs": 30, "finetune_epochs": 10, "timing_batch": 8192,
                "timing_min_run_time": 1.0, "noise_floor": 0.005, "device": "cuda"},
    },
))
