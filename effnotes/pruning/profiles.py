"""The pruning chapter's profiles: one frozen :class:`Profile` per profile name.

The ``ci`` profile is what the rendered book runs (its values are the notebook's
``parameters`` cell); ``smoke`` is what the tests run; ``gpu`` is the stored run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Profile:
    """The parameters of one run of the pruning chapter."""

    seeds: int
    compressions: tuple
    flip_compressions: tuple
    channels: int
    hidden: int
    pretrain_epochs: int
    finetune_epochs: int
    timing_batch: int
    timing_min_run_time: float
    noise_floor: float
    device: str
    data_path: str | None
    #: the first seed; a run uses seeds first_seed .. first_seed + seeds - 1, so a second,
    #: disjoint seed set is first_seed = seeds
    first_seed: int = 0


SMOKE = Profile(
    seeds=2,
    compressions=(1, 2, 8, 16),
    flip_compressions=(8,),
    channels=8,
    hidden=32,
    pretrain_epochs=4,
    finetune_epochs=1,
    timing_batch=256,
    timing_min_run_time=0.05,
    noise_floor=0.03,
    device='cpu',
    data_path=None,
)
CI = Profile(
    seeds=3,
    compressions=(1, 2, 4, 8, 16, 32),
    flip_compressions=(4, 8, 16, 32),
    channels=16,
    hidden=64,
    pretrain_epochs=15,
    finetune_epochs=5,
    timing_batch=1024,
    timing_min_run_time=0.5,
    noise_floor=0.005,
    device='cpu',
    data_path=None,
)
GPU = Profile(
    seeds=8,
    compressions=(1, 2, 4, 8, 16, 32, 64),
    flip_compressions=(4, 8, 16, 32, 64),
    channels=64,
    hidden=256,
    pretrain_epochs=30,
    finetune_epochs=10,
    timing_batch=8192,
    timing_min_run_time=1.0,
    noise_floor=0.005,
    device='cuda',
    data_path=None,
)

PROFILES = {"smoke": SMOKE, "ci": CI, "gpu": GPU}
