"""How MADDNESS's kernels scale with threads, against NumPy's BLAS and the machine's memory.

``python -m effnotes.maddness.threads --threads 1,2,4,8,16 --store threads-16core`` times, for
every thread count and at ``N`` = 10,000 and 100,000 rows (D = 512, C = 16):

- the two cases of the paper's shapes where the question was asked: row-major ``A`` with
  M = 10 and column-major ``A`` with M = 100;
- NumPy ``np.matmul(A, B, out=out)`` (float32 BLAS), MADDNESS's raw fused kernel (output
  preallocated), ``est.matmul(A)`` (a fresh output per call) and ``est.matmul(A, out=out)``,
  each cache-warm (back-to-back calls) and cache-cold (a buffer larger than the last-level
  cache written before each call), as in :mod:`effnotes.maddness.bench`;
- a parallel copy (numba, the same thread count) of a 256 MiB array: the machine's copy
  bandwidth, counted as bytes read plus bytes written;
- the bytes each kernel must move (the cache lines of ``A`` it touches, the output it
  writes), so its achieved bandwidth can be read beside the copy's;
- at the largest thread count, the fused kernel with other row-block sizes, and (each in its
  own process) with numba's other threading layers, where they load.

NumPy and numba run in separate processes (an idle BLAS or OpenMP pool spins and takes
cores from the other). The table, the speedup of each method at every thread count over its
own one-thread time, and the hardware go to ``results/maddness/<name>.json`` (or under
``$EFFNOTES_RESULTS``) with provenance; the last lines printed summarise them.
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

from effnotes.maddness.bench import (LAYOUT_NAMES, _blas_info, _time, shape_data,
                                     wait_for_quiet)
from effnotes.runtime import _cpu_model

#: The sweep's cases, as (layout, M): row-major M = 10 and column-major M = 100.
CASES = [("C", 10), ("F", 100)]
#: bytes of the buffer the bandwidth probe copies (256 MiB, far larger than the caches)
COPY_BYTES = 256 * 2**20
#: the thread-scaling goal, fixed with the sweep: the fused kernel's warm time at 2 threads
#: over that at the most threads, column-major M=100 at N=100,000, at least this
SCALING_GOAL = 1.5


@dataclass
class ThreadsConfig:
    """``threads``: thread counts to sweep; ``rows``: row counts N; ``repeats`` per median;
    ``block_rows``: other row-block sizes tried at the largest thread count; ``layers``:
    numba threading layers tried there (each in its own process); ``ncodebooks``, ``dim``
    (D), ``train_rows`` and ``seed`` as in the benchmark."""

    threads: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16])
    rows: list[int] = field(default_factory=lambda: [10000, 100000])
    repeats: int = 20
    block_rows: list[int] = field(default_factory=lambda: [16, 256, 1024])
    layers: list[str] = field(default_factory=lambda: ["workqueue", "tbb"])
    ncodebooks: int = 16
    dim: int = 512
    train_rows: int = 4000
    seed: int = 0


def bytes_moved(method: str, N: int, D: int, M: int, layout: str, split_dims) -> int:
    """Bytes a product must move at least: the 64-byte lines of ``A`` it reads (all of ``A``
    for BLAS; for MADDNESS, row-major: the lines holding a split column in each row;
    column-major: the split columns) plus the float32 output it writes."""
    out = N * M * 4
    if method == "numpy float32 matmul":
        return N * D * 4 + out
    cols = np.unique(np.asarray(split_dims).reshape(-1))
    if layout == "C":
        lines_per_row = len(np.unique((cols * 4) // 64))
        if (D * 4) % 64:  # rows not line-aligned: count each split value's own line
            lines_per_row = len(cols)
        return N * lines_per_row * 64 + out
    return len(cols) * N * 4 + out


def copy_bandwidth(threads: int, repeats: int = 5) -> float:
    """GB/s (1e9 bytes) of a parallel copy of :data:`COPY_BYTES` with ``threads`` numba
    threads, counting bytes read plus bytes written; median of ``repeats``."""
    import numba

    numba.set_num_threads(threads)
    src = np.ones(COPY_BYTES // 8)
    dst = np.empty_like(src)
    kernel = _copy_kernel()
    chunks = numba.get_num_threads()
    kernel(src, dst, chunks)
    seconds = _time(lambda: kernel(src, dst, chunks), repeats, cold=False)
    return 2 * src.nbytes / seconds / 1e9


_COPY = None


def _copy_kernel():
    """``parallel_copy(src, dst, chunks)``: ``dst[:] = src`` in ``chunks`` contiguous ranges
    run in parallel (the thread count is an argument: read inside, numba could not cache it)."""
    global _COPY
    if _COPY is None:
        import numba

        from effnotes.maddness.kernels import njit_cached

        def parallel_copy(src, dst, chunks):
            n = src.shape[0]
            for t in numba.prange(chunks):
                for i in range(t * n // chunks, (t + 1) * n // chunks):
                    dst[i] = src[i]

        _COPY = njit_cached(parallel_copy, parallel=True, nogil=True)
    return _COPY


def _row(N, D, M, layout, method, threads, warm, cold, **extra) -> dict:
    return {"N": N, "D": D, "M": M, "layout": LAYOUT_NAMES[layout], "method": method,
            "threads": threads, "warm_ms": 1e3 * warm, "cold_ms": 1e3 * cold, **extra}


def numpy_worker(cfg: ThreadsConfig) -> dict:
    from threadpoolctl import threadpool_limits

    rows = []
    for N in cfg.rows:
        for layout, M in CASES:
            _, A, B = shape_data((N, cfg.dim, M), cfg.seed, cfg.train_rows)
            X = A if layout == "C" else np.asfortranarray(A)
            out = np.empty((N, M), dtype=np.float32)
            for t in cfg.threads:
                with threadpool_limits(t):
                    fn = lambda: np.matmul(X, B, out=out)  # noqa: E731
                    rows.append(_row(N, cfg.dim, M, layout, "numpy float32 matmul", t,
                                     _time(fn, cfg.repeats, False), _time(fn, cfg.repeats, True),
                                     bytes=bytes_moved("numpy float32 matmul", N, cfg.dim, M,
                                                       layout, [])))
    with threadpool_limits(1):
        info = {"blas": _blas_info()}
    return {"rows": rows, "info": info}


def numba_worker(cfg: ThreadsConfig, sweep: bool) -> dict:
    """The MADDNESS side. ``sweep``: every thread count and the block sizes; otherwise only
    the fused kernel at the largest thread count (for a threading-layer process)."""
    import numba
    from threadpoolctl import threadpool_limits

    from effnotes.maddness.estimator import Maddness, _status
    from effnotes.maddness.kernels import flat_input, get_kernel

    threadpool_limits(1)
    top = max(cfg.threads)
    _copy_kernel()(np.zeros(8), np.zeros(8), 1)  # load the threading layer first: fail fast
    rows, copy = [], {}
    fitted = {}
    for N in cfg.rows:
        for layout, M in CASES:
            A_train, A, B = shape_data((N, cfg.dim, M), cfg.seed, cfg.train_rows)
            if M not in fitted:
                fitted[M] = Maddness(cfg.ncodebooks).fit(A_train, B)
            est = fitted[M]
            X = A if layout == "C" else np.asfortranarray(A)
            out = np.empty((N, M), dtype=np.float32)
            moved = bytes_moved("maddness", N, cfg.dim, M, layout, est.split_dims_)
            for t in (cfg.threads if sweep else [top]):
                numba.set_num_threads(t)
                calls = {"maddness fused": est.runner(X, "fused", out=out)}
                if sweep:
                    calls["maddness matmul"] = lambda X=X: est.matmul(X)
                    calls["maddness matmul(out=)"] = lambda X=X: est.matmul(X, out=out)
                for name, fn in calls.items():
                    rows.append(_row(N, cfg.dim, M, layout, name, t,
                                     _time(fn, cfg.repeats, False), _time(fn, cfg.repeats, True),
                                     bytes=moved))
            if not sweep:
                continue
            numba.set_num_threads(top)
            flat, kind = flat_input(X)
            dims, thr, lut, scale, shift = est._fast_arrays()
            for block in cfg.block_rows:
                kernel = get_kernel(cfg.ncodebooks, M, kind, "fused", est.aggregation, block)
                args = (flat, N, cfg.dim, dims, thr, lut, scale, shift,
                        np.empty((0, cfg.ncodebooks), np.uint8), out, _status())
                fn = lambda kernel=kernel, args=args: kernel(*args)  # noqa: E731
                rows.append(_row(N, cfg.dim, M, layout, f"maddness fused, {block}-row blocks",
                                 top, _time(fn, cfg.repeats, False), _time(fn, cfg.repeats, True),
                                 bytes=moved))
    if sweep:
        copy = {t: copy_bandwidth(t) for t in cfg.threads}
    numba.set_num_threads(top)
    return {"rows": rows, "copy_gb_s": copy,
            "info": {"numba": f"numba {numba.__version__}", "layer": numba.threading_layer()}}


def _run_worker(kind: str, cfg: ThreadsConfig, layer: str | None = None) -> dict | None:
    env = dict(os.environ)
    top = str(max(cfg.threads))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS"):
        env[var] = top
    if layer:
        env["NUMBA_THREADING_LAYER"] = layer
    wait_for_quiet(timeout_s=10.0)
    proc = subprocess.run([sys.executable, "-m", "effnotes.maddness.threads", "--worker", kind,
                           "--config", json.dumps(asdict(cfg))], capture_output=True,
                          text=True, env=env, check=False)
    if proc.returncode:
        if layer:  # a threading layer that does not load here (tbb missing, say)
            print(f"threading layer {layer}: not available ({proc.stderr.strip()[-200:]})")
            return None
        raise RuntimeError(f"the {kind} process failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_threads(cfg: ThreadsConfig | None = None) -> dict:
    """Run the sweep (see the module docstring); return ``{"table", "copy_gb_s", "summary",
    "hardware", "config"}``."""
    cfg = cfg or ThreadsConfig()
    numpy_side = _run_worker("numpy", cfg)
    numba_side = _run_worker("numba", cfg)
    rows = numpy_side["rows"] + numba_side["rows"]
    layers = {numba_side["info"]["layer"]: "default"}
    for layer in cfg.layers:
        if layer == numba_side["info"]["layer"]:
            continue
        other = _run_worker("layer", cfg, layer)
        if other is not None:
            layers[other["info"]["layer"]] = "tried"
            for r in other["rows"]:
                r["method"] = f"maddness fused, {other['info']['layer']} layer"
            rows += other["rows"]
    table = pd.DataFrame(rows)
    table["warm_gb_s"] = table["bytes"] / table["warm_ms"] / 1e6
    one = table[table["threads"] == min(cfg.threads)].set_index(["N", "M", "layout", "method"])
    keys = list(table[["N", "M", "layout", "method"]].itertuples(index=False, name=None))
    base = one.reindex(keys)
    table["scaling_warm"] = base["warm_ms"].to_numpy() / table["warm_ms"].to_numpy()
    blas = table[table["method"] == "numpy float32 matmul"].set_index(
        ["N", "M", "layout", "threads"])
    bkeys = list(table[["N", "M", "layout", "threads"]].itertuples(index=False, name=None))
    bref = blas.reindex(bkeys)
    table["speedup_warm"] = bref["warm_ms"].to_numpy() / table["warm_ms"].to_numpy()
    table["speedup_cold"] = bref["cold_ms"].to_numpy() / table["cold_ms"].to_numpy()
    copy = {int(k): v for k, v in numba_side["copy_gb_s"].items()}
    hardware = {"cpu": _cpu_model(), "logical_cores": os.cpu_count(),
                "blas": numpy_side["info"]["blas"], "numba": numba_side["info"]["numba"],
                "threading_layers": layers, "numpy": np.__version__}
    result = {"table": table, "copy_gb_s": copy, "hardware": hardware, "config": asdict(cfg)}
    result["summary"] = summary_lines(result)
    return result


def scaling_goal(table: pd.DataFrame, N: int = 100000, low: int = 2, high: int = 16) -> float:
    """The issue's goal: warm scaling at ``high`` threads over that at ``low`` threads of the
    fused kernel, column-major M=100 at ``N`` rows (NaN if not timed)."""
    t = pd.DataFrame(table)
    part = t[(t["method"] == "maddness fused") & (t["layout"] == "column-major")
             & (t["M"] == 100) & (t["N"] == N)].set_index("threads")
    if low not in part.index or high not in part.index:
        return float("nan")
    return float(part.loc[low, "warm_ms"] / part.loc[high, "warm_ms"])


def summary_lines(result: dict) -> list[str]:
    """A few lines: scaling (1 thread to the most) of BLAS and of MADDNESS per case, the
    bandwidth reached beside the copy's, the speedup over BLAS warm and cold, the goal."""
    t = pd.DataFrame(result["table"])
    top = int(t["threads"].max())
    copy = result["copy_gb_s"]
    lines = []
    for (N, M, layout), part in t.groupby(["N", "M", "layout"]):
        at = part[part["threads"] == top].set_index("method")
        if "maddness fused" not in at.index:
            continue
        f, b = at.loc["maddness fused"], at.loc["numpy float32 matmul"]
        lines.append(
            f"N={N} M={M} {layout}, {top} threads: fused x{f.scaling_warm:.1f} over 1 thread "
            f"(BLAS x{b.scaling_warm:.1f}); {f.warm_gb_s:.1f} GB/s moved vs copy "
            f"{copy.get(top, float('nan')):.1f} GB/s; speedup over BLAS {f.speedup_warm:.1f}x "
            f"warm, {f.speedup_cold:.1f}x cold (matmul fresh output "
            f"{at.loc['maddness matmul'].speedup_cold:.1f}x cold, with out= "
            f"{at.loc['maddness matmul(out=)'].speedup_cold:.1f}x)")
    goal = scaling_goal(t, high=top)
    lines.append(f"goal (column-major M=100, N=100000): {top}-thread over 2-thread warm time "
                 f"x{goal:.2f} (target {SCALING_GOAL:g})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m effnotes.maddness.threads",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", default="1,2,4,8,16", help="comma-separated counts")
    parser.add_argument("--rows", default="10000,100000", help="comma-separated N")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--block-rows", default="16,256,1024")
    parser.add_argument("--layers", default="workqueue,tbb",
                        help="numba threading layers to try besides the default ('' for none)")
    parser.add_argument("--store", metavar="NAME",
                        help="write the result with provenance to results/maddness/NAME.json")
    parser.add_argument("--worker", choices=("numpy", "numba", "layer"), help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        cfg = ThreadsConfig(**json.loads(args.config))
        result = (numpy_worker(cfg) if args.worker == "numpy"
                  else numba_worker(cfg, sweep=args.worker == "numba"))
        print(json.dumps(result))
        return 0

    def ints(text, name):
        try:
            values = [int(v) for v in text.split(",") if v.strip()]
        except ValueError:
            parser.error(f"--{name} must be comma-separated integers, got {text!r}")
        if not values or min(values) < 1:
            parser.error(f"--{name} must list positive integers, got {text!r}")
        return values

    if args.repeats < 1:
        parser.error("--repeats must be positive")
    cfg = ThreadsConfig(threads=sorted(set(ints(args.threads, "threads"))),
                        rows=ints(args.rows, "rows"), repeats=args.repeats,
                        block_rows=ints(args.block_rows, "block-rows"),
                        layers=[v for v in args.layers.split(",") if v.strip()])
    if max(cfg.threads) > (os.cpu_count() or 1):
        print(f"note: {max(cfg.threads)} threads on {os.cpu_count()} logical cores")
    start = time.perf_counter()
    result = run_threads(cfg)
    cols = ["N", "M", "layout", "method", "threads", "warm_ms", "cold_ms", "warm_gb_s",
            "scaling_warm", "speedup_warm", "speedup_cold"]
    with pd.option_context("display.width", 160, "display.max_rows", 500):
        print(result["table"][cols].round(3).to_string(index=False))
    print("copy bandwidth (GB/s, read + write) by threads:",
          {k: round(v, 1) for k, v in result["copy_gb_s"].items()})
    from effnotes.claims import as_records, failing
    from effnotes.maddness.bench_claims import threads_claims
    from effnotes.stored_runs import claims_report

    table = result["table"]
    stored = {**result, "table": table.astype(object).where(table.notna(), None)}
    claims = threads_claims(stored)
    print(claims_report(claims, "thread sweep"))
    if args.store:
        from effnotes.results import save_result

        path = save_result("maddness", args.store, stored, profile="threads",
                           parameters=asdict(cfg), wall_time_s=time.perf_counter() - start,
                           extra_provenance={"claims": as_records(claims)})
        print(f"stored {path}")
    print("\n".join(result["summary"]))
    return 0 if args.store or not len(failing(claims)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
