"""The benchmarks' claims: each claims function on small made-up results (holding and
failing), the benchmarks' ``--store`` recording them, the registry that finds the stored
benchmark files, and every stored benchmark file re-judged by today's code."""

import json
import math

import pandas as pd
import pytest

from effnotes.claims import COLUMNS, failing
from effnotes.maddness.bench_claims import (bench_claims, sweep_cells_missing, threads_claims,
                                            threads_off)
from effnotes.results import load_result, save_result
from effnotes.stored_runs import (Benchmark, benchmarks, claims_report, rejudge_benchmark,
                                  status_rows, stored_benchmarks)
from effnotes.unit_scaling import gpu_bench
from effnotes.unit_scaling.bench_claims import (distributed_claims, profile_claims,
                                                step_time_claims)

#: the five stored benchmark files, by chapter
STORED = {("maddness", "bench-2core"), ("maddness", "threads-16core"),
          ("unit_scaling", "distributed_n1"), ("unit_scaling", "gpu_profile"),
          ("unit_scaling", "gpu_step_times")}


def _row(table, name):
    return table.set_index("name").loc[name]


# --- maddness: the speed benchmark -------------------------------------------------------


def _bench_result(speedups, threads=2, blas="openblas 0.3.30 (2 threads)",
                  numba="numba 0.63.1, 2 threads, workqueue threading layer", load=0.01):
    """A benchmark result at N=10000 whose fused kernel and est.matmul(A) have the warm
    ``speedups[(layout, M)]`` over NumPy (est.matmul(A) a tenth slower)."""
    rows = []
    for (layout, m), speed in speedups.items():
        for method, factor in (("numpy float32 matmul", None), ("maddness fused", 1.0),
                               ("maddness matmul", 0.9)):
            value = 1.0 if factor is None else speed * factor
            rows.append({"N": 10000, "D": 512, "M": m, "layout": layout, "method": method,
                         "warm_ms": 10.0 / value, "cold_ms": 20.0 / value,
                         "speedup_warm": value, "speedup_cold": value / 2})
    return {"table": pd.DataFrame(rows), "config": {"threads": threads},
            "hardware": {"blas": blas, "numba": numba, "threads": threads,
                         "other_load_cores": {"numpy": load, "numba": load / 2}}}


FAST = {("row-major", 10): 10.0, ("row-major", 100): 20.0, ("column-major", 10): 20.0,
        ("column-major", 100): 40.0}


def test_bench_claims_hold_on_a_fast_quiet_run():
    table = bench_claims(_bench_result(FAST))
    assert list(table.columns) == list(COLUMNS)
    assert table["holds"].all(), table[~table["holds"]]
    assert not table.set_index("name").loc[lambda t: t["kind"] == "result", "enforced"].any()
    assert _row(table, "threads_as_asked")["enforced"]


def test_bench_claims_fail_where_the_run_falls_short():
    slow = {**FAST, ("row-major", 10): 3.0}  # raw kernel 3x, est.matmul(A) 2.7x
    table = bench_claims(_bench_result(slow, load=0.5,
                                       numba="numba 0.63.1, 1 threads"))
    broken = set(table.loc[~table["holds"], "name"])
    assert broken == {"threads_as_asked", "machine_quiet", "goal_call_speedup_row_major_m10"}
    assert _row(table, "goal_call_speedup_row_major_m10")["value"] == pytest.approx(2.7)
    assert list(failing(table)["name"]) == ["threads_as_asked"]  # the only enforced one
    assert "FAIL] threads_as_asked" in claims_report(table, "benchmark")


def test_bench_claims_say_what_an_older_table_did_not_measure():
    result = _bench_result(FAST)
    result["table"] = result["table"][result["table"]["method"] != "maddness matmul"]
    table = bench_claims(result)
    calls = table[table["name"].str.contains("call_speedup")]
    assert len(calls) == 6 and not calls["holds"].any() and calls["value"].isna().all()
    assert table[table["name"].str.startswith("kernel_")]["holds"].all()


def test_threads_off_reads_both_sides():
    assert threads_off({"blas": "openblas (4 threads); mkl (4 threads)",
                        "numba": "numba 0.6, 4 threads"}, 4) == 0
    assert threads_off({"blas": "openblas (4 threads); mkl (2 threads)",
                        "numba": "numba 0.6, 4 threads"}, 4) == 1
    assert threads_off({"blas": "unknown", "numba": "numba 0.6"}, 4) == 2


def test_bench_claims_refuse_what_is_not_a_benchmark_result():
    with pytest.raises(TypeError, match="result must be"):
        bench_claims([1, 2])
    with pytest.raises(ValueError, match="lacks"):
        bench_claims({"table": []})


# --- maddness: the thread sweep ----------------------------------------------------------


def _sweep(at_top=1.0, threads=(1, 2, 16), rows=(100000,), drop=None):
    """A sweep of both cases: warm times halve from 1 to 2 threads, and at the most threads
    are ``at_top`` ms for the fused kernel (BLAS 10 ms throughout; est.matmul(A) 1.2x)."""
    table = []
    for n in rows:
        for layout, m in (("row-major", 10), ("column-major", 100)):
            for t in threads:
                fused = {1: 6.0, 2: 3.0}.get(t, at_top)
                for method, ms in (("numpy float32 matmul", 10.0), ("maddness fused", fused),
                                   ("maddness matmul", 1.2 * fused),
                                   ("maddness matmul(out=)", 1.1 * fused)):
                    if drop == (n, m, t, method):
                        continue
                    table.append({"N": n, "D": 512, "M": m, "layout": layout,
                                  "method": method, "threads": t, "warm_ms": ms,
                                  "cold_ms": 2 * ms, "speedup_warm": 10.0 / ms,
                                  "speedup_cold": 5.0 / ms})
    return {"table": table, "hardware": {}, "copy_gb_s": {},
            "config": {"threads": list(threads), "rows": list(rows)}}


def test_threads_claims_hold_on_a_sweep_that_scales():
    table = threads_claims(_sweep(at_top=1.0))
    assert table["holds"].all(), table[~table["holds"]]
    assert _row(table, "thread_scaling_goal")["value"] == pytest.approx(3.0)
    assert set(table["name"]) == {"sweep_complete", "thread_scaling_goal",
                                  "call_speedup_row_major_m10", "call_speedup_column_major_m100",
                                  "kernel_speedup_row_major_m10",
                                  "kernel_speedup_column_major_m100"}
    assert "at 16 threads" in _row(table, "kernel_speedup_row_major_m10")["claim"]


def test_threads_claims_fail_on_a_sweep_that_does_not_scale_or_has_gaps():
    flat = threads_claims(_sweep(at_top=2.5))  # 3.0 / 2.5 = 1.2 < 1.5; 4x < 8x at M=100
    broken = set(flat.loc[~flat["holds"], "name"])
    assert broken == {"thread_scaling_goal", "call_speedup_column_major_m100",
                      "kernel_speedup_column_major_m100"}
    assert not len(failing(flat))  # timings: shown, not enforced
    gap = _sweep(drop=(100000, 100, 16, "maddness matmul(out=)"))
    assert sweep_cells_missing(gap) == 1
    assert list(failing(threads_claims(gap))["name"]) == ["sweep_complete"]


def test_threads_claims_say_when_the_goal_was_not_swept():
    row = _row(threads_claims(_sweep(rows=(10000,))), "thread_scaling_goal")
    assert math.isnan(row["value"]) and not row["holds"]
    assert "did not time 2 and 16 threads at N = 100,000" in row["verdict"]


# --- unit_scaling: step times, the kernel profile, the distributed benchmark ------------


def _steps(fp8, tao, wide=(0.5, 0.4), unavailable=None):
    def size(visits, gone=None):
        return {"arms": gpu_bench.summarise_visits(visits), "unavailable": gone or {}}
    return {"sizes": {"d2048": size({"bf16": [0.28] * 3, "fp8": fp8,
                                     "torchao_tensorwise": tao}, unavailable),
                      "d4096": size({"bf16": [wide[0]] * 3, "fp8": [wide[1]] * 3})}}


def test_step_time_claims_hold_and_fail():
    good = step_time_claims(_steps([0.20, 0.20, 0.205], [0.25, 0.24, 0.26]))
    assert good["holds"].all() and not good["enforced"].any()
    assert _row(good, "speed_goal")["value"] == pytest.approx(1.4)
    bad = step_time_claims(_steps([0.22, 0.21, 0.25], [0.24, 0.25, 0.26], wide=(0.5, 0.6)))
    assert not bad["holds"].any()
    assert _row(bad, "speed_torchao")["value"] == pytest.approx(0.25 / 0.24)


def test_step_time_claims_name_what_did_not_run():
    steps = _steps([0.2] * 3, [])  # torchao had no visit
    steps["sizes"]["d2048"]["unavailable"] = {"torchao_tensorwise": "torchao is not installed"}
    del steps["sizes"]["d4096"]
    table = step_time_claims(steps)
    assert list(table["holds"]) == [True, False, False]
    assert "torchao is not installed" in _row(table, "speed_torchao")["verdict"]
    assert "no step-time comparison at d4096" in _row(table, "speed_wide")["verdict"]


def test_the_page_reads_its_speed_verdicts_from_step_time_claims():
    from effnotes.unit_scaling.gpu_report import stored_claims

    steps = _steps([0.22, 0.21, 0.25], [0.24, 0.25, 0.26], wide=(0.5, 0.6))
    page = stored_claims(None, steps)
    rows = step_time_claims(steps).set_index("name")
    for name in ("speed_goal", "speed_torchao", "speed_wide"):
        assert page.loc[name, "holds"] == ("yes" if rows.loc[name, "holds"] else "NO")
        assert page.loc[name, "claim"] in rows.loc[name, "claim"]


def _breakdown(gemm_fp8=60.0, cast_fp8=12.0):
    rows = [("GEMMs", 100.0, gemm_fp8), ("attention", 20.0, 20.0),
            ("casts and copies", 10.0, cast_fp8)]
    return {"breakdown": [{"category": c, "bf16_ms": b, "fp8_ms": f, "saved_ms": b - f}
                          for c, b, f in rows], "hardware": {}}


def test_profile_claims_hold_and_fail():
    assert profile_claims(_breakdown())["holds"].all()
    slow = profile_claims(_breakdown(gemm_fp8=120.0, cast_fp8=8.0))
    assert set(slow.loc[~slow["holds"], "name"]) == {
        "fp8_gemms_faster", "fp8_kernel_time_shorter", "rest_not_faster"}
    assert _row(slow, "rest_not_faster")["value"] == pytest.approx(30 / 28)
    gone = _breakdown()
    gone["breakdown"] = gone["breakdown"][1:]
    table = profile_claims(gone)
    assert "no GEMMs category" in _row(table, "fp8_gemms_faster")["verdict"]
    with pytest.raises(ValueError, match="no 'breakdown'"):
        profile_claims({"hardware": {}})


def _distributed(world=1, fp8_bytes=500, counted=None):
    arms = {}
    for name, gathered in (("fsdp_fp8", 1000), ("fsdp_fp8_gather8", fp8_bytes)):
        moved = (counted or {}).get(name, gathered if world > 1 else 0)
        arms[name] = {"all_gather_bytes_per_step": gathered,
                      "collectives": {"bytes": {"all_gather": moved} if moved else {}}}
    arms["plain_fp8"] = {"all_gather_bytes_per_step": None, "collectives": None}
    return {"world_size": world, "arms": arms,
            "summary": {"all_gather_bytes_ratio": fp8_bytes / 1000}}


def test_distributed_claims_hold_and_fail():
    for world in (1, 2):
        table = distributed_claims(_distributed(world))
        assert table["holds"].all() and table["enforced"].all(), world
    wrong = distributed_claims(_distributed(2, fp8_bytes=1000, counted={"fsdp_fp8": 900}))
    assert list(failing(wrong)["name"]) == ["fp8_gather_fewer_bytes",
                                            "counted_bytes_as_computed"]
    assert _row(wrong, "counted_bytes_as_computed")["value"] == 100
    # at N=1 any counted byte is a collective FSDP2 was not expected to call
    assert not _row(distributed_claims(_distributed(1, counted={"fsdp_fp8": 8})),
                    "counted_bytes_as_computed")["holds"]


# --- --store records the claims -----------------------------------------------------------


def test_the_benchmark_stores_its_claims(tmp_path, monkeypatch):
    from effnotes.maddness import bench

    monkeypatch.setenv("EFFNOTES_RESULTS", str(tmp_path))
    result = _bench_result(FAST)
    result["config"] = {"threads": 2, "shapes": [[10000, 512, 10], [10000, 512, 100]]}
    monkeypatch.setattr(bench, "run_benchmark", lambda cfg: result)
    monkeypatch.setattr(bench, "format_table", lambda result: "")
    assert bench.main(["--store", "bench-test"]) == 0
    stored = load_result("maddness", "bench-test", tmp_path)
    recorded = pd.DataFrame(stored.provenance["claims"])
    assert list(recorded["name"]) == list(bench_claims(stored.data)["name"])
    assert recorded["holds"].all()
    assert rejudge_benchmark("maddness", "bench-test", tmp_path)["holds"].all()
    result["hardware"]["numba"] = "numba 0.63.1, 1 threads"  # an enforced claim fails
    assert bench.main([]) == 1


def test_the_thread_sweep_stores_its_claims(tmp_path, monkeypatch):
    from effnotes.maddness import threads

    monkeypatch.setenv("EFFNOTES_RESULTS", str(tmp_path))
    sweep = _sweep(at_top=2.5)
    sweep["table"] = pd.DataFrame(sweep["table"]).assign(warm_gb_s=1.0, scaling_warm=1.0)
    sweep["summary"] = ["a line"]
    monkeypatch.setattr(threads, "run_threads", lambda cfg: sweep)
    assert threads.main(["--threads", "1,2,16", "--rows", "100000", "--store",
                         "threads-test"]) == 0
    stored = load_result("maddness", "threads-test", tmp_path)
    recorded = {c["name"]: c["holds"] for c in stored.provenance["claims"]}
    assert recorded["sweep_complete"] and not recorded["thread_scaling_goal"]


def test_the_step_time_comparison_and_profile_store_their_claims(tmp_path, monkeypatch):
    import torch

    from effnotes.unit_scaling import gpu_profile

    monkeypatch.setenv("EFFNOTES_RESULTS", str(tmp_path))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "a made-up GPU")
    steps = _steps([0.20, 0.20, 0.205], [0.25, 0.24, 0.26])
    monkeypatch.setattr(gpu_bench, "run_step_times", lambda *a, **k: steps)
    assert gpu_bench.main(["--step-times", "--store"]) == 0
    stored = load_result("unit_scaling", "gpu_step_times", tmp_path)
    assert [c["holds"] for c in stored.provenance["claims"]] == [True, True, True]
    frame = pd.DataFrame(_breakdown(gemm_fp8=120.0)["breakdown"]).set_index("category")
    monkeypatch.setattr(gpu_profile, "compare_breakdowns", lambda *a, **k: frame)
    assert gpu_profile.main(["--store"]) == 0
    stored = load_result("unit_scaling", "gpu_profile", tmp_path)
    assert not stored.provenance["claims"][0]["holds"]  # FP8 GEMMs slower: recorded so
    assert gpu_profile.main([]) == 0  # a timing claim that fails is not enforced


# --- the registry and the stored files ------------------------------------------------------


def test_benchmark_entries_are_checked():
    with pytest.raises(ValueError, match="pattern must be a regular expression"):
        Benchmark("x", "(", None, ("effnotes",), bench_claims)
    with pytest.raises(TypeError, match="modules must be a tuple"):
        Benchmark("x", "x", None, ["effnotes"], bench_claims)
    with pytest.raises(TypeError, match="claims must be a function"):
        Benchmark("x", "x", None, ("effnotes",), "bench_claims")
    entry = Benchmark("x", r"bench(-.+)?", "bench", ("effnotes",), bench_claims)
    assert entry.matches("bench-2core", {"profile": "bench"})
    assert not entry.matches("bench-2core", {"profile": "gpu"})
    assert not entry.matches("gpu", {"profile": "bench"})
    assert benchmarks("pruning") == ()


def test_the_stored_benchmark_files_are_found():
    found = {(chapter, name) for chapter in ("maddness", "unit_scaling")
             for name, _ in stored_benchmarks(chapter)}
    assert found == STORED


@pytest.mark.parametrize("chapter,name", sorted(STORED))
def test_stored_benchmark_is_judged_by_todays_claims(chapter, name):
    """Each stored benchmark file carries its claims as judged when they were recorded;
    today's code gives the same verdicts (a claim changed since is seen here)."""
    stored = load_result(chapter, name)
    table = rejudge_benchmark(chapter, name)
    assert len(table) and list(table.columns) == list(COLUMNS)
    recorded = stored.provenance["claims"]
    assert [c["name"] for c in recorded] == list(table["name"])
    assert [c["holds"] for c in recorded] == table["holds"].tolist()
    assert [c["verdict"] for c in recorded] == table["verdict"].tolist()
    if "claims_judged" in stored.provenance:
        assert stored.provenance["claims_judged"].startswith("not at store time: judged "
                                                             "afterwards by the ")


def test_status_lists_a_stored_benchmark(tmp_path):
    result = _bench_result(FAST)
    result["config"] = {"threads": 2}
    table = bench_claims(result)
    save_result("maddness", "bench-test", result, profile="bench", parameters={},
                wall_time_s=1.0, root=tmp_path)
    (tmp_path / "maddness" / "bench-broken.json").write_text(json.dumps({"data": {}}))
    rows = status_rows(tmp_path).set_index("run")
    assert rows.loc["bench-test", "kind"] == "benchmark"
    assert rows.loc["bench-test", "claims_today"] == f"{len(table)}/{len(table)} hold"
    assert rows.loc["bench-test", "source"].startswith("python -m effnotes.maddness.bench")
    assert rows.loc["bench-broken", "source"].startswith("unreadable")
