"""The MADDNESS chapter's experiment, as named stages the notebook calls one at a time.

``effnotes experiment maddness --profile gpu --store`` (or the old
``python -m effnotes.maddness.experiment``, now an alias) runs every stage and stores
``results/maddness/<profile>.json`` with provenance and the claims as judged.
MADDNESS is a CPU method: the ``gpu`` profile is larger CPU work on the GPU machine's many
cores. It needs numpy, pandas, scikit-learn, numba and torch only; the UCR part (which reads
the sets bundled with aeon) runs only when the profile lists UCR sets.

The stages, in order: :func:`hash_function`, :func:`split_search`, :func:`prototypes`,
:func:`lookup_tables`, :func:`averaging`, :func:`backends`, :func:`digits_accuracy`,
:func:`ucr_accuracy`, :func:`speed`, :func:`speed_against_accuracy` and
:func:`codebooks_and_lambda`. Their outputs named with a leading ``_`` (the task, the fitted
estimator, the toy data) stay in memory; the rest is the stored result.
"""

from __future__ import annotations

import inspect
import time

import numpy as np
import pandas as pd

from contextlib import contextmanager

from effnotes.contract import Experiment, Result
from effnotes.data.ucr import ucr_selection
from effnotes.experiment_runner import experiment_main
from effnotes.idle_threads import wait_for_idle_threads
from effnotes.maddness.accuracy import digits_task, evaluate, nmse, ucr_task
from effnotes.maddness.baselines import FAISS_PQ, make_method
from effnotes.maddness.bench import (DEFAULT_CALL, RAW_KERNEL, BenchConfig, other_load_text,
                                    run_benchmark, summary_line, synthetic_activations)
from effnotes.maddness.estimator import Maddness
from effnotes.maddness.hashing import (best_split, encode_reference, learn_tree,
                                       split_losses, split_losses_brute, walk_tree)
from effnotes.maddness.tables import aggregate_reference, averaging_bias, reconstruct

CHAPTER = "maddness"
#: np.allclose's default tolerances, which the split search is held to
SPLIT_RTOL, SPLIT_ATOL = 1e-5, 1e-8
#: how closely the compiled kernels must reproduce the NumPy reference (float32 rounding)
KERNEL_RTOL, KERNEL_ATOL = 1e-5, 1e-4
#: the codebooks of the chapter's worked example (and of its headline figures)
EXAMPLE_CODEBOOKS = 16
#: the approximate methods compared at every budget on the digits layer
#: (:func:`tradeoff_methods` adds faiss's PQ where faiss is installed)
METHODS = ["MADDNESS", "PQ", "Bolt", "RandGauss", "PCA"]
COMPILED = {"exact", "MADDNESS", "RandGauss", "PCA", FAISS_PQ}  # NumPy's BLAS, numba, faiss


def tradeoff_methods() -> list[str]:
    """The methods of the speed-against-accuracy comparison: :data:`METHODS`, plus faiss's
    compiled PQ where faiss imports."""
    from effnotes.maddness.faiss_pq import faiss_available

    return METHODS + ([FAISS_PQ] if faiss_available() else [])


def median_time(fn, repeats: int) -> float:
    """Median seconds of ``fn()`` over ``repeats`` calls after one warm-up call, timed once
    the process's other threads are idle (:func:`effnotes.idle_threads.wait_for_idle_threads`:
    a BLAS pool still spinning from a fit would otherwise take the cores from ``fn``)."""
    fn()
    wait_for_idle_threads()
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


def tolerance_ratio(actual, expected, rtol: float, atol: float) -> float:
    """The largest ``|actual - expected| / (atol + rtol |expected|)`` over two arrays of one
    shape: at most 1 exactly when ``np.allclose(actual, expected, rtol, atol)`` holds (NaN
    where the shapes differ or a value is NaN)."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        return float("nan")
    if actual.size == 0:
        return 0.0
    return float(np.max(np.abs(actual - expected) / (atol + rtol * np.abs(expected))))


@contextmanager
def _threads(profile):
    """numba and BLAS on ``profile.threads`` threads inside the block."""
    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(min(profile.threads, numba.config.NUMBA_NUM_THREADS))
    with threadpool_limits(profile.threads):
        yield


def toy_points(rng: np.random.Generator) -> np.ndarray:
    """Three Gaussian blobs of 150 points each in 2-D, drawn from ``rng``: float64
    ``(450, 2)``."""
    return np.concatenate([rng.normal(loc, 0.35, size=(150, 2))
                           for loc in ([0, 0], [2, 1], [0, 2.5])])


def hash_function(profile, state, *, progress=False) -> dict:
    """One tree learned on 2-D toy points, walked row by row and encoded by the vectorised
    reference encoder: how many points either puts in another bucket than the learner.

    The worked examples (this toy, the bucket of :func:`split_search`, the random tables of
    :func:`averaging`) draw in turn from one generator seeded 0, left in ``_rng``."""
    rng = np.random.default_rng(0)
    toy = toy_points(rng)
    tree = learn_tree(toy)
    walked = walk_tree(toy, tree.split_dims, tree.thresholds)
    vectorised = encode_reference(toy, tree.split_dims[None], tree.thresholds[None])[:, 0]
    mismatches = int(((walked != tree.codes) | (vectorised != tree.codes)).sum())
    return {"_rng": rng, "_toy": toy, "toy_rows": len(toy), "toy_code_mismatches": mismatches,
            "toy_level_sse": [float(v) for v in tree.level_sse]}


def split_search(profile, state, *, progress=False) -> dict:
    """The prefix-sum SSE of every split point of one bucket (60 rows, 6 columns, sorted by
    column 0) against brute force, and the threshold
    :func:`~effnotes.maddness.hashing.best_split` picks."""
    rng = state["_rng"]
    bucket = rng.normal(size=(60, 6)) + np.outer(np.sign(rng.normal(size=60)), np.ones(6))
    ordered = bucket[np.argsort(bucket[:, 0], kind="stable")]
    fast, slow = split_losses(ordered), split_losses_brute(ordered)
    threshold, _ = best_split(bucket, 0)
    return {"_split": {"values": ordered[:, 0], "losses": fast, "threshold": threshold},
            "split_max_diff": float(np.abs(fast - slow).max()),
            "split_tolerance_ratio": tolerance_ratio(fast, slow, SPLIT_RTOL, SPLIT_ATOL)}


def prototypes(profile, state, *, progress=False) -> dict:
    """The digits layer, MADDNESS fitted on it with :data:`EXAMPLE_CODEBOOKS` codebooks, and
    the NMSE of the product of the reconstructed test rows with ``B`` before and after the
    ridge refit of the prototypes."""
    with _threads(profile):
        task = digits_task(hidden=profile.hidden)
        est = Maddness(ncodebooks=EXAMPLE_CODEBOOKS).fit(task.A_train, task.B)
    codes = encode_reference(task.A_test, est.split_dims_, est.thresholds_)
    exact = task.A_test.astype(np.float64) @ task.B
    after = reconstruct(est.prototypes_, codes) @ task.B
    rise = max(float(np.max(np.diff(levels))) for levels in est.level_sse_)
    return {"_task": task, "_est": est, "_codes_test": codes, "_after": after,
            "n_train": len(task.A_train), "n_test": len(task.A_test),
            "digits_width": int(task.A_train.shape[1]),
            "exact_accuracy": task.accuracy(exact),
            "nmse_means": nmse(exact, reconstruct(est.bucket_means_, codes) @ task.B),
            "nmse_ridge": nmse(exact, after), "level_sse_max_rise": rise}


def lookup_tables(profile, state, *, progress=False) -> dict:
    """The float tables summed against the reconstructed product, and the 8-bit tables:
    the largest error of their exact integer sum and its bound ``C / (2 alpha)``, their range,
    and the largest entry before clipping to a byte."""
    est, codes, after = state["_est"], state["_codes_test"], state["_after"]
    q = est.quantized_
    C = est.ncodebooks
    float_sum = sum(est.tables_[c, codes[:, c]] for c in range(C))
    unclipped = np.floor(q.scale * (est.tables_ - q.offsets[:, None, None]) + 0.5)
    return {"identity_gap": float(np.abs(float_sum - after).max() / np.abs(after).max()),
            "table_error": float(np.abs(aggregate_reference(codes, q, "sum")
                                        - float_sum).max()),
            "table_bound": float(C * 0.5 / q.scale), "lut_min": int(q.lut.min()),
            "lut_max": int(q.lut.max()), "lut_unclipped_max": float(unclipped.max())}


def averaging_errors(rng: np.random.Generator, ncodebooks=(16, 32, 64),
                     rows: int = 20000) -> pd.DataFrame:
    """The mean error (table units) of the round-up averaging tree against the exact sum on
    random 8-bit tables (``(C, 16, 8)``) and ``rows`` random codes, without and with the bias
    correction, beside the predicted ``C log2(U) / 4``: one row per (C, corrected). Tables
    and codes are drawn from ``rng``."""
    from effnotes.maddness.tables import QuantizedTables

    out = []
    for C in ncodebooks:
        q = QuantizedTables(rng.integers(0, 256, size=(C, 16, 8)).astype(np.uint8),
                            np.zeros(C), 1.0)
        codes = rng.integers(0, 16, size=(rows, C)).astype(np.uint8)
        exact = aggregate_reference(codes, q, "sum")
        for corrected in (False, True):
            approx = aggregate_reference(codes, q, "average", corrected)
            out.append({"C": C, "bias corrected": corrected,
                        "mean error (table units)": float((approx - exact).mean()),
                        "predicted C log2(U)/4": averaging_bias(C)})
    return pd.DataFrame(out)


def averaging(profile, state, *, progress=False) -> dict:
    """:func:`averaging_errors` at C = 16, 32 and 64, drawn from the worked examples'
    generator (``_rng``)."""
    return {"averaging_bias": averaging_errors(state["_rng"])}


def backends(profile, state, *, progress=False) -> dict:
    """The compiled (numba) estimator against the NumPy reference on the digits test rows,
    row-major and column-major: codes that differ, and how far the outputs are apart as a
    share of the allowed float32 rounding (at most 1: they agree)."""
    task, est = state["_task"], state["_est"]
    with _threads(profile):
        ref = Maddness(ncodebooks=EXAMPLE_CODEBOOKS, backend="numpy").fit(task.A_train, task.B)
        rows = []
        for layout, A in (("row-major", task.A_test), ("column-major",
                                                       np.asfortranarray(task.A_test))):
            rows.append({"layout": layout,
                         "codes differing": int((est.encode(A) != ref.encode(A)).sum()),
                         "output / tolerance": tolerance_ratio(est.matmul(A), ref.matmul(A),
                                                               KERNEL_RTOL, KERNEL_ATOL)})
    frame = pd.DataFrame(rows)
    return {"backends": frame, "backend_code_mismatches": int(frame["codes differing"].sum()),
            "backend_output_ratio": float(frame["output / tolerance"].max())}


def digits_accuracy(profile, state, *, progress=False) -> dict:
    """Every method of :data:`METHODS` at every budget on the digits layer."""
    with _threads(profile):
        return {"digits": evaluate(state["_task"], METHODS, list(profile.budgets),
                                   progress=progress)}


def ucr_accuracy(profile, state, *, progress=False) -> dict:
    """Every method at ``profile.ucr_codebooks`` on each UCR set (bundled, or every set of
    the local archive at ``profile.data_path`` that passes the paper's filter), and each
    set's number of training series."""
    names, root, kept = ucr_selection(profile.data_path, list(profile.ucr_sets))
    out = {} if kept is None else {"ucr_filter": kept}
    frames, sizes = [], []
    with _threads(profile):
        for name in names:
            task = ucr_task(name, root=root)
            sizes.append({"task": name, "train_rows": len(task.A_train)})
            frames.append(evaluate(task, METHODS, [profile.ucr_codebooks], progress=progress))
    out["ucr"] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    out["ucr_train_rows"] = pd.DataFrame(sizes, columns=["task", "train_rows"])
    return out


def speed(profile, state, *, progress=False) -> dict:
    """The benchmark against NumPy's float32 matmul (each side in its own process, on
    ``profile.threads`` threads): its table, the hardware, and the sentence summarising it."""
    bench = run_benchmark(BenchConfig(shapes=[tuple(s) for s in profile.bench_shapes],
                                      threads=profile.threads, repeats=profile.bench_repeats,
                                      ncodebooks=profile.bench_codebooks,
                                      train_rows=profile.train_rows))
    by_call = bench["table"].pivot_table(index=["N", "M", "layout"], columns="method",
                                         values="warm_ms")
    cost = by_call[DEFAULT_CALL] / by_call[RAW_KERNEL] - 1
    return {"bench": bench["table"], "bench_hardware": bench["hardware"],
            "bench_line": summary_line(bench), "bench_other_load": other_load_text(bench),
            "call_cost_max_percent": 100 * float(cost.max())}


def faiss_sentence(peer: pd.DataFrame) -> str:
    """What the page says of MADDNESS against faiss's PQ, from a :func:`peer_speedups`
    frame (the range and median of the speedups, the budgets where MADDNESS's NMSE is as
    low or lower), or that faiss was not compared."""
    if not len(peer):
        return "not compared with faiss's PQ: faiss is not installed here"
    wins = peer[peer["nmse_maddness"] <= peer["nmse_peer"]]["budget"].tolist()
    return (f"{peer['speedup'].min():.0f}× to {peer['speedup'].max():.0f}× (median "
            f"{peer['speedup'].median():.0f}×) faster than faiss's PQ at the same number of "
            f"codebooks, with an NMSE as low or lower at C in {wins}")


def speed_against_accuracy(profile, state, *, progress=False) -> dict:
    """:func:`tradeoff` at ``profile.tradeoff_shape``, MADDNESS against faiss's PQ at each
    budget, and the sentences saying which methods the figure shows."""
    faiss_here = FAISS_PQ in tradeoff_methods()
    with _threads(profile):
        trade = tradeoff(tuple(profile.tradeoff_shape), list(profile.budgets), 0,
                         profile.train_rows, profile.time_repeats, progress)
    peer = peer_speedups(trade)
    shown = ("every method compiled (NumPy's BLAS, numba, faiss)" if faiss_here else
             "all methods, PQ and Bolt in NumPy: faiss is not installed (pip install "
             "'effnotes[compare]'), so the comparison against a compiled PQ is missing "
             "from this run")
    return {"tradeoff": trade, "faiss_here": faiss_here, "peer": peer,
            "tradeoff_shown": shown, "faiss_comparison": faiss_sentence(peer)}


def codebooks_and_lambda(profile, state, *, progress=False) -> dict:
    """:func:`lambda_grid` on the digits layer: every (codebooks, lambda) of the profile."""
    with _threads(profile):
        return {"lambda_grid": lambda_grid(state["_task"], list(profile.budgets),
                                           list(profile.lambdas), profile.time_rows,
                                           profile.time_repeats)}


EXPERIMENT = Experiment(CHAPTER, [hash_function, split_search, prototypes, lookup_tables,
                                  averaging, backends, digits_accuracy, ucr_accuracy, speed,
                                  speed_against_accuracy, codebooks_and_lambda])


def run(profile, *, progress: bool = False) -> Result:
    """Every stage at ``profile`` (the chapter's :class:`~effnotes.maddness.profiles.Profile`);
    the :class:`~effnotes.contract.Result`."""
    return EXPERIMENT.run(profile, progress=progress)


def main(argv: list[str] | None = None) -> int:
    """``python -m effnotes.maddness.experiment``: an alias of ``effnotes experiment
    maddness``."""
    return experiment_main(CHAPTER, argv)


if __name__ == "__main__":
    raise SystemExit(main())
