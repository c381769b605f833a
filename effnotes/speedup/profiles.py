"""The speedup chapter's profiles: one frozen :class:`Profile` per profile name.

The ``ci`` profile is what the rendered book runs (its values are the notebook's
``parameters`` cell); ``smoke`` is what the tests run; ``gpu`` is the stored run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Profile:
    """The parameters of one run of the speedup chapter (times in seconds unless named
    ``_ms``; widths and batches in units and rows)."""

    #: seeds per (recipe, budget) cell of the sweep
    seeds: int
    #: training budgets of the sweep, in epochs
    budgets: tuple
    #: validation accuracy q at which the speedup S(q) is read off (a fraction)
    target_accuracy: float
    #: bootstrap resamples of the speedup's interval
    n_boot: int
    #: per-sample loading delay injected into the input pipeline, milliseconds
    pipeline_delay_ms: float
    #: batches (of 64 samples) per timed epoch of the pipeline experiments
    pipeline_batches: int
    #: timed epochs per pipeline measurement (their median is kept)
    pipeline_repeats: int
    #: batches per timed epoch of the Amdahl experiment
    amdahl_batches: int
    #: hidden width of the Amdahl experiment's wide MLP (the narrow one has a quarter)
    amdahl_wide: int
    #: largest relative error ``|measured / predicted - 1|`` of Amdahl's prediction claimed
    amdahl_tolerance: float
    #: how far the stall claims may miss, as a fraction (of the steady compute time for the
    #: compute-after-a-stall claim, of the injected delay for the thread comparison)
    stall_tolerance: float
    #: the timed linear layer: weight of ``timing_width`` x ``timing_width``
    timing_width: int
    #: rows of the timed layer's input batch
    timing_batch: int
    #: seconds of timing per layer variant (over all interleaved rounds)
    timing_min_run_time: float
    #: how much slower (a fraction) the sparse layer on the dense kernel may be than the dense
    #: layer, or faster by at most the inverse, for the claim that they run alike
    timing_tolerance: float
    #: whether the claims resting on wall-clock time are enforced (correctness claims and the
    #: epoch-count speedup always are): only at gpu, alone on its machine; at ci (the shared
    #: 2-core machine that builds the book) and smoke they are shown, not asserted
    enforce_timing: bool
    #: "cpu", "cuda" or "auto"; the GPU findings are enforced where it is "cuda"
    device: str
    #: the reader's images (a CIFAR binary folder or an ImageFolder tree), or None for the
    #: bundled digits
    data_path: str | None
    #: the first seed; a run uses seeds first_seed .. first_seed + seeds - 1, so a second,
    #: disjoint seed set is first_seed = seeds
    first_seed: int = 0

    @property
    def seed_list(self) -> list[int]:
        """The seeds this profile runs: ``first_seed .. first_seed + seeds - 1``."""
        return list(range(self.first_seed, self.first_seed + self.seeds))


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
CI = replace(
    SMOKE,
    seeds=5,
    budgets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32),
    target_accuracy=0.95,
    n_boot=2000,
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
)
GPU = replace(
    CI,
    seeds=10,
    budgets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64),
    n_boot=5000,
    pipeline_batches=40,
    pipeline_repeats=5,
    amdahl_batches=80,
    amdahl_wide=4096,
    stall_tolerance=0.5,
    timing_width=8192,
    timing_batch=4096,
    timing_min_run_time=1.0,
    enforce_timing=True,
    device='cuda',
)

PROFILES = {"smoke": SMOKE, "ci": CI, "gpu": GPU}
