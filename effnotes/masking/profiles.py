"""The masking_schedules chapter's profiles: one frozen :class:`Profile` per profile name.

The ``ci`` profile is what the rendered book runs (its values are the notebook's
``parameters`` cell); ``smoke`` is what the tests run; ``gpu`` is the stored run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Profile:
    """The parameters of one run of the masking_schedules chapter."""

    seeds: int
    arms: tuple
    vocab_size: int
    seq_len: int
    d_model: int
    n_layers: int
    n_heads: int
    d_ff: int
    dropout: float
    steps: int
    batch_size: int
    lr: float
    eval_every: int
    n_eval: int
    n_classes: int
    n_boot: int
    min_speedup: float
    rate_tolerance: float
    strict_claims: bool
    torch_threads: int
    device: str
    data_path: str | None
    #: the first seed; a run uses seeds first_seed .. first_seed + seeds - 1, so a second,
    #: disjoint seed set is first_seed = seeds
    first_seed: int = 0


SMOKE = Profile(
    seeds=2,
    arms=('constant-0.15', 'linear-0.30-0.15', 'linear-0.15-0.30'),
    vocab_size=512,
    seq_len=16,
    d_model=16,
    n_layers=1,
    n_heads=2,
    d_ff=32,
    dropout=0.0,
    steps=30,
    batch_size=16,
    lr=0.005,
    eval_every=10,
    n_eval=64,
    n_classes=4,
    n_boot=200,
    min_speedup=1.1,
    rate_tolerance=0.03,
    strict_claims=False,
    torch_threads=1,
    device='cpu',
    data_path=None,
)
CI = Profile(
    seeds=3,
    arms=('constant-0.15', 'constant-0.30', 'linear-0.30-0.15', 'linear-0.15-0.30'),
    vocab_size=1024,
    seq_len=32,
    d_model=64,
    n_layers=2,
    n_heads=2,
    d_ff=128,
    dropout=0.0,
    steps=500,
    batch_size=64,
    lr=0.005,
    eval_every=25,
    n_eval=256,
    n_classes=8,
    n_boot=2000,
    min_speedup=1.1,
    rate_tolerance=0.005,
    strict_claims=True,
    torch_threads=2,
    device='cpu',
    data_path=None,
)
GPU = Profile(
    seeds=5,
    arms=('constant-0.15', 'constant-0.30', 'linear-0.30-0.15', 'linear-0.15-0.30', 'cosine-0.30-0.15'),
    vocab_size=4096,
    seq_len=128,
    d_model=256,
    n_layers=4,
    n_heads=4,
    d_ff=1024,
    dropout=0.1,
    steps=700,
    batch_size=64,
    lr=0.001,
    eval_every=40,
    n_eval=400,
    n_classes=8,
    n_boot=5000,
    min_speedup=1.1,
    rate_tolerance=0.005,
    strict_claims=True,
    torch_threads=4,
    device='cuda',
    data_path=None,
)

PROFILES = {"smoke": SMOKE, "ci": CI, "gpu": GPU}
