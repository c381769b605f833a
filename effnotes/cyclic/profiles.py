"""The cyclic_tradeoff chapter's profiles: one frozen :class:`Profile` per profile name.

The ``ci`` profile is what the rendered book runs (its values are the notebook's
``parameters`` cell); ``smoke`` is what the tests run; ``gpu`` is the stored run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Profile:
    """The parameters of one run of the cyclic_tradeoff chapter."""

    seeds: int
    methods: tuple
    warmup_epochs: int
    first_cycle_epochs: int
    multiplier: int
    n_cycles: int
    lr: float
    channels: int
    eval_every_steps: int
    window: int
    torch_threads: int
    min_saving: float
    saving_tolerance: float
    device: str
    data_path: str | None
    #: the first seed; a run uses seeds first_seed .. first_seed + seeds - 1, so a second,
    #: disjoint seed set is first_seed = seeds
    first_seed: int = 0


SMOKE = Profile(
    seeds=2,
    methods=('baseline', 'mixup'),
    warmup_epochs=1,
    first_cycle_epochs=1,
    multiplier=2,
    n_cycles=4,
    lr=0.1,
    channels=8,
    eval_every_steps=4,
    window=2,
    torch_threads=1,
    min_saving=1.5,
    saving_tolerance=0.25,
    device='cpu',
    data_path=None,
)
CI = Profile(
    seeds=3,
    methods=('baseline', 'label_smoothing', 'mixup', 'blurpool'),
    warmup_epochs=1,
    first_cycle_epochs=1,
    multiplier=2,
    n_cycles=5,
    lr=0.1,
    channels=16,
    eval_every_steps=4,
    window=3,
    torch_threads=1,
    min_saving=1.8,
    saving_tolerance=0.1,
    device='cpu',
    data_path=None,
)
GPU = Profile(
    seeds=4,
    methods=('baseline', 'label_smoothing', 'mixup', 'blurpool', 'channels_last', 'combined'),
    warmup_epochs=3,
    first_cycle_epochs=3,
    multiplier=2,
    n_cycles=5,
    lr=0.1,
    channels=16,
    eval_every_steps=4,
    window=3,
    torch_threads=4,
    min_saving=1.8,
    saving_tolerance=0.1,
    device='cuda',
    data_path=None,
)

PROFILES = {"smoke": SMOKE, "ci": CI, "gpu": GPU}
