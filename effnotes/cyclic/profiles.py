"""The cyclic_tradeoff chapter's profiles: one frozen :class:`Profile` per profile name.

The ``ci`` profile is what the rendered book runs (its values are the notebook's
``parameters`` cell); ``smoke`` is what the tests run; ``gpu`` is the stored run."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Profile:
    """The parameters of one run of the cyclic_tradeoff chapter.

    Budgets and schedule lengths are whole epochs of the training split (batch 64)."""

    #: seeds per method; the run uses seeds first_seed .. first_seed + seeds - 1
    seeds: int
    #: the training methods (names in :data:`effnotes.cyclic.runs.METHODS`), baseline first
    methods: tuple
    #: W, the linear warm-up, in epochs
    warmup_epochs: int
    #: T0, the first cosine cycle, in epochs
    first_cycle_epochs: int
    #: m, each cycle's length over the previous one's (an integer >= 2)
    multiplier: int
    #: cycles of the cyclic run, so troughs (curve points and standard-run budgets)
    n_cycles: int
    #: the peak learning rate of SGD (momentum 0.9, weight decay 5e-4)
    lr: float
    #: width of the digits CNN (channels of its first convolution)
    channels: int
    #: the read-off's evaluation grid around a trough, in optimiser steps
    eval_every_steps: int
    #: evaluations either side of a trough that the read-off takes the best of
    window: int
    #: PyTorch threads for the runs (0: leave PyTorch's default)
    torch_threads: int
    #: the least cost saving (standard time / cyclic time, median over (method, seed)
    #: pairs) claimed, as a ratio
    min_saving: float
    #: how far (a fraction) that saving may lie from the step-count prediction
    saving_tolerance: float
    #: "cpu", "cuda" or "auto"
    device: str
    #: the reader's images (CIFAR binary folder or ImageFolder tree); None: the digits
    data_path: str | None
    #: the first seed; a run uses seeds first_seed .. first_seed + seeds - 1, so a second,
    #: disjoint seed set is first_seed = seeds
    first_seed: int = 0
    #: whether the result claims (what the experiment finds) are asserted; correctness
    #: claims are asserted at every profile
    enforce_results: bool = True


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
    # two seeds and runs of well under a second: too small for findings, and timings on a
    # shared CPU move by more than the claims allow
    enforce_results=False,
)
CI = replace(
    SMOKE,
    seeds=3,
    methods=('baseline', 'label_smoothing', 'mixup', 'blurpool'),
    n_cycles=5,
    channels=16,
    window=3,
    min_saving=1.8,
    saving_tolerance=0.1,
    enforce_results=True,
)
GPU = replace(
    CI,
    seeds=4,
    methods=('baseline', 'label_smoothing', 'mixup', 'blurpool', 'channels_last', 'combined'),
    warmup_epochs=3,
    first_cycle_epochs=3,
    torch_threads=4,
    device='cuda',
)

PROFILES = {"smoke": SMOKE, "ci": CI, "gpu": GPU}
