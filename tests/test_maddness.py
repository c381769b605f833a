"""MADDNESS: the card's correctness checks, the two paths, the baselines and clear errors."""

import numpy as np
import pytest

from effnotes.maddness import Maddness, NotFittedError
from effnotes.maddness.accuracy import nmse
from effnotes.maddness.baselines import BASELINES, make_method
from effnotes.maddness.hashing import best_split, encode_reference, learn_tree, split_losses
from effnotes.maddness.tables import (aggregate_reference, averaging_bias, quantize_tables,
                                      reconstruct, ridge_prototypes)


def data(n=600, d=32, m=5, seed=0):
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(6, d))
    A = (rng.normal(size=(n, 6)) @ basis + 0.1 * rng.normal(size=(n, d))).astype(np.float32)
    B = rng.normal(size=(d, m)).astype(np.float32)
    return A, B


def brute_sse(rows):
    return ((rows - rows.mean(0)) ** 2).sum() if len(rows) else 0.0


def test_cumulative_sse_equals_brute_force():
    rows = np.sort(np.random.default_rng(1).normal(size=(40, 3)), axis=0)
    fast = split_losses(rows)
    slow = [brute_sse(rows[: s + 1]) + brute_sse(rows[s + 1:]) for s in range(39)]
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-9)


def test_best_split_is_the_brute_force_optimum_and_separates_rows():
    rows = np.random.default_rng(2).normal(size=(50, 4))
    thr, loss = best_split(rows, 2)
    right = rows[:, 2].astype(np.float32) > np.float32(thr)
    assert np.isclose(loss, brute_sse(rows[right]) + brute_sse(rows[~right]))
    best = min(brute_sse(rows[rows[:, 2] > v]) + brute_sse(rows[rows[:, 2] <= v])
               for v in rows[:, 2])
    assert loss <= best + 1e-9


def test_sse_never_rises_per_level_and_codes_follow_the_tree():
    A, _ = data()
    tree = learn_tree(A[:, :8].astype(np.float64), column_offset=0)
    assert np.all(np.diff(tree.level_sse) <= 1e-9)
    walked = []
    for x in A:
        i = 0
        for t in range(4):
            i = 2 * i + int(x[tree.split_dims[t]] > tree.thresholds[2**t - 1 + i])
        walked.append(i)
    np.testing.assert_array_equal(walked, tree.codes)
    codes = encode_reference(A, tree.split_dims[None], tree.thresholds[None])
    np.testing.assert_array_equal(codes[:, 0], tree.codes)
    assert codes.max() <= 15


def test_float_tables_sum_to_reconstruction_times_B():
    A, B = data()
    est = Maddness(8).fit(A, B)
    codes = est.encode(A)
    expected = reconstruct(est.prototypes_, codes) @ B.astype(np.float64)
    np.testing.assert_allclose(est.predict_float(A), expected, rtol=1e-5, atol=1e-5)


def test_ridge_with_vanishing_lambda_gives_bucket_means():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 16, size=(300, 1)).astype(np.uint8)
    X = rng.normal(size=(300, 5))
    P = ridge_prototypes(codes, X, 1e-10)[0]
    for k in range(16):
        np.testing.assert_allclose(P[k], X[codes[:, 0] == k].mean(0), atol=1e-6)


def test_quantised_tables_in_range_with_bounded_error():
    rng = np.random.default_rng(4)
    tables = rng.normal(size=(16, 16, 7)) * rng.uniform(0.1, 5, size=(16, 1, 1))
    q = quantize_tables(tables)
    assert q.lut.dtype == np.uint8 and q.lut.min() >= 0 and q.lut.max() <= 255
    err = np.abs(q.lut / q.scale + q.offsets[:, None, None] - tables)
    assert err.max() <= 0.5 / q.scale + 1e-12
    assert np.log2(q.scale / (255.5 - 1e-6)) == np.round(np.log2(q.scale / (255.5 - 1e-6)))


@pytest.mark.parametrize("C", [16, 32, 64])
def test_bias_corrected_averaging_has_no_mean_error(C):
    rng = np.random.default_rng(C)
    q = quantize_tables(rng.normal(size=(C, 16, 4)))
    codes = rng.integers(0, 16, size=(20000, C)).astype(np.uint8)
    exact = aggregate_reference(codes, q, "sum").astype(np.float64)
    raw = aggregate_reference(codes, q, "average", bias_correction=False)
    fixed = aggregate_reference(codes, q, "average")
    units = q.scale
    assert abs((raw - exact).mean() * units - averaging_bias(C)) < 0.1 * averaging_bias(C)
    assert abs((fixed - exact).mean() * units) < 0.05 * averaging_bias(C)


def test_nmse_falls_with_codebooks():
    A, B = data(n=1500)
    errors = [nmse(A @ B, Maddness(C).fit(A[:1000], B).matmul(A)) for C in (2, 4, 8, 16)]
    assert all(b < a for a, b in zip(errors, errors[1:])), errors


@pytest.mark.parametrize("C,M,aggregation", [(16, 5, "average"), (8, 20, "sum"), (4, 3, "average")])
def test_fast_path_equals_reference(C, M, aggregation):
    for dtype, order in [(np.float32, "C"), (np.float32, "F"), (np.float64, "C"), (np.float64, "F")]:
        A, B = data(n=777, m=M)
        A = np.asarray(A, dtype=dtype, order=order)
        fast = Maddness(C, aggregation=aggregation).fit(A[:500], B)
        ref = Maddness(C, aggregation=aggregation, backend="numpy").fit(A[:500], B)
        codes = ref.encode(A)
        np.testing.assert_array_equal(fast.encode(A), codes)
        np.testing.assert_allclose(fast.matmul(A), ref.matmul(A), rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(fast.aggregate(codes), ref.aggregate(codes), rtol=1e-5,
                                   atol=1e-4)
        out = np.empty((len(A), M), np.float32)
        assert fast.matmul(A, out=out) is out
        np.testing.assert_allclose(out, ref.matmul(A), rtol=1e-5, atol=1e-4)


def test_set_B_rebuilds_tables_only():
    A, B = data()
    est = Maddness(8).fit(A, B)
    dims, protos = est.split_dims_.copy(), est.prototypes_.copy()
    B2 = np.random.default_rng(9).normal(size=(B.shape[0], 12)).astype(np.float32)
    est.set_B(B2)
    assert np.array_equal(dims, est.split_dims_) and np.array_equal(protos, est.prototypes_)
    assert est.matmul(A).shape == (len(A), 12)
    assert nmse(A @ B2, est.matmul(A)) < 0.5


def test_errors_are_clear():
    A, B = data()
    with pytest.raises(NotFittedError, match="call fit"):
        Maddness().matmul(A)
    with pytest.raises(NotFittedError, match="call fit"):
        Maddness().encode(A)
    with pytest.raises(NotFittedError, match="set_B"):
        Maddness(8).fit(A).matmul(A)
    with pytest.raises(ValueError, match="B has 31 rows"):
        Maddness(8).fit(A, B[:31])
    with pytest.raises(ValueError, match="expects 32"):
        Maddness(8).fit(A, B).matmul(A[:, :30])
    with pytest.raises(ValueError, match="does not divide"):
        Maddness(5).fit(A, B)
    with pytest.raises(ValueError, match="exceeds"):
        Maddness(64).fit(A, B)
    with pytest.raises(ValueError, match="at least 16"):
        Maddness(8).fit(A[:10], B)
    bad = A.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Maddness(8).fit(bad, B)
    with pytest.raises(ValueError, match="NaN"):
        Maddness(8).fit(A, B).matmul(bad)
    with pytest.raises(TypeError, match="float32 or float64"):
        Maddness(8).fit(A.astype(np.int32), B)
    with pytest.raises(ValueError, match="2-D"):
        Maddness(8).fit(A[0], B)
    with pytest.raises(ValueError, match="backend"):
        Maddness(8, backend="cuda").fit(A, B)
    with pytest.raises(ValueError, match="out must be"):
        Maddness(8).fit(A, B).matmul(A, out=np.empty((3, 3), np.float32))


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baselines_share_one_interface(name):
    A, B = data()
    est = make_method(name, 8).fit(A[:400], B)
    Y = est.matmul(A[400:])
    assert Y.shape == (200, B.shape[1])
    limit = {"exact": 1e-10, "RandGauss": 10.0}.get(name, 0.5)  # a sketch of 8 of 32 dims is rough
    assert nmse(A[400:] @ B, Y) < limit
    with pytest.raises(NotFittedError):
        make_method(name, 8).matmul(A)
    with pytest.raises(ValueError, match="rows"):
        make_method(name, 8).fit(A, B[:10])
    with pytest.raises(ValueError, match="unknown method"):
        make_method("nope", 8)


def test_bench_pairs_each_shape_with_its_own_baseline():
    """Two shapes sharing M (the gpu profile's case) each get their own numpy baseline."""
    from effnotes.maddness.bench import BenchConfig, run_benchmark, summary_line

    result = run_benchmark(BenchConfig(shapes=[(600, 32, 10), (1200, 32, 10)], threads=1,
                                       repeats=2, ncodebooks=4, train_rows=200))
    line = summary_line(result)
    assert "row-major" in line and "column-major" in line
    assert "N=600 M=10" in line and "N=1200 M=10" in line
    table = result["table"]
    assert set(table["method"]) == {"numpy float32 matmul", "maddness encode",
                                    "maddness aggregate", "maddness fused",
                                    "maddness matmul"}
    assert (table["warm_ms"] > 0).all() and (table["cold_ms"] > 0).all()
    for (n, layout), part in table.groupby(["N", "layout"]):
        base = part.loc[part["method"] == "numpy float32 matmul", "warm_ms"].iloc[0]
        assert np.allclose(part["speedup_warm"], base / part["warm_ms"]), (n, layout)


def test_speed_targets_are_checked_at_every_timed_shape():
    from effnotes.maddness.bench import check_speed_targets

    table = [{"N": n, "D": 8, "M": 10, "layout": "row-major", "method": method, "speedup_warm": v}
             for n, method, v in [(100, "maddness fused", 3.0), (1000, "maddness fused", 1.5),
                                  (100, "maddness encode", 9.0)]]
    checked = check_speed_targets(table, [["row-major", 10, 2.0], ["column-major", 10, 5.0]])
    assert checked["met"].tolist() == [True, False, False]
    assert checked["N"].iloc[:2].tolist() == [100, 1000] and np.isnan(checked["N"].iloc[2])
    with pytest.raises(ValueError, match="unknown layout"):
        check_speed_targets(table, [["diagonal", 10, 2.0]])
    with pytest.raises(KeyError, match="speedup_warm"):
        check_speed_targets([{"N": 1, "M": 10, "layout": "row-major", "method": "x"}], [])


def test_experiment_command_stores_a_smoke_result(stored_profile):
    from effnotes.maddness import experiment

    record = stored_profile(experiment, "maddness", "smoke")
    assert record["provenance"]["profile"] == "smoke"
    data = record["data"]
    assert {"digits", "lambda_grid", "ucr", "tradeoff", "bench", "bench_hardware"} <= set(data)
    from effnotes.contract import Result
    from effnotes.maddness.claims import headline

    stored = Result("maddness", "smoke", record["provenance"]["parameters"], data,
                    record["provenance"])
    assert headline(stored)["digits relative accuracy, C=16"] > 0.9
    judged = {c["name"]: c for c in record["provenance"]["claims"]}
    assert all(c["holds"] for c in judged.values() if c["kind"] == "correctness"), judged


def test_faiss_pq_codes_are_nearest_centroids_and_sums_its_tables():
    pytest.importorskip("faiss")
    from effnotes.maddness.faiss_pq import FaissPQ, unpack_codes

    A, B = data(n=900)
    errors = []
    for C in (1, 4, 8):  # 1: one nibble per row; 4, 8: both nibbles of every byte
        est = FaissPQ(C).fit(A[:700], B)
        codes = est.encode(A[700:])
        sub = A[700:].reshape(200, C, -1).astype(np.float64)
        nearest = ((sub[:, :, None, :] - est.centroids_[None]) ** 2).sum(-1).argmin(-1)
        assert (codes == nearest).mean() > 0.99  # float32 ties aside
        expected = sum(est.tables_[c, codes[:, c]].astype(np.float64) for c in range(C))
        np.testing.assert_allclose(est.matmul(A[700:]), expected, rtol=1e-5, atol=1e-4)
        errors.append(nmse(A[700:] @ B, est.matmul(A[700:])))
    assert errors[0] > errors[1] > errors[2], errors
    packed = np.array([[0x21, 0x03]], np.uint8)
    assert unpack_codes(packed, 3).tolist() == [[1, 2, 3]]
    with pytest.raises(ValueError, match="do not divide"):
        FaissPQ(5).fit(A, B)


def test_peer_speedups_pair_budgets():
    from effnotes.maddness.experiment import peer_speedups

    frame = [{"method": "MADDNESS", "budget": 4, "nmse": 0.2, "time_ms": 1.0},
             {"method": "MADDNESS", "budget": 16, "nmse": 0.1, "time_ms": 2.0},
             {"method": "PQ (faiss)", "budget": 16, "nmse": 0.15, "time_ms": 30.0},
             {"method": "PCA", "budget": 4, "nmse": 0.3, "time_ms": 0.5}]
    peer = peer_speedups(frame)
    assert peer["budget"].tolist() == [16] and peer["speedup"].tolist() == [15.0]
    assert peer_speedups(frame[:2]).empty


def test_bench_summary_names_the_default_call_and_the_raw_kernel():
    from effnotes.maddness.bench import check_speed_targets, summary_line

    table = [{"N": 10, "D": 8, "M": 10, "layout": "row-major", "method": m,
              "speedup_warm": w, "speedup_cold": 1.0}
             for m, w in [("maddness fused", 5.0), ("maddness matmul", 4.5)]]
    line = summary_line({"table": table, "hardware": {"threads": 2}})
    assert "est.matmul(A)" in line and "4.5x" in line and "raw kernel 5.0x" in line
    met = check_speed_targets(table, [["row-major", 10, 4.8]], "maddness matmul")
    assert met["met"].tolist() == [False]
    assert check_speed_targets(table, [["row-major", 10, 4.8]])["met"].tolist() == [True]


def test_thread_sweep_counts_bytes_and_summarises():
    from effnotes.maddness.threads import bytes_moved, scaling_goal, summary_lines

    dims = np.array([[0, 1, 16, 17], [100, 101, 102, 103]])  # lines 0, 1 and 6 of a row
    assert bytes_moved("maddness", 10, 512, 4, "C", dims) == 10 * 3 * 64 + 10 * 4 * 4
    assert bytes_moved("maddness", 10, 512, 4, "F", dims) == 8 * 10 * 4 + 10 * 4 * 4
    assert bytes_moved("numpy float32 matmul", 10, 512, 4, "C", dims) == 10 * 512 * 4 + 160
    rows = []
    for method, ms in [("numpy float32 matmul", 8.0), ("maddness fused", 1.0),
                       ("maddness matmul", 1.2), ("maddness matmul(out=)", 1.1)]:
        for t, scale in [(1, 1.0), (2, 2.0), (16, 4.0)]:
            rows.append({"N": 100000, "M": 100, "layout": "column-major", "method": method,
                         "threads": t, "warm_ms": ms / scale, "cold_ms": 2 * ms / scale,
                         "warm_gb_s": 1.0, "scaling_warm": scale, "speedup_warm": 8.0 / ms,
                         "speedup_cold": 8.0 / ms})
    assert scaling_goal(rows) == 2.0
    lines = summary_lines({"table": rows, "copy_gb_s": {16: 50.0}})
    assert "x4.0 over 1 thread" in lines[0] and "copy 50.0 GB/s" in lines[0]
    assert lines[-1].endswith("x2.00 (target 1.5)")


def test_thread_scaling_plot_draws_one_line_per_case_and_method():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from effnotes.maddness.plots import plot_thread_scaling

    rows = [{"N": 10, "M": m, "layout": "row-major", "method": method, "threads": t,
             "scaling_warm": float(t) ** 0.5}
            for m in (10, 100) for method in ("numpy float32 matmul", "maddness fused",
                                              "maddness matmul")
            for t in (1, 2, 4)]
    fig, ax = plt.subplots()
    plot_thread_scaling(rows, ax)
    assert len([line for line in ax.lines if len(line.get_xdata()) == 3]) == 4
    plt.close(fig)
