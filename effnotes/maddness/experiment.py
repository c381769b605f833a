"""The chapter's measured experiments as one call, for running a profile without Jupyter.

``python -m effnotes.maddness.experiment --profile gpu --store`` runs them with the
registry's parameters and stores ``results/maddness/<profile>.json`` with provenance.
MADDNESS is a CPU method: the ``gpu`` profile is larger CPU work on the GPU machine's many
cores. It needs numpy, pandas, scikit-learn, numba and torch only; the UCR part (which reads
the sets bundled with aeon) runs only when the profile lists UCR sets.
"""

from __future__ import annotations

import inspect
import time

import numpy as np
import pandas as pd

from effnotes.data.ucr import ucr_selection
from effnotes.maddness.accuracy import digits_task, evaluate, nmse, ucr_task
from effnotes.maddness.baselines import FAISS_PQ, make_method
from effnotes.maddness.bench import (DEFAULT_CALL, RAW_KERNEL, BenchConfig, run_benchmark,
                                    synthetic_activations)
from effnotes.profile_runner import profile_main

CHAPTER = "maddness"
METHODS = ["MADDNESS", "PQ", "Bolt", "RandGauss", "PCA"]
COMPILED = {"exact", "MADDNESS", "RandGauss", "PCA", FAISS_PQ}  # NumPy's BLAS, numba, faiss


def tradeoff_methods() -> list[str]:
    """The methods of the speed-against-accuracy comparison: :data:`METHODS`, plus faiss's
    compiled PQ where faiss imports."""
    from effnotes.maddness.faiss_pq import faiss_available

    return METHODS + ([FAISS_PQ] if faiss_available() else [])


def median_time(fn, repeats: int) -> float:
    """Median seconds of ``fn()`` over ``repeats`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def method_timer(est, A: np.ndarray):
    """A zero-argument callable computing ``est``'s product of ``A`` with its ``matmul``:
    for MADDNESS and faiss's PQ (whose ``matmul`` take ``out=``) into a preallocated output,
    as NumPy's BLAS is timed with ``out=`` in the benchmark."""
    if "out" in inspect.signature(est.matmul).parameters:
        out = est.matmul(A)
        return lambda: est.matmul(A, out=out)
    return lambda: est.matmul(A)


def lambda_grid(task, budgets, lambdas, time_rows: int, repeats: int) -> pd.DataFrame:
    """MADDNESS on ``task`` for every (codebooks, lambda): nmse, relative accuracy and the
    median time of the fused kernel on ``time_rows`` rows of the test activations."""
    exact = task.A_test.astype(np.float64) @ task.B.astype(np.float64)
    exact_acc = task.accuracy(exact)
    reps = -(-time_rows // len(task.A_test))
    A_time = np.ascontiguousarray(np.tile(task.A_test, (reps, 1))[:time_rows])
    rows = []
    for C in budgets:
        if task.A_train.shape[1] % C:
            continue
        for lam in lambdas:
            est = make_method("MADDNESS", C, lam=lam).fit(task.A_train, task.B)
            Y = est.matmul(task.A_test)
            rows.append({"ncodebooks": C, "lam": lam, "nmse": nmse(exact, Y),
                         "relative_accuracy": task.accuracy(Y) / exact_acc,
                         "time_ms": 1e3 * median_time(method_timer(est, A_time), repeats)})
    return pd.DataFrame(rows)


def tradeoff(shape, budgets, seed: int, train_rows: int, repeats: int,
             progress: bool = False) -> pd.DataFrame:
    """Speed against accuracy on synthetic activations of ``shape`` (N, D, M): every method of
    :func:`tradeoff_methods` at every budget, nmse, median time (numpy, numba, BLAS and faiss
    with the process's numba thread count) and whether the method is compiled."""
    from tqdm.auto import tqdm

    N, D, M = shape
    A_all = synthetic_activations(train_rows + N, D, seed)
    A_train, A = A_all[:train_rows], np.ascontiguousarray(A_all[train_rows:])
    B = np.random.default_rng(seed + 1).normal(size=(D, M)).astype(np.float32)
    exact = A.astype(np.float64) @ B.astype(np.float64)
    out = np.empty((N, M), dtype=np.float32)
    rows = [{"method": "exact", "budget": D, "nmse": 0.0,
             "time_ms": 1e3 * median_time(lambda: np.matmul(A, B, out=out), repeats)}]
    jobs = [(m, b) for m in tradeoff_methods() for b in budgets
            if not (m not in ("RandGauss", "PCA") and D % b)]
    for method, budget in tqdm(jobs, desc="tradeoff", disable=not progress):
        est = make_method(method, budget).fit(A_train, B)
        rows.append({"method": method, "budget": budget, "nmse": nmse(exact, est.matmul(A)),
                     "time_ms": 1e3 * median_time(method_timer(est, A), repeats)})
    frame = pd.DataFrame(rows)
    frame["compiled"] = frame["method"].isin(COMPILED)
    return frame


def peer_speedups(frame: pd.DataFrame, peer: str = FAISS_PQ) -> pd.DataFrame:
    """MADDNESS against ``peer`` at every budget both have in a :func:`tradeoff` frame:
    columns budget, the two times (ms) and NMSEs, and ``speedup`` (peer time / MADDNESS
    time). Empty where the peer was not run."""
    frame = pd.DataFrame(frame)
    mad = frame[frame["method"] == "MADDNESS"].set_index("budget")
    other = frame[frame["method"] == peer].set_index("budget")
    both = mad.join(other, lsuffix="_maddness", rsuffix="_peer", how="inner")
    both = both[["time_ms_maddness", "time_ms_peer", "nmse_maddness", "nmse_peer"]]
    both["speedup"] = both["time_ms_peer"] / both["time_ms_maddness"]
    return both.reset_index()


def run_profile(params: dict, *, progress: bool = False) -> dict:
    """Everything the chapter measures, with ``params`` (a profile's parameters)."""
    import numba

    numba.set_num_threads(min(params["threads"], numba.config.NUMBA_NUM_THREADS))
    from threadpoolctl import threadpool_limits

    result = {}
    with threadpool_limits(params["threads"]):
        task = digits_task(hidden=params["hidden"])
        result["digits"] = evaluate(task, METHODS, params["budgets"], progress=progress)
        result["lambda_grid"] = lambda_grid(task, params["budgets"], params["lambdas"],
                                            params["time_rows"], params["time_repeats"])
        names, root, kept = ucr_selection(params.get("data_path"), params["ucr_sets"])
        if kept is not None:  # a local archive: every set the paper's filter keeps
            result["ucr_filter"] = kept
        ucr = [evaluate(ucr_task(name, root=root), METHODS, [params["ucr_codebooks"]],
                        progress=progress) for name in names]
        result["ucr"] = pd.concat(ucr, ignore_index=True) if ucr else pd.DataFrame()
        result["tradeoff"] = tradeoff(tuple(params["tradeoff_shape"]), params["budgets"], 0,
                                      params["train_rows"], params["time_repeats"], progress)
    bench = run_benchmark(BenchConfig(shapes=[tuple(s) for s in params["bench_shapes"]],
                                      threads=params["threads"], repeats=params["bench_repeats"],
                                      ncodebooks=params["bench_codebooks"],
                                      train_rows=params["train_rows"]))
    result["bench"] = bench["table"]
    result["bench_hardware"] = bench["hardware"]
    return result


def headline_numbers(result: dict, ncodebooks: int = 16) -> pd.Series:
    """Relative accuracy and nmse on digits at ``ncodebooks`` and the fused speedups."""
    digits = pd.DataFrame(result["digits"])
    row = digits[(digits["method"] == "MADDNESS") & (digits["budget"] == ncodebooks)]
    numbers = {}
    if len(row):
        numbers[f"digits relative accuracy, C={ncodebooks}"] = row["relative_accuracy"].iloc[0]
        numbers[f"digits nmse, C={ncodebooks}"] = row["nmse"].iloc[0]
    bench = pd.DataFrame(result["bench"])
    for method, label in ((DEFAULT_CALL, "est.matmul(A)"), (RAW_KERNEL, "raw kernel")):
        for r in bench[bench["method"] == method].itertuples():
            where = f"N={r.N} D={r.D} M={r.M} {r.layout}"
            numbers[f"{label} speedup {where}, warm (x)"] = r.speedup_warm
            numbers[f"{label} speedup {where}, cold (x)"] = r.speedup_cold
    if "tradeoff" in result:
        peer = peer_speedups(pd.DataFrame(result["tradeoff"]))
        for r in peer[peer["budget"] == ncodebooks].itertuples():
            numbers[f"faster than faiss PQ, C={ncodebooks} (x)"] = r.speedup
    return pd.Series(numbers, dtype=float)


def _report(data: dict, params: dict) -> None:
    from effnotes.maddness.bench import format_table, summary_line

    bench = {"table": data["bench"], "hardware": data["bench_hardware"]}
    print(format_table(bench))
    print(headline_numbers(data).round(4).to_string())
    print(summary_line(bench))


def main(argv: list[str] | None = None) -> int:
    return profile_main(CHAPTER, run_profile, _report, argv, description=__doc__)


if __name__ == "__main__":
    raise SystemExit(main())
