"""Benchmark: how much a BLAS pool left spinning slows the MADDNESS call timed after it.

    python -m effnotes.maddness.spin_bench [--threads 2] [--repeats 100]

Times the fused MADDNESS product (``matmul(A, out=)``) in one process three ways, each call
on its own: alone; right after a NumPy float32 matrix product large enough to wake
OpenBLAS's threads; and after that product and
:func:`effnotes.idle_threads.wait_for_idle_threads`. It prints the median and 90th
percentile of each, and their ratios to the call alone, with the CPU, thread count and BLAS
named. The chapter's timings (:func:`effnotes.maddness.experiment.median_time` and the
timer of :mod:`effnotes.maddness.bench`) wait for idle threads before they time; this
command shows why.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from effnotes.validation import check_integer


@dataclass(frozen=True)
class SpinConfig:
    """``shape``: (N, D, M) of the MADDNESS product; ``ncodebooks``: its budget C;
    ``blas_size``: the side of the square NumPy product run before each call; ``threads``:
    numba's and BLAS's thread count; ``repeats``: timed calls per way; ``seed``."""

    shape: tuple[int, int, int] = (1000, 64, 10)
    ncodebooks: int = 16
    blas_size: int = 512
    threads: int = 2
    repeats: int = 100
    seed: int = 0

    def __post_init__(self):
        if len(self.shape) != 3:
            raise ValueError(f"shape must be (N, D, M), got {self.shape!r}")
        for name, value in zip(("shape N", "shape D", "shape M"), self.shape):
            check_integer(name, value, minimum=1)
        check_integer("ncodebooks", self.ncodebooks, minimum=1)
        check_integer("blas_size", self.blas_size, minimum=1)
        check_integer("threads", self.threads, minimum=1)
        check_integer("repeats", self.repeats, minimum=1)
        check_integer("seed", self.seed, minimum=0)


def _quantiles_ms(seconds: list[float]) -> tuple[float, float]:
    values = 1e3 * np.asarray(seconds)
    return float(np.median(values)), float(np.percentile(values, 90))


def run_spin_bench(cfg: SpinConfig = SpinConfig()) -> dict:
    """The three timings of the module docstring: ``{"rows": [{way, median_ms, p90_ms,
    ratio}], "info": {cpu, threads, blas, numba}, "waited_ms": median wait}``; ``ratio`` is
    the median over the median of the call alone."""
    import numba
    from threadpoolctl import threadpool_limits

    from effnotes.idle_threads import wait_for_idle_threads
    from effnotes.maddness.bench import _blas_info
    from effnotes.maddness.estimator import Maddness
    from effnotes.runtime import _cpu_model

    threadpool_limits(cfg.threads)
    numba.set_num_threads(min(cfg.threads, numba.config.NUMBA_NUM_THREADS))
    rng = np.random.default_rng(cfg.seed)
    N, D, M = cfg.shape
    A = rng.standard_normal((N, D)).astype(np.float32)
    B = rng.standard_normal((D, M)).astype(np.float32)
    big = rng.standard_normal((cfg.blas_size, cfg.blas_size)).astype(np.float32)
    est = Maddness(ncodebooks=cfg.ncodebooks).fit(A, B)
    out = np.empty((N, M), dtype=np.float32)
    est.matmul(A, out=out)
    waits: list[float] = []

    def before_alone():
        wait_for_idle_threads()

    def before_blas():
        big @ big

    def before_blas_then_wait():
        big @ big
        waits.append(wait_for_idle_threads())

    rows = []
    for way, before in (("alone", before_alone), ("right after a BLAS product", before_blas),
                        ("after a BLAS product, then waiting for idle threads",
                         before_blas_then_wait)):
        seconds = []
        for _ in range(cfg.repeats):
            before()
            start = time.perf_counter()
            est.matmul(A, out=out)
            seconds.append(time.perf_counter() - start)
        median, p90 = _quantiles_ms(seconds)
        rows.append({"way": way, "median_ms": median, "p90_ms": p90})
    for row in rows:
        row["ratio"] = row["median_ms"] / rows[0]["median_ms"]
    info = {"cpu": _cpu_model(), "threads": cfg.threads, "blas": _blas_info(),
            "numba": f"numba {numba.__version__}, {numba.get_num_threads()} threads, "
                     f"{numba.threading_layer()} threading layer"}
    return {"rows": rows, "info": info, "waited_ms": 1e3 * float(np.median(waits))}


def main(argv: list[str] | None = None) -> int:
    """The command line: ``--threads``, ``--repeats`` and ``--blas-size`` set a
    :class:`SpinConfig`; prints the three timings and their ratios; returns 0."""
    parser = argparse.ArgumentParser(prog="python -m effnotes.maddness.spin_bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=SpinConfig.threads)
    parser.add_argument("--repeats", type=int, default=SpinConfig.repeats)
    parser.add_argument("--blas-size", type=int, default=SpinConfig.blas_size)
    args = parser.parse_args(argv)
    try:
        cfg = SpinConfig(threads=args.threads, repeats=args.repeats, blas_size=args.blas_size)
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    result = run_spin_bench(cfg)
    info = result["info"]
    N, D, M = cfg.shape
    print(f"MADDNESS matmul of {N} x {D} by {D} x {M}, C = {cfg.ncodebooks}, on {info['cpu']}; "
          f"{info['numba']}; BLAS {info['blas']}; {cfg.repeats} calls per way")
    for row in result["rows"]:
        print(f"  {row['way']:<52s} median {row['median_ms']:8.3f} ms   "
              f"p90 {row['p90_ms']:8.3f} ms   {row['ratio']:6.2f}x the call alone")
    print(f"  waiting for idle threads took a median of {result['waited_ms']:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
