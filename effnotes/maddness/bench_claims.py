"""What MADDNESS's two benchmarks claim, judged the same way on a live run and a stored file.

- :func:`bench_claims` judges ``python -m effnotes.maddness.bench`` (stored as
  ``results/maddness/bench-*.json``, e.g. ``bench-2core.json``): est.matmul(A) and the raw
  fused kernel against NumPy's float32 matmul on the same number of threads.
- :func:`threads_claims` judges ``python -m effnotes.maddness.threads`` (stored as
  ``results/maddness/threads-*.json``): the thread sweep.

Each returns a claims table (see :mod:`effnotes.claims`) from the benchmark's result, a
mapping: the dict the benchmark returns or a stored file's ``data``. Every threshold was
fixed in code before the runs: the speed targets of the chapter's profiles
(:attr:`~effnotes.maddness.profiles.Profile.speed_targets`; the ``ci`` profile's for the
2-core machine that the benchmark is made for, the ``gpu`` profile's for the 16 cores of
the many-thread sweep), the goals for ``est.matmul(A)``
(:data:`effnotes.maddness.claims.CALL_GOALS`), the quiet machine of
:data:`effnotes.maddness.bench.QUIET_LOAD` and the thread-scaling goal
:data:`effnotes.maddness.threads.SCALING_GOAL`.

Timing claims are shown, never enforced: the chapter asserts speed only at its ``gpu``
profile, and a benchmark is timed wherever it is run. What is enforced is that the benchmark
measured what it says it measured (both sides on the threads asked for; every cell of the
sweep timed).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import pandas as pd

from effnotes.chapters import get_chapter
from effnotes.claims import Claim, claims_table
from effnotes.maddness.bench import LAYOUT_NAMES, QUIET_LOAD, RAW_KERNEL
from effnotes.maddness.claims import speed_claims
from effnotes.maddness.threads import CASES, SCALING_GOAL, scaling_goal
from effnotes.results import as_frame
from effnotes.stored_runs import Benchmark

NAN = float("nan")
#: the methods the thread sweep times at every thread count
SWEPT_METHODS = ("numpy float32 matmul", RAW_KERNEL, "maddness matmul", "maddness matmul(out=)")
#: the rows of N the scaling goal is stated at
GOAL_ROWS = 100000


def _data(result) -> Mapping:
    if not isinstance(result, Mapping):
        raise TypeError(f"result must be a benchmark's result (a mapping, or a stored file's "
                        f"data), got {type(result).__name__}")
    missing = [key for key in ("table", "hardware", "config") if key not in result]
    if missing:
        raise ValueError(f"result is not a benchmark's result: it lacks {missing}")
    return result


def threads_off(hardware: Mapping, threads: int) -> float:
    """How many of the benchmark's two sides did not report running on ``threads`` threads:
    NumPy's BLAS (every pool of ``hardware["blas"]``, "openblas 0.3.30 (2 threads)") and
    numba (``hardware["numba"]``, "numba 0.63.1, 2 threads, ..."); a side whose count cannot
    be read counts as off."""
    blas = [int(n) for n in re.findall(r"\((\d+) threads?\)", str(hardware.get("blas", "")))]
    numba = re.search(r", (\d+) threads?\b", str(hardware.get("numba", "")))
    off = 0
    off += not blas or any(n != threads for n in blas)
    off += numba is None or int(numba.group(1)) != threads
    return float(off)


def busiest_other_load(hardware: Mapping) -> float:
    """The most cores other processes kept busy while a side was timed (NaN where it was
    not measured)."""
    load = hardware.get("other_load_cores") or {}
    values = [float(v) for v in load.values() if v is not None]
    return max(values) if values else NAN


def bench_claims(result) -> pd.DataFrame:
    """The claims of one run of :mod:`effnotes.maddness.bench` (its result or a stored file's
    data): both sides ran on the threads asked for (enforced), other processes left the
    machine quiet while it was timed, and the warm speedups over NumPy meet the ``ci``
    profile's speed targets (est.matmul(A), then the raw fused kernel) and the goals for
    est.matmul(A) with row-major A (shown, not enforced)."""
    data = _data(result)
    threads = int(data["config"]["threads"])
    rows = [
        Claim.at_most("threads_as_asked", f"NumPy's BLAS and numba both ran on the {threads} "
                      "threads asked for (sides that did not).",
                      threads_off(data["hardware"], threads), 0, kind="correctness"),
        Claim.below("machine_quiet", "Other processes kept fewer cores busy than the "
                    "benchmark waits for before timing each side (the busiest side, cores).",
                    busiest_other_load(data["hardware"]), QUIET_LOAD, enforced=False),
    ]
    targets = get_chapter("maddness").profile("ci").speed_targets
    rows += speed_claims(as_frame(data["table"]), targets, enforced=False)
    return claims_table(rows)


def _at_most_threads(table: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    top = int(table["threads"].max())
    return table[table["threads"] == top], top


def sweep_cells_missing(result) -> float:
    """How many (N, case, thread count, method) cells of the sweep's config have no finite
    warm time in its table (see :data:`SWEPT_METHODS` and :data:`effnotes.maddness.threads.CASES`)."""
    data = _data(result)
    table = as_frame(data["table"])
    config = data["config"]
    timed = set()
    if len(table):
        finite = table[pd.to_numeric(table["warm_ms"], errors="coerce").notna()]
        timed = set(finite[["N", "M", "layout", "threads", "method"]].itertuples(
            index=False, name=None))
    missing = 0
    for n in config["rows"]:
        for layout, m in CASES:
            for t in config["threads"]:
                for method in SWEPT_METHODS:
                    missing += (n, m, LAYOUT_NAMES[layout], t, method) not in timed
    return float(missing)


def threads_claims(result) -> pd.DataFrame:
    """The claims of one run of :mod:`effnotes.maddness.threads` (its result or a stored
    file's data): every cell of the sweep was timed (enforced); the fused kernel's warm time
    at 2 threads over that at the most threads, column-major M=100 at N=100,000, reaches
    :data:`.threads.SCALING_GOAL`; and at the most threads the warm speedups over NumPy of
    the two swept cases meet the ``gpu`` profile's speed targets (est.matmul(A), then the raw
    fused kernel). The timing claims are shown, not enforced."""
    data = _data(result)
    table = as_frame(data["table"])
    top_rows, top = _at_most_threads(table) if len(table) else (table, 0)
    goal = scaling_goal(table, N=GOAL_ROWS, low=2, high=top) if top else NAN
    rows = [
        Claim.at_most("sweep_complete", "Every thread count, N and case of the sweep has a "
                      "warm time for NumPy, the fused kernel and est.matmul(A) with and "
                      "without out= (cells missing).", sweep_cells_missing(data), 0,
                      kind="correctness"),
        Claim.at_least("thread_scaling_goal", f"With column-major A, M = 100 and N = "
                       f"{GOAL_ROWS:,}, the fused kernel's warm time at 2 threads is at least "
                       f"the goal times its time at the most threads ({top}).",
                       goal, SCALING_GOAL, enforced=False,
                       missing_reason=f"the sweep did not time 2 and {top} threads at N = "
                                      f"{GOAL_ROWS:,}" if math.isnan(goal) else ""),
    ]
    swept = {(LAYOUT_NAMES[layout], m) for layout, m in CASES}
    targets = [t for t in get_chapter("maddness").profile("gpu").speed_targets
               if (t[0], t[1]) in swept]
    rows += speed_claims(top_rows, targets, enforced=False, goals=(),
                         where=f" at {top} threads")
    return claims_table(rows)


#: the benchmarks of this chapter that make claims (see :class:`effnotes.stored_runs.Benchmark`)
BENCHMARKS = (
    Benchmark("python -m effnotes.maddness.bench", r"bench(-.+)?", "bench",
              ("effnotes.maddness.bench", "effnotes.maddness.estimator",
               "effnotes.maddness.bench_claims"), bench_claims),
    Benchmark("python -m effnotes.maddness.threads", r"threads(-.+)?", "threads",
              ("effnotes.maddness.threads", "effnotes.maddness.estimator",
               "effnotes.maddness.bench_claims"), threads_claims),
)

__all__ = ["BENCHMARKS", "GOAL_ROWS", "SWEPT_METHODS", "bench_claims", "busiest_other_load",
           "sweep_cells_missing", "threads_claims", "threads_off"]
