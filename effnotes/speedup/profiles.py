"""The speedup chapter's profiles: one frozen :class:`Profile` per profile name.

The ``ci`` profile is what the rendered book runs (its values are the notebook's
``parameters`` cell); ``smoke`` is what the tests run; ``gpu`` is the stored run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Profile:
    """The parameters of one run of the speedup chapter."""

    seeds: int
    budgets: tuple
    target_accuracy: float
    n_boot: int
    pipeline_delay_ms: float
    pipeline_batches: int
    pipeline_repeats: int
    amdahl_batches: int
    amdahl_wide: int
    amdahl_tolerance: float
    stall_tolerance: float
    timing_width: int
    timing_batch: int
    timing_min_run_time: float
    timing_tolerance: float
    enforce_timing: bool
    device: str
    data_path: str | None
    #: the first seed; a run uses seeds first_seed .. first_seed + seeds - 1, so a second,
    #: disjoint seed set is first_seed = seeds
    first_seed: int = 0


SMOKE = Profile(
    seeds=2,
    budgets=(2, 4, 8, 16),
    target_accuracy=0.9,
    n_boot=200,
    pipeline_delay_ms=1.0,
    pipeline_batches=4,
    pipeline_repeats=1,
    amdahl_batches=8,
    amdahl_wide=512,
    amdahl_tolerance=0.5,
    stall_tolerance=0.5,
    timing_width=512,
    timing_batch=64,
    timing_min_run_time=0.2,
    timing_tolerance=0.75,
    enforce_timing=False,
    device='cpu',
    data_path=None,
)
CI = Profile(
    seeds=5,
    budgets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32),
    target_accuracy=0.95,
    n_boot=2000,
    pipeline_delay_ms=1.0,
    pipeline_batches=20,
    pipeline_repeats=3,
    amdahl_batches=40,
    amdahl_wide=1024,
    amdahl_tolerance=0.15,
    stall_tolerance=0.0,
    timing_width=2048,
    timing_batch=256,
    timing_min_run_time=0.5,
    timing_tolerance=0.25,
    enforce_timing=True,
    device='cpu',
    data_path=None,
)
GPU = Profile(
    seeds=10,
    budgets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64),
    target_accuracy=0.95,
    n_boot=5000,
    pipeline_delay_ms=1.0,
    pipeline_batches=40,
    pipeline_repeats=5,
    amdahl_batches=80,
    amdahl_wide=4096,
    amdahl_tolerance=0.15,
    stall_tolerance=0.5,
    timing_width=8192,
    timing_batch=4096,
    timing_min_run_time=1.0,
    timing_tolerance=0.25,
    enforce_timing=True,
    device='cuda',
    data_path=None,
)

PROFILES = {"smoke": SMOKE, "ci": CI, "gpu": GPU}
