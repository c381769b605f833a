"""What the unit-scaling chapter's GPU benchmarks claim, judged the same way on a live run and
a stored file.

- :func:`step_time_claims`: ``python -m effnotes.unit_scaling.gpu_bench --step-times``
  (``results/unit_scaling/gpu_step_times.json``), whole training steps of every arm;
- :func:`profile_claims`: ``python -m effnotes.unit_scaling.gpu_profile``
  (``gpu_profile.json``), GPU kernel time per step by category, BF16 against FP8;
- :func:`distributed_claims`: ``torchrun ... -m effnotes.unit_scaling.distributed bench``
  (``distributed_n<N>.json``), the FSDP2 step and the FP8 weight all-gather.

Each returns a claims table (see :mod:`effnotes.claims`) from the benchmark's result, a
mapping: the dict the benchmark returns or a stored file's ``data``. The thresholds were
fixed before the runs: the chapter's step-time target :data:`SPEED_TARGET` and its claims
about torchao and the wider model (the page shows them through
:func:`.gpu_report.stored_claims`, which reads :func:`step_time_claims`); the kernel
profile's reading, that FP8 makes the GEMMs faster and leaves the rest of the step's kernel
time alone; and the distributed benchmark's, that the FP8 all-gather moves fewer bytes
than the BF16 one (the page asserts it) and that the bytes it computes from the shard
sizes are those the collectives move.

Timing claims are shown, never enforced: the chapter asserts no timing of its GPU runs.
The byte counts of the distributed benchmark are not timings and are enforced.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from effnotes.claims import Claim, claims_table
from effnotes.stored_runs import Benchmark

NAN = float("nan")
#: the whole-step speedup over μS-BF16 at width 2048 the chapter set itself as a target
SPEED_TARGET = 1.35
#: the step-time claims, as the chapter states them (the page lists them with its other
#: stored-run claims, :data:`.gpu_report.STORED_CLAIMS`)
STEP_TIME_CLAIMS = {
    "speed_goal": "effnotes FP8 trains at least 1.35× faster than BF16 at width 2048, 24 "
                  "layers (median over rounds)",
    "speed_torchao": "effnotes FP8 beats torchao's tensorwise float8 on the same μS model at "
                     "width 2048: its slowest visit is faster than torchao's fastest",
    "speed_wide": "effnotes FP8 is faster than BF16 at width 4096 in every round",
}
#: the arms of a distributed run that are sharded by FSDP2
FSDP_ARMS = ("fsdp_bf16", "fsdp_fp8", "fsdp_fp8_gather8")


def _mapping(result, what: str) -> Mapping:
    if not isinstance(result, Mapping):
        raise TypeError(f"result must be {what} (a mapping, or a stored file's data), got "
                        f"{type(result).__name__}")
    return result


def step_arm(result: Mapping, size: str, arm: str) -> dict | None:
    """The summary row of ``arm`` at model ``size`` ("d2048") of a step-time result, or
    ``None`` where that size or arm was not run."""
    entry = result.get("sizes", {}).get(size)
    if entry is None:
        return None
    return next((row for row in entry["arms"] if row["arm"] == arm), None)


def _not_run(result: Mapping, size: str, arm: str) -> str:
    entry = result.get("sizes", {}).get(size)
    if entry is None:
        return f"no step-time comparison at {size} was run"
    reason = entry.get("unavailable", {}).get(arm)
    return f"{arm} did not run at {size}" + (f" ({reason})" if reason else "")


def step_time_claims(result) -> pd.DataFrame:
    """The step-time claims (:data:`STEP_TIME_CLAIMS`) of a ``gpu_bench --step-times``
    result (``{"sizes": {"d2048": {"arms": [...], "unavailable": {...}}, ...}}``): the
    median speedup of effnotes FP8 over μS-BF16 at d2048 against :data:`SPEED_TARGET`; its
    slowest visit over torchao tensorwise's fastest, below 1; its slowest round's speedup at
    d4096, above 1. Shown, not enforced."""
    data = _mapping(result, "a step-time result")
    fp8, tao = (step_arm(data, "d2048", arm) for arm in ("fp8", "torchao_tensorwise"))
    wide = step_arm(data, "d4096", "fp8")
    race = NAN if fp8 is None or tao is None else fp8["step_max_s"] / tao["step_min_s"]
    return claims_table([
        Claim.at_least("speed_goal", STEP_TIME_CLAIMS["speed_goal"] + " (speedup).",
                       NAN if fp8 is None else fp8["speedup"], SPEED_TARGET, enforced=False,
                       missing_reason=_not_run(data, "d2048", "fp8")),
        Claim.below("speed_torchao", STEP_TIME_CLAIMS["speed_torchao"] + " (effnotes FP8's "
                    "slowest step over torchao's fastest).", race, 1.0, enforced=False,
                    missing_reason=_not_run(data, "d2048", "fp8" if fp8 is None
                                            else "torchao_tensorwise")),
        Claim.above("speed_wide", STEP_TIME_CLAIMS["speed_wide"] + " (slowest round's "
                    "speedup).", NAN if wide is None else wide["speedup_min"], 1.0,
                    enforced=False, missing_reason=_not_run(data, "d4096", "fp8")),
    ])


def _breakdown(result) -> pd.DataFrame:
    data = _mapping(result, "a kernel-time profile")
    if "breakdown" not in data:
        raise ValueError("result is not a kernel-time profile: it has no 'breakdown'")
    table = pd.DataFrame(data["breakdown"])
    if "category" in table.columns:
        table = table.set_index("category")
    missing = {"bf16_ms", "fp8_ms"} - set(table.columns)
    if missing:
        raise ValueError(f"the profile's breakdown lacks columns {sorted(missing)}")
    return table


def profile_claims(result) -> pd.DataFrame:
    """The claims of a ``gpu_profile`` result (``{"breakdown": rows of category, bf16_ms,
    fp8_ms}``, kernel milliseconds per step): FP8 makes the GEMMs faster (BF16 over FP8 GEMM
    time above 1) and the whole step's kernel time shorter (above 1), and leaves the rest
    of the step's kernel time alone (non-GEMM BF16 over FP8 time at most 1: Amdahl's
    reading). Timings: shown, not enforced."""
    table = _breakdown(result)
    has_gemms = "GEMMs" in table.index
    gemm = table.loc["GEMMs"] if has_gemms else None
    rest = table.drop(index="GEMMs") if has_gemms else table
    ratio = lambda bf16, fp8: bf16 / fp8 if fp8 > 0 else NAN  # noqa: E731
    no_gemms = "the profile has no GEMMs category"
    return claims_table([
        Claim.above("fp8_gemms_faster", "FP8's GEMM kernels take less time per step than "
                    "BF16's (BF16 over FP8 GEMM time).",
                    ratio(gemm["bf16_ms"], gemm["fp8_ms"]) if has_gemms else NAN, 1.0,
                    enforced=False, missing_reason=no_gemms),
        Claim.above("fp8_kernel_time_shorter", "The FP8 step's GPU kernels take less time in "
                    "all than the BF16 step's (BF16 over FP8 kernel time).",
                    ratio(table["bf16_ms"].sum(), table["fp8_ms"].sum()), 1.0,
                    enforced=False),
        Claim.at_most("rest_not_faster", "Outside the GEMMs, FP8 does not make the step's "
                      "kernels faster (BF16 over FP8 kernel time of every other category).",
                      ratio(rest["bf16_ms"].sum(), rest["fp8_ms"].sum()) if has_gemms
                      else NAN, 1.0, enforced=False, missing_reason=no_gemms),
    ])


def counted_bytes_off(result: Mapping) -> float:
    """The largest difference, over the FSDP2 arms of a distributed run, between the
    all-gather bytes counted in one step and those expected: the bytes computed from the
    shard sizes at N > 1, none at N = 1 (FSDP2 copies the shard instead of gathering it).
    NaN when no FSDP2 arm was run."""
    world = result["world_size"]
    gaps = []
    for name in FSDP_ARMS:
        arm = result["arms"].get(name)
        if arm is None:
            continue
        counted = (arm.get("collectives") or {}).get("bytes", {}).get("all_gather", 0)
        expected = arm["all_gather_bytes_per_step"] if world > 1 else 0
        gaps.append(abs(counted - expected))
    return float(max(gaps)) if gaps else NAN


def distributed_claims(result) -> pd.DataFrame:
    """The claims of a distributed benchmark result (:func:`.dist_bench.run_bench`): the FP8
    weight all-gather moves fewer bytes per step than the BF16 one (the page asserts it),
    and the all-gathers of one counted step move the bytes the benchmark computes from the
    shard sizes (none at N = 1). Both enforced: they are byte counts, not timings."""
    data = _mapping(result, "a distributed benchmark result")
    missing = [key for key in ("world_size", "arms", "summary") if key not in data]
    if missing:
        raise ValueError(f"result is not a distributed benchmark result: it lacks {missing}")
    ratio = data["summary"].get("all_gather_bytes_ratio")
    return claims_table([
        Claim.below("fp8_gather_fewer_bytes", "Gathering the hidden weights as E4M3 bytes "
                    "moves fewer bytes per step than gathering them in BF16 (FP8 over BF16 "
                    "all-gather bytes).", NAN if ratio is None else ratio, 1.0,
                    kind="correctness",
                    missing_reason="the run has not both fsdp_fp8 and fsdp_fp8_gather8"),
        Claim.at_most("counted_bytes_as_computed", "The all-gathers counted in one step move "
                      "the bytes computed from the shard sizes, at N = 1 none (largest "
                      "difference over the FSDP2 arms, bytes).", counted_bytes_off(data), 0,
                      kind="correctness", missing_reason="no FSDP2 arm was run"),
    ])


#: the benchmarks of this chapter that make claims (see :class:`effnotes.stored_runs.Benchmark`)
BENCHMARKS = (
    Benchmark("python -m effnotes.unit_scaling.gpu_bench --step-times", r"gpu_step_times",
              None, ("effnotes.unit_scaling.gpu_bench", "effnotes.unit_scaling.bench_claims"),
              step_time_claims),
    Benchmark("python -m effnotes.unit_scaling.gpu_profile", r"gpu_profile", None,
              ("effnotes.unit_scaling.gpu_profile", "effnotes.unit_scaling.bench_claims"),
              profile_claims),
    Benchmark("torchrun -m effnotes.unit_scaling.distributed bench", r"distributed_n\d+",
              None, ("effnotes.unit_scaling.dist_bench", "effnotes.unit_scaling.bench_claims"),
              distributed_claims),
)

__all__ = ["BENCHMARKS", "FSDP_ARMS", "SPEED_TARGET", "STEP_TIME_CLAIMS", "counted_bytes_off",
           "distributed_claims", "profile_claims", "step_arm", "step_time_claims"]
