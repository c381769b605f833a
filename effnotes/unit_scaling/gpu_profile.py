"""Where a training step's GPU time goes, BF16 against FP8: kernel time by category.

:func:`step_breakdown` profiles a few training steps of the throughput model of
:mod:`.gpu_bench` with ``torch.profiler`` and sums the GPU time of every kernel into a
category read from its name (matrix products, attention, casts and copies, norms and
other fused element-wise work, the optimiser, the loss). Comparing the two arms shows which
part of the step FP8 speeds up and which parts it leaves alone (Amdahl's law: the GEMMs get
faster, the rest does not). Kernel names differ between GPU generations and library
versions, so the categories are a reading of names, and "other" collects what no pattern
matches. Needs a CUDA device.

Run as ``python -m effnotes.unit_scaling.gpu_profile [--steps N] [--store]``.
"""

from __future__ import annotations

import pandas as pd
import torch

from effnotes.unit_scaling.gpu_bench import ThroughputConfig, build_training_step

#: (category, substrings any of which in the lower-cased kernel name selects it), in order.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("attention", ("flash", "fmha", "attention", "sdpa")),
    ("optimizer", ("multi_tensor", "adam", "foreach")),
    ("GEMMs", ("gemm", "xmma", "cutlass", "wgmma", "nvjet", "cublas", "e4m3", "e5m2")),
    ("loss", ("log_softmax", "nll", "cross_entropy")),
    ("norms", ("layer_norm", "native_layer_norm", "rms_norm")),
    ("casts and copies", ("to_copy", "clamp", "copy", "transpose", "cast", "convert")),
    ("other fused element-wise", ("triton", "elementwise", "vectorized", "reduce")),
)


def kernel_category(name: str) -> str:
    """The category of a CUDA kernel called ``name`` (see :data:`CATEGORIES`)."""
    lower = name.lower()
    for category, keys in CATEGORIES:
        if any(key in lower for key in keys):
            return category
    return "other"


def _kernel_times(profiler: torch.profiler.profile) -> pd.DataFrame:
    rows = []
    for event in profiler.key_averages():
        if event.device_type != torch.autograd.DeviceType.CUDA:
            continue
        micros = getattr(event, "self_device_time_total", None)
        if micros is None:
            micros = event.self_cuda_time_total
        rows.append({"kernel": event.key, "count": event.count, "ms": micros / 1000})
    return pd.DataFrame(rows, columns=["kernel", "count", "ms"])


def kernel_table(config: ThroughputConfig, arm: str, *, steps: int = 3,
                 device: torch.device | str = "cuda") -> pd.DataFrame:
    """GPU milliseconds per training step of ``arm`` ("bf16" or "fp8") for every kernel,
    averaged over ``steps`` profiled steps after ``config.warmup_steps`` unprofiled ones.
    Columns: ``kernel, calls_per_step, ms_per_step, category``, slowest first."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    step = build_training_step(config, arm, device)
    for _ in range(config.warmup_steps):
        step()
    torch.cuda.synchronize(device)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            step()
        torch.cuda.synchronize(device)
    kernels = _kernel_times(prof)
    table = pd.DataFrame({"kernel": kernels["kernel"], "calls_per_step": kernels["count"] / steps,
                          "ms_per_step": kernels["ms"] / steps,
                          "category": kernels["kernel"].map(kernel_category)})
    return table.sort_values("ms_per_step", ascending=False, ignore_index=True)


def categorise(kernels: pd.DataFrame, arm: str) -> pd.DataFrame:
    """A :func:`kernel_table` summed by category. Columns: ``arm, category, ms_per_step,
    share`` (of the arm's summed kernel time)."""
    table = kernels.groupby("category")["ms_per_step"].sum().reset_index()
    table["share"] = table["ms_per_step"] / table["ms_per_step"].sum()
    return table.assign(arm=arm)[["arm", "category", "ms_per_step", "share"]]


def step_breakdown(config: ThroughputConfig, arm: str, *, steps: int = 3,
                   device: torch.device | str = "cuda") -> pd.DataFrame:
    """GPU milliseconds per training step of ``arm`` by kernel category (see
    :func:`kernel_table` and :func:`categorise`)."""
    return categorise(kernel_table(config, arm, steps=steps, device=device), arm)


def compare_breakdowns(config: ThroughputConfig, *, steps: int = 3,
                       device: torch.device | str = "cuda",
                       kernels: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Both arms' breakdowns side by side: rows are categories, columns ``bf16_ms``,
    ``fp8_ms`` (per step) and ``saved_ms`` (bf16 - fp8). Pass a dict as ``kernels`` to
    receive each arm's :func:`kernel_table` as well."""
    from effnotes.unit_scaling.gpu_bench import release_compiled

    frames = []
    for arm in ("bf16", "fp8"):
        table = kernel_table(config, arm, steps=steps, device=device)
        if kernels is not None:
            kernels[arm] = table
        frames.append(categorise(table, arm))
        release_compiled()
    wide = pd.concat(frames).pivot(index="category", columns="arm", values="ms_per_step")
    wide = wide.fillna(0.0).rename(columns={"bf16": "bf16_ms", "fp8": "fp8_ms"})
    wide["saved_ms"] = wide["bf16_ms"] - wide["fp8_ms"]
    return wide.sort_values("bf16_ms", ascending=False)


def gemm_amdahl(breakdown: pd.DataFrame) -> dict:
    """Amdahl's law read off a :func:`compare_breakdowns` table (a frame indexed by category,
    or its records with a ``category`` column): the GEMMs' share ``p`` of the BF16 step's
    kernel time, how many times faster they ran in FP8 (``s``), the step speedup those two
    predict, ``1 / ((1 - p) + p / s)``, the ratio of the arms' total kernel times, and the
    speedup if the GEMMs had doubled in speed and nothing else had changed."""
    from effnotes.tradeoff import amdahl_speedup

    table = breakdown if "category" not in breakdown.columns else breakdown.set_index("category")
    if "GEMMs" not in table.index:
        raise ValueError(f"the breakdown has no GEMMs row; its categories: {list(table.index)}")
    bf16_total, fp8_total = table["bf16_ms"].sum(), table["fp8_ms"].sum()
    share = table.loc["GEMMs", "bf16_ms"] / bf16_total
    factor = table.loc["GEMMs", "bf16_ms"] / table.loc["GEMMs", "fp8_ms"]
    return {"gemm_share": float(share), "gemm_factor": float(factor),
            "predicted_speedup": amdahl_speedup(share, factor),
            "kernel_time_ratio": float(bf16_total / fp8_total),
            "speedup_if_gemms_doubled": amdahl_speedup(share, 2.0)}


def main(argv: list[str] | None = None) -> int:
    """Command line: profile both arms at the throughput benchmark's sizes, print the table
    and, with ``--store``, save it as ``results/unit_scaling/gpu_profile.json``."""
    import argparse
    import time
    from dataclasses import asdict

    from effnotes.claims import as_records, failing
    from effnotes.results import save_result
    from effnotes.runtime import describe_hardware
    from effnotes.stored_runs import claims_report
    from effnotes.unit_scaling.bench_claims import profile_claims

    parser = argparse.ArgumentParser(prog="python -m effnotes.unit_scaling.gpu_profile",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--top", type=int, default=0,
                        help="also print each arm's N slowest kernels")
    parser.add_argument("--store", action="store_true",
                        help="write results/unit_scaling/gpu_profile.json")
    args = parser.parse_args(argv)
    config = ThroughputConfig()
    device = torch.device("cuda")
    start = time.perf_counter()
    kernels: dict[str, pd.DataFrame] = {}
    table = compare_breakdowns(config, steps=args.steps, device=device, kernels=kernels)
    wall = time.perf_counter() - start
    print(f"GPU kernel time per training step (ms) on {torch.cuda.get_device_name()}:")
    print(table.round(2).to_string())
    for arm, arm_kernels in kernels.items():
        if args.top > 0:
            shown = arm_kernels.head(args.top).assign(kernel=lambda t: t["kernel"].str[:90])
            print(f"{arm}: the {args.top} slowest kernels")
            print(shown.round(3).to_string())
    totals = table[["bf16_ms", "fp8_ms"]].sum()
    print(f"kernel time: bf16 {totals['bf16_ms']:.1f} ms, fp8 {totals['fp8_ms']:.1f} ms, "
          f"ratio {totals['bf16_ms'] / totals['fp8_ms']:.3f}")
    data = {"hardware": describe_hardware(device).as_dict(), "breakdown": table.reset_index()}
    claims = profile_claims(data)
    print(claims_report(claims, "kernel-time profile"))
    if args.store:
        path = save_result("unit_scaling", "gpu_profile", data, profile="gpu",
                           parameters={**asdict(config), "profiled_steps": args.steps},
                           wall_time_s=wall, device=device,
                           extra_provenance={"claims": as_records(claims)})
        print(f"stored {path}")
    return 0 if args.store or not len(failing(claims)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
