"""Where a training step's GPU time goes, BF16 against FP8: kernel time by category.

:func:`step_breakdown` profiles a few training steps of the throughput model of
:mod:`.gpu_bench` with ``torch.profiler`` and sums the GPU time of every kernel into a
category read from its name (matrix products, attention, casts and copies, norms and
other fused element-wise work, the optimiser, the loss). Comparing the two arms shows which
part of the step FP8 speeds up and which parts it leaves alone (Amdahl's law: the GEMMs get
faster, the rest does not). Kernel names differ between GPU generations and library
versions, so the categories are a reading of names, and "other" collects what no pattern
matches. Needs a CUDA device.

Run as ``python -m effnotes.unit_scaling.gpu_profile [--out FILE]``.
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


def step_breakdown(config: ThroughputConfig, arm: str, *, steps: int = 3,
                   device: torch.device | str = "cuda") -> pd.DataFrame:
    """GPU milliseconds per training step of ``arm`` ("bf16" or "fp8") by kernel category,
    averaged over ``steps`` profiled steps after ``config.warmup_steps`` unprofiled ones.
    Columns: ``arm, category, ms_per_step, share`` (of the arm's summed kernel time)."""
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
    kernels["category"] = kernels["kernel"].map(kernel_category)
    table = (kernels.groupby("category")["ms"].sum() / steps).rename("ms_per_step").reset_index()
    table["share"] = table["ms_per_step"] / table["ms_per_step"].sum()
    return table.assign(arm=arm)[["arm", "category", "ms_per_step", "share"]]


def compare_breakdowns(config: ThroughputConfig, *, steps: int = 3,
                       device: torch.device | str = "cuda") -> pd.DataFrame:
    """Both arms' breakdowns side by side: rows are categories, columns ``bf16_ms``,
    ``fp8_ms`` (per step) and ``saved_ms`` (bf16 - fp8)."""
    from effnotes.unit_scaling.gpu_bench import release_compiled

    frames = []
    for arm in ("bf16", "fp8"):
        frames.append(step_breakdown(config, arm, steps=steps, device=device))
        release_compiled()
    wide = pd.concat(frames).pivot(index="category", columns="arm", values="ms_per_step")
    wide = wide.fillna(0.0).rename(columns={"bf16": "bf16_ms", "fp8": "fp8_ms"})
    wide["saved_ms"] = wide["bf16_ms"] - wide["fp8_ms"]
    return wide.sort_values("bf16_ms", ascending=False)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m effnotes.unit_scaling.gpu_profile",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--out", help="write the table as CSV here")
    args = parser.parse_args(argv)
    table = compare_breakdowns(ThroughputConfig(), steps=args.steps)
    print(f"GPU kernel time per step on {torch.cuda.get_device_name()}:")
    print(table.round(2).to_string())
    if args.out:
        table.to_csv(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
