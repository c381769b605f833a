"""The maddness chapter's profiles: one frozen :class:`Profile` per profile name.

The ``ci`` profile is what the rendered book runs (its values are the notebook's
``parameters`` cell); ``smoke`` is what the tests run; ``gpu`` is the stored run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Profile:
    """The parameters of one run of the maddness chapter."""

    #: hidden units of the digits MLP whose last layer (hidden x 10) is approximated
    hidden: int
    #: codebook counts C (and sketch widths for RandGauss and PCA) on digits and in the
    #: speed-against-accuracy comparison
    budgets: tuple
    #: ridge penalties lambda of the prototype refit, for the codebooks-and-lambda grid
    lambdas: tuple
    #: rows of digits activations (tiled) that each grid point's matmul is timed on
    time_rows: int
    #: calls per median time in the grid and in the speed-against-accuracy comparison
    time_repeats: int
    #: bundled UCR sets scored (empty: none; with data_path, the archive's sets instead)
    ucr_sets: tuple
    #: codebooks C on the UCR sets
    ucr_codebooks: int
    #: (N, D, M) of the synthetic product in the speed-against-accuracy comparison
    tradeoff_shape: tuple
    #: training rows for the synthetic products (comparison and benchmark)
    train_rows: int
    #: (N, D, M) shapes of the speed benchmark against NumPy's float32 matmul
    bench_shapes: tuple
    #: calls per median in the benchmark (warm and cold each)
    bench_repeats: int
    #: codebooks C in the benchmark
    bench_codebooks: int
    #: threads for numba and for BLAS (the same on both sides)
    threads: int
    #: the least relative accuracy (approximate / exact) on digits at C = 16
    min_relative_accuracy: float
    #: (layout, M, least warm speedup over NumPy float32) targets, checked at every timed N
    speed_targets: tuple
    #: the largest mean error (in 8-bit table units) the bias correction may leave
    bias_tolerance: float
    #: a local UCR/UEA archive folder (None: the sets bundled with aeon)
    data_path: str | None
    #: whether the speed targets are asserted: at gpu (a machine of its own); at ci (the
    #: shared 2-core machine that builds the book) and smoke they are shown, not asserted
    enforce_speed: bool

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
    speed_targets=(('row-major', 10, 2.0), ('row-major', 100, 4.0), ('column-major', 10, 5.0), ('column-major', 100, 8.0)),
    bias_tolerance=0.5,
    data_path=None,
    enforce_speed=False,
)
CI = replace(
    SMOKE,
    budgets=(1, 2, 4, 8, 16, 32, 64),
    lambdas=(0.0, 0.1, 1.0, 10.0, 100.0),
    time_rows=10000,
    time_repeats=10,
    ucr_sets=('OSULeaf', 'ItalyPowerDemand', 'GunPoint', 'ArrowHead', 'ACSF1'),
    tradeoff_shape=(5000, 256, 10),
    train_rows=4000,
    bench_shapes=((10000, 512, 10), (10000, 512, 100)),
    bench_repeats=30,
    bench_codebooks=16,
    min_relative_accuracy=0.985,
    bias_tolerance=0.1,
)
GPU = replace(
    CI,
    lambdas=(0.0, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0),
    time_rows=100000,
    ucr_sets=(),
    tradeoff_shape=(20000, 512, 10),
    train_rows=10000,
    bench_shapes=((10000, 512, 10), (10000, 512, 100), (100000, 512, 10), (100000, 512, 100)),
    bench_repeats=50,
    threads=16,
    enforce_speed=True,
)

PROFILES = {"smoke": SMOKE, "ci": CI, "gpu": GPU}
