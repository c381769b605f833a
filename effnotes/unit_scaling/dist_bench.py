"""Timing the distributed μS step: the FSDP2 wrapper's overhead and the FP8 weight all-gather.

Run under torchrun (the same command at every N)::

    torchrun --nproc-per-node 1 -m effnotes.unit_scaling.distributed bench --store
    torchrun --nproc-per-node 8 -m effnotes.unit_scaling.distributed bench --store

The model is the chapter's throughput shape (:class:`.gpu_bench.ThroughputConfig`: d 2048,
24 layers, 16 heads, sequences of 2048, vocabulary 50304), with ``batch_size`` sequences **per
GPU**, so the global batch grows with N. Each *arm* is one training step (forward, backward,
fused AdamW step) under BF16 autocast with each block compiled, timed as the median of the
timed steps after warmup (CUDA-synchronised; at N > 1 the slowest rank's median):

- ``plain_bf16`` / ``plain_fp8``: the decoder without FSDP (one process; N=1 only), hidden
  layers in BF16 or real FP8 (:mod:`.fp8_cuda`);
- ``fsdp_bf16`` / ``fsdp_fp8``: the same under :func:`.distributed.shard_decoder` (weights
  gathered in BF16, gradients reduced in FP32);
- ``fsdp_fp8_gather8``: ``fsdp_fp8`` with the hidden weights gathered as E4M3 bytes
  (:mod:`.fp8_allgather`).

For the FSDP arms the all-gathered bytes per step are computed from the shard sizes
(:func:`.distributed.predicted_all_gather_bytes`, checked against counted collectives in the
tests), and the collectives of one extra, uncompiled forward and backward pass are counted
(:class:`.comm_bytes.CollectiveBytes`). At N=1 nothing crosses a link (FSDP2 in torch 2.13
copies the shard instead of calling the collective), so there the FP8 all-gather shows the
cost of its casts, not the communication it saves, and the bytes are those the same shapes
all-gather at N > 1. At N > 1 the FSDP arms are also run on rank 0 alone (a one-process
mesh) in the same call, for the scaling efficiency
``tokens/s at N / (N x tokens/s at 1)``; peak memory is reported per GPU.

The result is stored (``--store``) as ``results/unit_scaling/distributed_n<N>.json`` under
``$EFFNOTES_RESULTS`` with provenance, and a table is printed.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from dataclasses import asdict, dataclass, fields, replace

import torch
import torch.distributed as dist
from torch.distributed.device_mesh import DeviceMesh

from effnotes.unit_scaling.distributed import (Context, TrainingStep, build_model,
                                               init_distributed, make_optimizer,
                                               predicted_all_gather_bytes, shard_decoder)
from effnotes.unit_scaling.functional import cross_entropy
from effnotes.unit_scaling.gpu_bench import ThroughputConfig
from effnotes.unit_scaling.train import TrainSettings

#: arm -> (precision of the hidden linear layers on a GPU, sharded by FSDP, FP8 all-gather)
ARMS = {"plain_bf16": ("fp32", False, False), "plain_fp8": ("fp8_cuda", False, False),
        "fsdp_bf16": ("fp32", True, False), "fsdp_fp8": ("fp8_cuda", True, False),
        "fsdp_fp8_gather8": ("fp8_cuda", True, True)}
DEFAULT_ARMS = ("plain_fp8", "fsdp_fp8", "fsdp_fp8_gather8", "fsdp_bf16")
#: the benchmark's default sizes: the chapter's shape, fewer steps (the whole N=1 call must
#: take a few minutes on one H200)
DEFAULT_SHAPE = ThroughputConfig(warmup_steps=3, timed_steps=6)
TINY_SHAPE = ThroughputConfig(d_model=64, n_layers=2, n_heads=2, seq_len=32, batch_size=2,
                              vocab_size=128, warmup_steps=1, timed_steps=2, compile="none")
CHAPTER, NAME, TINY_NAME = "unit_scaling", "distributed_n{n}", "distributed_tiny_n{n}"


@dataclass(frozen=True)
class DistBenchConfig:
    """What to time: ``shape`` (``batch_size`` per GPU; ``compile`` "regional" or "none"),
    the ``arms`` in order, and whether to also time the FSDP arms on one GPU when N > 1."""

    shape: ThroughputConfig = DEFAULT_SHAPE
    arms: tuple[str, ...] = DEFAULT_ARMS
    reference_n1: bool = True

    def __post_init__(self) -> None:
        unknown = [a for a in self.arms if a not in ARMS]
        if unknown or not self.arms:
            raise ValueError(f"unknown or no arms {unknown or list(self.arms)}; choose from "
                             f"{sorted(ARMS)}")
        if self.shape.compile not in ("regional", "none"):
            raise ValueError(f"shape.compile must be 'regional' or 'none', got "
                             f"{self.shape.compile!r}")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _release(device: torch.device) -> None:
    gc.collect()
    torch._dynamo.reset()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def time_arm(arm: str, shape: ThroughputConfig, device: torch.device, mesh: DeviceMesh | None,
             world_size: int, rank: int) -> dict:
    """Time one arm on ``mesh`` (``None`` for the plain arms). Collective: every rank of
    ``mesh`` calls it. Returns this rank's figures plus ``step_s`` (the slowest rank's
    median), ``tokens_per_s`` (global), ``collectives`` (FSDP arms) and ``peak_memory_gb``
    (this rank)."""
    from effnotes.unit_scaling.comm_bytes import CollectiveBytes

    precision, sharded, gather8 = ARMS[arm]
    if device.type != "cuda" and precision == "fp8_cuda":
        precision = "fp8_sim"  # CPU check runs only: the simulation of the same formats
    if sharded != (mesh is not None):
        raise ValueError(f"arm {arm} needs {'a mesh' if sharded else 'no mesh'}")
    _release(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    model = build_model(shape.decoder(precision), 0, device)
    if sharded:
        shard_decoder(model, mesh, mixed_precision="bf16", fp8_all_gather=gather8)
    optimizer = make_optimizer(model, TrainSettings(lr=shape.lr, steps=2, warmup_steps=0),
                               device)
    local_tokens = shape.batch_size * shape.seq_len
    step = TrainingStep(model, optimizer, global_tokens=local_tokens * world_size,
                        world_size=world_size, autocast=True)
    generator = torch.Generator(device=device).manual_seed(rank)
    size = (shape.batch_size, shape.seq_len)
    ids = torch.randint(0, shape.vocab_size, size, device=device, generator=generator)
    targets = torch.randint(0, shape.vocab_size, size, device=device, generator=generator)
    collectives = predicted = None
    if sharded:
        predicted = predicted_all_gather_bytes(model, world_size)
        # one uncompiled forward and backward, its collectives counted; gradients dropped
        with CollectiveBytes() as count:
            with torch.autocast(device.type, dtype=torch.bfloat16):
                loss = cross_entropy(model(ids), targets)
            loss.backward()
        model.zero_grad(set_to_none=True)
        collectives = count.as_dict()
        del loss
        if device.type == "cuda":  # the eager pass's activations must not count as the step's
            torch.cuda.synchronize(device)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
    if shape.compile == "regional":
        for block in model.blocks:
            block.compile()
    times = []
    for _ in range(shape.warmup_steps + shape.timed_steps):
        _sync(device)
        start = time.perf_counter()
        loss = step(ids, targets)
        _sync(device)
        times.append(time.perf_counter() - start)
    median = statistics.median(times[shape.warmup_steps:])
    slowest = torch.tensor(median, dtype=torch.float64, device=device)
    if mesh is not None and world_size > 1:
        dist.all_reduce(slowest, op=dist.ReduceOp.MAX, group=mesh.get_group())
    step_s = float(slowest)
    result = {"arm": arm, "precision": precision, "sharded": sharded, "fp8_all_gather": gather8,
              "world_size": world_size, "step_s": step_s, "rank_median_step_s": median,
              "first_step_s": times[0], "times_s": times[shape.warmup_steps:],
              "tokens_per_step": local_tokens * world_size,
              "tokens_per_s": local_tokens * world_size / step_s,
              "last_loss": float(loss), "collectives": collectives,
              "all_gather_bytes_per_step": predicted,
              "peak_memory_gb": (torch.cuda.max_memory_allocated(device) / 2**30
                                 if device.type == "cuda" else None)}
    del step, optimizer, model
    _release(device)
    return result


def _per_gpu(value, ctx: Context) -> list:
    values = [None] * ctx.world_size
    dist.all_gather_object(values, value)
    return values


def summarise(arms: dict, reference: dict | None, world_size: int) -> dict:
    """The headline ratios: ``wrapper_overhead`` (fsdp / plain step time - 1, per
    precision, N=1), ``fp8_gather_step_ratio`` (gather8 / fsdp_fp8 step time),
    ``all_gather_bytes_ratio`` (gather8 / fsdp_fp8 all-gathered bytes) and
    ``scaling_efficiency`` per FSDP arm (N > 1 with the one-GPU reference)."""
    out: dict = {}
    for precision in ("bf16", "fp8"):
        plain, fsdp = arms.get(f"plain_{precision}"), arms.get(f"fsdp_{precision}")
        if plain and fsdp:
            out[f"wrapper_overhead_{precision}"] = fsdp["step_s"] / plain["step_s"] - 1
    if "fsdp_fp8" in arms and "fsdp_fp8_gather8" in arms:
        base, fp8 = arms["fsdp_fp8"], arms["fsdp_fp8_gather8"]
        out["fp8_gather_step_ratio"] = fp8["step_s"] / base["step_s"]
        out["all_gather_bytes_ratio"] = (fp8["all_gather_bytes_per_step"]
                                         / base["all_gather_bytes_per_step"])
        out["all_gather_bytes_per_step"] = {"fsdp_fp8": base["all_gather_bytes_per_step"],
                                            "fsdp_fp8_gather8": fp8["all_gather_bytes_per_step"]}
        counted = [arm["collectives"]["bytes"].get("all_gather", 0) for arm in (base, fp8)]
        out["all_gather_bytes_counted"] = {"fsdp_fp8": counted[0], "fsdp_fp8_gather8": counted[1]}
    if reference:
        out["scaling_efficiency"] = {
            arm: arms[arm]["tokens_per_s"] / (world_size * reference[arm]["tokens_per_s"])
            for arm in reference if arm in arms}
    return out


def run_bench(config: DistBenchConfig, ctx: Context) -> dict:
    """Time every arm of ``config`` on this process group (and the one-GPU reference when
    N > 1); every rank calls it and gets the same result back."""
    from effnotes.unit_scaling.fp8_cuda import fp8_unavailable_reason

    reason = fp8_unavailable_reason(ctx.device) if ctx.device.type == "cuda" else "CPU run"
    arms, skipped = {}, []
    for arm in config.arms:
        sharded = ARMS[arm][1]
        if not sharded and ctx.world_size > 1:
            skipped.append(arm)  # the plain step runs on one GPU: see the N=1 run
            continue
        result = time_arm(arm, config.shape, ctx.device, ctx.mesh if sharded else None,
                          ctx.world_size, ctx.rank)
        result["peak_memory_gb_per_gpu"] = _per_gpu(result["peak_memory_gb"], ctx)
        arms[arm] = result
    reference = None
    if ctx.world_size > 1 and config.reference_n1:
        group = dist.new_group([0])
        reference = {}
        if ctx.is_main:
            single = DeviceMesh.from_group(group, ctx.device.type)
            for arm in config.arms:
                if ARMS[arm][1]:
                    reference[arm] = time_arm(arm, config.shape, ctx.device, single, 1, 0)
        dist.barrier()
        holder = [reference]
        dist.broadcast_object_list(holder, src=0)
        reference = holder[0]
    gpu = torch.cuda.get_device_name(ctx.device) if ctx.device.type == "cuda" else "cpu"
    return {"world_size": ctx.world_size, "gpu": gpu, "backend": dist.get_backend(),
            "fp8_gemms": reason is None, "fp8_unavailable": reason,
            "shape": asdict(config.shape), "batch_size_per_gpu": config.shape.batch_size,
            "arms": arms, "skipped_arms": skipped, "reference_n1": reference,
            "summary": summarise(arms, reference, ctx.world_size)}


def table(result: dict) -> str:
    """A short text table of a result's arms."""
    lines = [f"N={result['world_size']} on {result['gpu']} (FP8 GEMMs: {result['fp8_gemms']})",
             f"{'arm':18s} {'step ms':>9s} {'tokens/s':>11s} {'all-gather MB':>14s} "
             f"{'peak GB/GPU':>12s}"]
    for name, arm in result["arms"].items():
        gathered = arm["all_gather_bytes_per_step"]
        peak = max((p for p in arm["peak_memory_gb_per_gpu"] if p is not None), default=None)
        lines.append(f"{name:18s} {1e3 * arm['step_s']:9.1f} {arm['tokens_per_s']:11.0f} "
                     f"{'-' if gathered is None else f'{gathered / 1e6:.1f}':>14s} "
                     f"{'-' if peak is None else f'{peak:.1f}':>12s}")
    for key, value in result["summary"].items():
        lines.append(f"{key}: {value}")
    return "\n".join(lines)


def _shape_with(base: ThroughputConfig, pairs: list[str]) -> ThroughputConfig:
    kinds = {f.name: type(getattr(base, f.name)) for f in fields(base)}
    changes = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in kinds:
            raise SystemExit(f"bad --set {pair!r}: use KEY=VALUE with KEY one of {sorted(kinds)}")
        changes[key] = kinds[key](value)
    return replace(base, **changes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="torchrun --nproc-per-node N -m effnotes.unit_scaling.distributed bench",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="tiny sizes, to check it runs")
    parser.add_argument("--arms", default=",".join(DEFAULT_ARMS),
                        help=f"comma-separated, from {sorted(ARMS)}")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="override the shape (ThroughputConfig fields)")
    parser.add_argument("--no-reference-n1", action="store_true",
                        help="at N > 1, skip the one-GPU reference (no scaling efficiency)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--store", action="store_true",
                        help="store results/unit_scaling/distributed_n<N>.json with provenance "
                             "(with --tiny: distributed_tiny_n<N>.json, which the chapter ignores)")
    parser.add_argument("--out", help="rank 0 also writes the result here as JSON")
    args = parser.parse_args(argv)
    config = DistBenchConfig(shape=_shape_with(TINY_SHAPE if args.tiny else DEFAULT_SHAPE,
                                               args.set),
                             arms=tuple(a for a in args.arms.split(",") if a),
                             reference_n1=not args.no_reference_n1)
    ctx = init_distributed(args.device)
    start = time.perf_counter()
    try:
        result = run_bench(config, ctx)
    finally:
        dist.destroy_process_group()
    wall = time.perf_counter() - start
    if ctx.is_main:
        print(table(result), flush=True)
        print(f"wall time {wall:.1f} s")
        if args.out:
            with open(args.out, "w", encoding="utf-8") as handle:
                json.dump({"wall_time_s": wall, **result}, handle, indent=1)
        from effnotes.claims import as_records, failing
        from effnotes.stored_runs import claims_report
        from effnotes.unit_scaling.bench_claims import distributed_claims

        claims = distributed_claims(result)
        print(claims_report(claims, "distributed benchmark"), flush=True)
        if args.store:
            from effnotes.results import save_result

            name = (TINY_NAME if args.tiny else NAME).format(n=ctx.world_size)
            path = save_result(CHAPTER, name, result,
                               profile="tiny" if args.tiny else "gpu",
                               parameters={"config": asdict(config), "world_size": ctx.world_size},
                               wall_time_s=wall, device=ctx.device,
                               extra_provenance={"claims": as_records(claims)})
            print(f"stored {path}")
        elif len(failing(claims)):
            return 1
    return 0


__all__ = ["ARMS", "DEFAULT_ARMS", "DEFAULT_SHAPE", "TINY_SHAPE", "DistBenchConfig", "time_arm",
           "run_bench", "summarise", "table", "main"]
