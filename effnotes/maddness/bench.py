"""Benchmark: MADDNESS's compiled kernels against NumPy's float32 BLAS matmul.

``python -m effnotes.maddness.bench`` times, at the paper's CIFAR-10 shape
(N=10000, D=512, M=10) and CIFAR-100 shape (M=100), with ``A`` row-major and column-major:

- NumPy ``np.matmul(A, B, out=out)`` in float32 (output preallocated);
- MADDNESS with its tables prebuilt (as the paper times it): the raw compiled kernels
  (encoding alone, aggregation alone, and both fused per block of rows, output
  preallocated, no per-call checks), and ``est.matmul(A)``, the call a user writes (its
  checks, a fresh output, the fused kernel).

Each side runs in its own process (OpenMP and OpenBLAS thread pools spin after a call and
would steal each other's core), both with the same number of threads. Each figure is the
median of ``repeats`` calls, cache-warm (calls back to back) and cache-cold (a buffer twice
the size of the last-level cache is written before each call). The last line printed gives
the speedups of ``est.matmul(A)`` (and of the raw fused kernel) over NumPy at every shape
and layout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from effnotes.idle_threads import wait_for_idle_threads
from effnotes.runtime import _cpu_model

LAYOUT_NAMES = {"C": "row-major", "F": "column-major"}
FLUSH_BYTES = 128 * 2**20
#: The method name of the timed default call ``est.matmul(A)``: input checks, a fresh output
#: array, the fused kernel.
DEFAULT_CALL = "maddness matmul"
RAW_KERNEL = "maddness fused"
#: cores that other processes may keep busy for the machine to count as quiet: the
#: benchmark waits for this before timing each side
QUIET_LOAD = 0.2


@dataclass
class BenchConfig:
    """What to time: ``shapes`` as (N, D, M), ``threads`` for both sides, ``repeats`` per
    median, ``ncodebooks``, ``train_rows`` for fitting, ``seed`` for the data, and
    ``threading_layer``: numba's (``"omp"``, ``"workqueue"``, ``"tbb"``; None: numba's
    default choice)."""

    shapes: list[tuple[int, int, int]] = field(
        default_factory=lambda: [(10000, 512, 10), (10000, 512, 100)])
    threads: int = 2
    repeats: int = 30
    ncodebooks: int = 16
    train_rows: int = 4000
    seed: int = 0
    threading_layer: str | None = None


def synthetic_activations(n: int, d: int, seed: int, rank: int = 32) -> np.ndarray:
    """Float32 ``(n, d)`` rows like a layer's activations: non-negative, low rank plus noise
    (fixed by ``seed``, the same in every process)."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(rank, d)).astype(np.float32) / np.sqrt(rank)
    weights = rng.gamma(2.0, 1.0, size=(n, rank)).astype(np.float32)
    noise = 0.2 * rng.normal(size=(n, d)).astype(np.float32)
    return np.maximum(weights @ basis + noise, 0).astype(np.float32)


def shape_data(shape, seed: int, train_rows: int):
    """``A_train``, ``A`` (row-major) and ``B`` for one shape; identical in every process."""
    N, D, M = shape
    A_all = synthetic_activations(train_rows + N, D, seed)
    B = np.random.default_rng(seed + 1).normal(size=(D, M)).astype(np.float32)
    return A_all[:train_rows], np.ascontiguousarray(A_all[train_rows:]), B


def _time(fn, repeats: int, cold: bool) -> float:
    """Median seconds of ``fn()`` over ``repeats`` calls (after two warm-up calls), timed once
    the process's other threads are idle (:func:`effnotes.idle_threads.wait_for_idle_threads`:
    a BLAS pool still spinning from the fit or the previous method would otherwise take the
    cores from ``fn``)."""
    flush = np.ones(FLUSH_BYTES // 8) if cold else None
    fn()
    fn()
    wait_for_idle_threads()
    times = []
    for _ in range(repeats):
        if cold:
            flush += 1.0
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        if cold:
            time.sleep(0.001)
    return float(np.median(times))


def _blas_info() -> str:
    from threadpoolctl import threadpool_info

    pools = [f"{p.get('internal_api')} {p.get('version')} ({p.get('num_threads')} threads)"
             for p in threadpool_info() if p.get("user_api") == "blas"]
    return "; ".join(pools) or "unknown"


def worker(side: str, cfg: BenchConfig) -> dict:
    """Run one side of the benchmark in this process; return its timings."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(cfg.threads)
    rows = []
    info = {"blas": _blas_info()}
    if side == "numba":
        import numba

        numba.set_num_threads(cfg.threads)
        from effnotes.maddness.estimator import Maddness

        info["numba"] = f"numba {numba.__version__}, {numba.get_num_threads()} threads"
    for shape in cfg.shapes:
        A_train, A, B = shape_data(shape, cfg.seed, cfg.train_rows)
        out = np.empty((shape[0], shape[2]), dtype=np.float32)
        if side == "numba":
            start = time.perf_counter()
            est = Maddness(ncodebooks=cfg.ncodebooks).fit(A_train, B)
            fit_s = time.perf_counter() - start
            exact = A.astype(np.float64) @ B.astype(np.float64)
            nmse = float(((est.matmul(A) - exact) ** 2).mean() / exact.var())
        for layout in ("C", "F"):
            X = A if layout == "C" else np.asfortranarray(A)
            if side == "numpy":
                parts = {"numpy float32 matmul": lambda X=X: np.matmul(X, B, out=out)}
            else:
                codes = est.encode(X)
                parts = {f"maddness {p}": est.runner(X, p, out=out, codes=codes)
                         for p in ("encode", "aggregate", "fused")}
                parts[DEFAULT_CALL] = lambda X=X: est.matmul(X)
            for name, fn in parts.items():
                rows.append({"N": shape[0], "D": shape[1], "M": shape[2],
                             "layout": LAYOUT_NAMES[layout], "method": name,
                             "warm_ms": 1e3 * _time(fn, cfg.repeats, cold=False),
                             "cold_ms": 1e3 * _time(fn, cfg.repeats, cold=True)})
                if side == "numba":
                    rows[-1].update(nmse=nmse, fit_s=fit_s)
    if side == "numba":
        info["numba"] += f", {numba.threading_layer()} threading layer"
    return {"rows": rows, "info": info}


def _cpu_busy_seconds() -> float | None:
    """Core-seconds the whole machine has spent busy (from ``/proc/stat``; None elsewhere)."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [float(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return (sum(fields[:8]) - idle) / ticks


def _children_cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_for_quiet(max_load: float = QUIET_LOAD, timeout_s: float = 60.0) -> float:
    """Wait (up to ``timeout_s``) until other processes use less than ``max_load`` cores
    over half a second; return the last load measured (NaN where it cannot be measured)."""
    deadline = time.monotonic() + timeout_s
    while True:
        before, start = _cpu_busy_seconds(), time.monotonic()
        if before is None:
            return float("nan")
        time.sleep(0.5)
        load = (_cpu_busy_seconds() - before) / (time.monotonic() - start)
        if load < max_load or time.monotonic() > deadline:
            return float(load)


def _worker_env(threads: int, layer: str | None = None) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS"):
        env[var] = str(threads)
    if layer:
        env["NUMBA_THREADING_LAYER"] = layer
    return env


def run_benchmark(cfg: BenchConfig | None = None) -> dict:
    """Time both sides, each in a fresh process with ``cfg.threads`` threads; return
    ``{"table": DataFrame, "hardware": {...}, "config": {...}}``."""
    cfg = cfg or BenchConfig()
    results, other_load = {}, {}
    for side in ("numpy", "numba"):
        wait_for_quiet()
        busy, child, start = _cpu_busy_seconds(), _children_cpu_seconds(), time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "effnotes.maddness.bench", "--worker", side,
                               "--config", json.dumps(asdict(cfg))], capture_output=True,
                              text=True, env=_worker_env(cfg.threads, cfg.threading_layer),
                              check=False)
        if proc.returncode:
            raise RuntimeError(f"the {side} benchmark process failed:\n{proc.stderr[-3000:]}")
        results[side] = json.loads(proc.stdout.strip().splitlines()[-1])
        if busy is not None:  # cores kept busy by other processes while this side ran
            other = (_cpu_busy_seconds() - busy) - (_children_cpu_seconds() - child)
            other_load[side] = max(0.0, other / (time.monotonic() - start))
    table = pd.DataFrame(results["numpy"]["rows"] + results["numba"]["rows"])
    shape_cols = ["N", "D", "M", "layout"]
    base = table[table["method"] == "numpy float32 matmul"].set_index(shape_cols)
    key = list(table[shape_cols].itertuples(index=False, name=None))
    table["speedup_warm"] = base.loc[key, "warm_ms"].to_numpy() / table["warm_ms"].to_numpy()
    table["speedup_cold"] = base.loc[key, "cold_ms"].to_numpy() / table["cold_ms"].to_numpy()
    hardware = {"cpu": _cpu_model(), "logical_cores": os.cpu_count(), "threads": cfg.threads,
                "blas": results["numpy"]["info"]["blas"], "numba": results["numba"]["info"]["numba"],
                "numpy": np.__version__,
                "other_load_cores": {k: round(v, 3) for k, v in other_load.items()}}
    return {"table": table, "hardware": hardware, "config": asdict(cfg)}


def summary_line(result: dict) -> str:
    """One line: the speedup over NumPy float32 of ``est.matmul(A)`` (where the table has
    it) and of the raw fused kernel, at every shape and layout."""
    table = pd.DataFrame(result["table"])
    fused = table[table["method"] == RAW_KERNEL].set_index(["N", "M", "layout"])
    calls = table[table["method"] == DEFAULT_CALL].set_index(["N", "M", "layout"])
    several_n = fused.index.get_level_values("N").nunique() > 1
    parts = []
    for (n, m, layout), r in fused.iterrows():
        where = f"{f'N={n} ' if several_n else ''}M={m} {layout}"
        raw = f"{r.speedup_warm:.1f}x ({r.speedup_cold:.1f}x cold)"
        if (n, m, layout) in calls.index:
            c = calls.loc[(n, m, layout)]
            parts.append(f"{where} {c.speedup_warm:.1f}x ({c.speedup_cold:.1f}x cold; raw "
                         f"kernel {raw})")
        else:
            parts.append(f"{where} raw kernel {raw}")
    head = "est.matmul(A)" if len(calls) else "the fused kernel"
    return (f"speedup of {head} over numpy float32, {result['hardware']['threads']} threads, "
            f"cache-warm median: " + "; ".join(parts))


def check_speed_targets(table, targets, method: str = RAW_KERNEL) -> pd.DataFrame:
    """The warm speedup of ``method`` (the raw fused kernel, or :data:`DEFAULT_CALL`, the
    call a user writes) against each target, at every timed shape.

    ``table``: a benchmark table (frame or records) with columns N, D, M, layout, method and
    speedup_warm; ``targets``: ``(layout, M, minimum speedup)`` triples. Returns one row per
    (target, timed N) with columns layout, M, N, speedup, target and ``met``; a target whose
    (layout, M) was never timed gets one row with N and speedup NaN and ``met`` False."""
    table = pd.DataFrame(table)
    missing = {"N", "M", "layout", "method", "speedup_warm"} - set(table.columns)
    if missing:
        raise KeyError(f"the benchmark table lacks columns {sorted(missing)}")
    fused = table[table["method"] == method]
    rows = []
    for layout, m, target in targets:
        if layout not in LAYOUT_NAMES.values():
            raise ValueError(f"unknown layout {layout!r}; use one of {sorted(LAYOUT_NAMES.values())}")
        hits = fused[(fused["layout"] == layout) & (fused["M"] == m)]
        if hits.empty:
            rows.append({"layout": layout, "M": m, "N": np.nan, "speedup": np.nan,
                         "target": target, "met": False})
        for r in hits.itertuples():
            rows.append({"layout": layout, "M": m, "N": r.N, "speedup": r.speedup_warm,
                         "target": target, "met": bool(r.speedup_warm >= target)})
    return pd.DataFrame(rows, columns=["layout", "M", "N", "speedup", "target", "met"])


def other_load_text(result: dict) -> str:
    """How busy other processes kept the CPU while each side was timed."""
    load = result["hardware"].get("other_load_cores", {})
    return ", ".join(f"{side} {value:.2f}" for side, value in load.items()) or "not measured"


def format_table(result: dict) -> str:
    table = pd.DataFrame(result["table"])
    hw = result["hardware"]
    cols = ["N", "D", "M", "layout", "method", "warm_ms", "cold_ms", "speedup_warm",
            "speedup_cold"]
    with pd.option_context("display.width", 140, "display.max_columns", 20):
        text = table[cols].round(3).to_string(index=False)
    return (f"{hw['cpu']}, {hw['logical_cores']} logical cores; {hw['threads']} threads for "
            f"both sides; BLAS: {hw['blas']}; {hw['numba']}; cores used by other processes "
            f"while timing: {other_load_text(result)}\n{text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m effnotes.maddness.bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--shapes", default="10000x512x10,10000x512x100",
                        help="comma-separated NxDxM")
    parser.add_argument("--layer", choices=("omp", "workqueue", "tbb"),
                        help="numba's threading layer (default: numba's own choice)")
    parser.add_argument("--store", metavar="NAME",
                        help="also write the table with provenance to results/maddness/NAME.json")
    parser.add_argument("--worker", choices=("numpy", "numba"), help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        cfg = json.loads(args.config)
        cfg["shapes"] = [tuple(s) for s in cfg["shapes"]]
        print(json.dumps(worker(args.worker, BenchConfig(**cfg))))
        return 0
    if args.threads < 1 or args.repeats < 1:
        parser.error("--threads and --repeats must be positive")
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    start = time.perf_counter()
    cfg = BenchConfig(shapes=shapes, threads=args.threads, repeats=args.repeats,
                      threading_layer=args.layer)
    result = run_benchmark(cfg)
    print(format_table(result))
    from effnotes.claims import as_records, failing
    from effnotes.maddness.bench_claims import bench_claims
    from effnotes.stored_runs import claims_report

    stored = {**result, "summary": summary_line(result)}
    claims = bench_claims(stored)
    print(claims_report(claims, "benchmark"))
    if args.store:
        from effnotes.results import save_result

        path = save_result("maddness", args.store, stored, profile="bench",
                           parameters=asdict(cfg), wall_time_s=time.perf_counter() - start,
                           extra_provenance={"claims": as_records(claims)})
        print(f"stored {path}")
    print(summary_line(result))
    return 0 if args.store or not len(failing(claims)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
