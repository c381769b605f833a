"""The maddness chapter's profiles: one frozen :class:`Profile` per profile name.

The ``ci`` profile is what the rendered book runs (its values are the notebook's
``parameters`` cell); ``smoke`` is what the tests run; ``gpu`` is the stored run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Profile:
    """The parameters of one run of the maddness chapter."""

    hidden: int
    budgets: tuple
    lambdas: tuple
    time_rows: int
    time_repeats: int
    ucr_sets: tuple
    ucr_codebooks: int
    tradeoff_shape: tuple
    train_rows: int
    bench_shapes: tuple
    bench_repeats: int
    bench_codebooks: int
    threads: int
    min_relative_accuracy: float
    speed_targets: tuple
    bias_tolerance: float
    data_path: str | None


SMOKE = Profile(
    hidden=64,
    budgets=(4, 16),
    lambdas=(1.0,),
    time_rows=1000,
    time_repeats=3,
    ucr_sets=('GunPoint',),
    ucr_codebooks=16,
    tradeoff_shape=(1000, 64, 10),
    train_rows=500,
    bench_shapes=((2000, 64, 10),),
    bench_repeats=3,
    bench_codebooks=4,
    threads=2,
    min_relative_accuracy=0.9,
    speed_targets=(),
    bias_tolerance=0.5,
    data_path=None,
)
CI = Profile(
    hidden=64,
    budgets=(1, 2, 4, 8, 16, 32, 64),
    lambdas=(0.0, 0.1, 1.0, 10.0, 100.0),
    time_rows=10000,
    time_repeats=10,
    ucr_sets=('OSULeaf', 'ItalyPowerDemand', 'GunPoint', 'ArrowHead', 'ACSF1'),
    ucr_codebooks=16,
    tradeoff_shape=(5000, 256, 10),
    train_rows=4000,
    bench_shapes=((10000, 512, 10), (10000, 512, 100)),
    bench_repeats=30,
    bench_codebooks=16,
    threads=2,
    min_relative_accuracy=0.985,
    speed_targets=(('row-major', 10, 2.0), ('row-major', 100, 4.0), ('column-major', 10, 5.0), ('column-major', 100, 8.0)),
    bias_tolerance=0.1,
    data_path=None,
)
GPU = Profile(
    hidden=64,
    budgets=(1, 2, 4, 8, 16, 32, 64),
    lambdas=(0.0, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0),
    time_rows=100000,
    time_repeats=10,
    ucr_sets=(),
    ucr_codebooks=16,
    tradeoff_shape=(20000, 512, 10),
    train_rows=10000,
    bench_shapes=((10000, 512, 10), (10000, 512, 100), (100000, 512, 10), (100000, 512, 100)),
    bench_repeats=50,
    bench_codebooks=16,
    threads=16,
    min_relative_accuracy=0.985,
    speed_targets=(('row-major', 10, 2.0), ('row-major', 100, 4.0), ('column-major', 10, 5.0), ('column-major', 100, 8.0)),
    bias_tolerance=0.1,
    data_path=None,
)

PROFILES = {"smoke": SMOKE, "ci": CI, "gpu": GPU}
