"""Real FP8 against BF16 on one GPU: step time, loss parity and inference parity.

Three measurements, each with its sizes as a dataclass so a tiny version can run first:

- :func:`time_training_steps`: the time of a full training step (forward, backward, AdamW
  step) of a μS decoder whose hidden linear layers run in BF16 (autocast) or in FP8
  (:mod:`.fp8_cuda`), both compiled, attention in BF16 through
  ``F.scaled_dot_product_attention``; the median over steps after warmup, CUDA-synchronised.
- :func:`loss_parity`: a smaller μS model trained in BF16 and in FP8 from the same seed on
  the same batches; final losses and curves.
- :func:`inference_parity`: the trained FP8 model's inference forward (eval mode, no
  autograd) against its training-mode forward on the same batch.

Needs torch (with CUDA for real FP8), numpy and pandas only. To try it small first::

    python -m effnotes.unit_scaling.gpu_bench --tiny
    python -m effnotes.unit_scaling.gpu_bench --throughput d_model=1024 n_layers=4 \
        --parity steps=200 --out /tmp/bench.json
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from effnotes.unit_scaling.data import ByteSplit, random_windows
from effnotes.unit_scaling.fp8_cuda import fp8_unavailable_reason
from effnotes.unit_scaling.model import Decoder, DecoderConfig, optimizer_groups
from effnotes.unit_scaling.train import TrainSettings, train_decoder

ARMS = {"bf16": "fp32", "fp8": "fp8_cuda"}  # arm -> precision of the hidden linear layers


@dataclass(frozen=True)
class ThroughputConfig:
    """The throughput model: the paper's 1B shape by default (d 2048, 24 layers, 16 heads,
    sequences of 2048, batch 8 = 16k tokens a step). ``compile`` is ``"regional"`` (each
    block compiled; the blocks share one compiled graph) or ``"full"`` (the whole loss)."""

    d_model: int = 2048
    n_layers: int = 24
    n_heads: int = 16
    seq_len: int = 2048
    batch_size: int = 8
    vocab_size: int = 50304
    warmup_steps: int = 4
    timed_steps: int = 10
    compile: str = "regional"
    lr: float = 1e-4

    def __post_init__(self) -> None:
        if self.compile not in ("regional", "full", "none"):
            raise ValueError(f"compile must be 'regional', 'full' or 'none', got {self.compile!r}")
        if self.warmup_steps < 1 or self.timed_steps < 1:
            raise ValueError("warmup_steps and timed_steps must be at least 1")

    def decoder(self, precision: str) -> DecoderConfig:
        return DecoderConfig(vocab_size=self.vocab_size, d_model=self.d_model,
                             n_layers=self.n_layers, n_heads=self.n_heads, seq_len=self.seq_len,
                             parametrisation="mus", precision=precision)


def _compiled_loss(model: Decoder, mode: str):
    if mode == "regional":
        for block in model.blocks:
            block.compile()
        return model.loss
    if mode == "full":
        return torch.compile(model.loss)
    return model.loss


def _require_cuda(device: torch.device) -> None:
    if device.type != "cuda":
        raise RuntimeError(f"the GPU benchmark needs a CUDA device, got {device}")


@dataclass
class TrainingStep:
    """One compiled training step of the throughput model, ready to call: ``step()`` runs the
    forward pass under BF16 autocast, the backward pass, the AdamW step and zeroes the
    gradients, and returns the loss (a detached 0-d tensor, not synchronised)."""

    model: Decoder
    step: Callable[[], torch.Tensor]
    tokens_per_step: int

    def __call__(self) -> torch.Tensor:
        return self.step()


def build_training_step(config: ThroughputConfig, arm: str, device: torch.device | str = "cuda"
                        ) -> TrainingStep:
    """The training step of ``arm`` ("bf16" or "fp8") for ``config``'s model, built on the
    GPU from seed 0 on random tokens (the step time does not depend on the data)."""
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r}; choose one of {sorted(ARMS)}")
    device = torch.device(device)
    _require_cuda(device)
    torch.manual_seed(0)
    with device:  # initialise on the GPU: a 1.4B-parameter init on the CPU takes a while
        model = Decoder(config.decoder(ARMS[arm]))
    optimizer = torch.optim.AdamW(optimizer_groups(model, config.lr), fused=True)
    loss_fn = _compiled_loss(model, config.compile)
    generator = torch.Generator(device=device).manual_seed(0)
    shape = (config.batch_size, config.seq_len)
    ids = torch.randint(0, config.vocab_size, shape, device=device, generator=generator)
    targets = torch.randint(0, config.vocab_size, shape, device=device, generator=generator)

    def step() -> torch.Tensor:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = loss_fn(ids, targets)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    return TrainingStep(model, step, config.batch_size * config.seq_len)


def time_training_steps(config: ThroughputConfig, arm: str, device: torch.device | str = "cuda"
                        ) -> dict:
    """Median seconds of one training step of ``arm`` ("bf16" or "fp8"): forward, backward,
    AdamW step and zeroing the gradients, under BF16 autocast, synchronised around each
    step. Also returns every timed step, the first (compiling) step's time, the peak memory
    and the parameter count."""
    device = torch.device(device)
    step = build_training_step(config, arm, device)
    torch.cuda.reset_peak_memory_stats(device)
    times = []
    for i in range(config.warmup_steps + config.timed_steps):
        torch.cuda.synchronize(device)
        start = time.perf_counter()
        loss = step()
        torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    final_loss = float(loss)
    result = {"arm": arm, "step_s": statistics.median(times[config.warmup_steps:]),
              "first_step_s": times[0], "times_s": times[config.warmup_steps:],
              "peak_memory_gb": torch.cuda.max_memory_allocated(device) / 2**30,
              "n_parameters": step.model.n_parameters(), "last_loss": final_loss,
              "tokens_per_step": step.tokens_per_step}
    return result


def release_compiled() -> None:
    """Drop compiled graphs (they hold on to the last model) and cached GPU memory."""
    torch._dynamo.reset()
    torch.cuda.empty_cache()


def throughput(config: ThroughputConfig, device: torch.device | str = "cuda") -> dict:
    """BF16 and FP8 step times of the same model, and the speedup ``bf16 / fp8``."""
    device = torch.device(device)
    _require_cuda(device)
    reason = fp8_unavailable_reason(device)  # resolved before anything is compiled
    bf16 = time_training_steps(config, "bf16", device)
    release_compiled()
    fp8 = time_training_steps(config, "fp8", device)
    release_compiled()
    return {"config": asdict(config), "fp8_gemms": reason is None, "fp8_unavailable": reason,
            "bf16": bf16, "fp8": fp8, "bf16_step_s": bf16["step_s"], "fp8_step_s": fp8["step_s"],
            "speedup": bf16["step_s"] / fp8["step_s"]}


@dataclass(frozen=True)
class ParityConfig:
    """The loss-parity model and its training (μS, bytes of the Python prose)."""

    d_model: int = 512
    n_layers: int = 8
    n_heads: int = 8
    seq_len: int = 512
    batch_size: int = 32
    steps: int = 1500
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    seed: int = 0
    compile: bool = True
    log_every: int = 10
    eval_batches: int = 8

    def decoder(self, precision: str) -> DecoderConfig:
        return DecoderConfig(vocab_size=256, d_model=self.d_model, n_layers=self.n_layers,
                             n_heads=self.n_heads, seq_len=self.seq_len, parametrisation="mus",
                             precision=precision)

    def settings(self) -> TrainSettings:
        return TrainSettings(steps=self.steps, batch_size=self.batch_size, lr=self.lr,
                             weight_decay=self.weight_decay, warmup_steps=self.warmup_steps,
                             seed=self.seed, eval_batches=self.eval_batches,
                             log_every=self.log_every)


@torch.no_grad()
def _eval_logits(model: Decoder, ids: torch.Tensor) -> torch.Tensor:
    model.eval()
    try:
        with torch.autocast(ids.device.type, dtype=torch.bfloat16):
            return model(ids).float()
    finally:
        model.train()


def inference_parity(model: Decoder, ids: torch.Tensor) -> dict:
    """Compare the logits of ``model``'s training-mode forward (autograd on, as in a
    training step) with its inference forward (eval mode, ``no_grad``) on ``ids``, both
    under BF16 autocast and with the same static FP8 scales. Returns the relative L2
    difference, the largest absolute difference, the share of positions whose arg-max
    token agrees, and the logits' RMS."""
    model.train()
    with torch.autocast(ids.device.type, dtype=torch.bfloat16):
        train_logits = model(ids).float().detach()
    eval_logits = _eval_logits(model, ids)
    diff = train_logits - eval_logits
    return {"relative_l2": float(diff.norm() / train_logits.norm()),
            "max_abs": float(diff.abs().max()),
            "argmax_agreement": float((train_logits.argmax(-1) == eval_logits.argmax(-1))
                                      .float().mean()),
            "logit_rms": float(train_logits.pow(2).mean().sqrt())}


def loss_parity(config: ParityConfig, data: ByteSplit, device: torch.device | str = "cuda",
                *, progress: bool = False) -> dict:
    """Train the same μS model (same seed, same batches) in BF16 and in FP8; return each
    arm's curve, final training loss (mean of the last 10% of steps), validation loss and
    time, the relative gaps ``fp8 / bf16 - 1``, and the FP8 model's inference parity."""
    device = torch.device(device)
    _require_cuda(device)
    fp8_unavailable_reason(device)
    runs = {}
    for arm, precision in ARMS.items():
        runs[arm] = train_decoder(config.decoder(precision), data, config.settings(),
                                  device=device, autocast_dtype=torch.bfloat16,
                                  compile=config.compile, progress=progress,
                                  label=f"parity {arm}")
    generator = torch.Generator().manual_seed(99)
    ids, _ = random_windows(data.val, 8, config.seq_len, generator)
    parity = inference_parity(runs["fp8"].model, ids.to(device))
    curves = []
    for arm, run in runs.items():
        curves += [{"arm": arm, "step": int(s), "loss": float(l)}
                   for s, l in zip(run.curve["step"], run.curve["loss"])]
    out = {"config": asdict(config), "curves": curves, "inference": parity}
    for arm, run in runs.items():
        out[f"{arm}_final_loss"] = run.final_loss
        out[f"{arm}_val_loss"] = run.val_loss
        out[f"{arm}_diverged"] = run.diverged
        out[f"{arm}_train_s"] = run.seconds
    out["final_loss_gap"] = out["fp8_final_loss"] / out["bf16_final_loss"] - 1
    out["val_loss_gap"] = out["fp8_val_loss"] / out["bf16_val_loss"] - 1
    runs.clear()
    release_compiled()
    return out


def run_gpu_bench(throughput_config: ThroughputConfig, parity_config: ParityConfig,
                  data: ByteSplit, device: torch.device | str = "cuda", *,
                  progress: bool = False) -> dict:
    """All three measurements, flattened to the keys the chapter reads: ``bf16_step_s``,
    ``fp8_step_s``, ``speedup``, ``bf16_final_loss``, ``fp8_final_loss``,
    ``final_loss_gap``, ``val_loss_gap``, ``inference_relative_l2``,
    ``inference_argmax_agreement`` (plus the details under ``throughput`` and ``parity``)."""
    speed = throughput(throughput_config, device)
    parity = loss_parity(parity_config, data, device, progress=progress)
    flat = {key: speed[key] for key in ("bf16_step_s", "fp8_step_s", "speedup", "fp8_gemms",
                                        "fp8_unavailable")}
    for key in ("bf16_final_loss", "fp8_final_loss", "bf16_val_loss", "fp8_val_loss",
                "final_loss_gap", "val_loss_gap", "bf16_diverged", "fp8_diverged"):
        flat[key] = parity[key]
    flat["inference_relative_l2"] = parity["inference"]["relative_l2"]
    flat["inference_max_abs"] = parity["inference"]["max_abs"]
    flat["inference_argmax_agreement"] = parity["inference"]["argmax_agreement"]
    flat["throughput"] = speed
    flat["parity"] = parity
    return flat


def step_flops(config: ThroughputConfig) -> float:
    """Approximate FLOPs of one training step (6 x matmul parameters x tokens, plus
    attention's 12 x layers x d x seq per token), for reading step times as throughput."""
    tokens = config.batch_size * config.seq_len
    dense = 12 * config.n_layers * config.d_model**2 + config.vocab_size * config.d_model
    attention = 12 * config.n_layers * config.d_model * config.seq_len / 2  # causal half
    return 6 * dense * tokens + attention * tokens


TINY = {"throughput": {"d_model": 256, "n_layers": 2, "n_heads": 4, "seq_len": 256,
                       "batch_size": 4, "vocab_size": 512, "warmup_steps": 2, "timed_steps": 3},
        "parity": {"d_model": 128, "n_layers": 2, "n_heads": 2, "seq_len": 128,
                   "batch_size": 8, "steps": 60, "warmup_steps": 6, "log_every": 5,
                   "eval_batches": 2}}


def _assignments(pairs: list[str], kind: type) -> dict:
    fields = kind.__dataclass_fields__
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in fields:
            raise SystemExit(f"bad {kind.__name__} setting {pair!r}; use KEY=VALUE with KEY one "
                             f"of {sorted(fields)}")
        default = getattr(kind(), key)
        out[key] = type(default)(value) if not isinstance(default, bool) else value == "true"
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: run the benchmark at chosen sizes and print (and optionally save) it."""
    import argparse
    import json

    from effnotes.unit_scaling.data import byte_tokens, split_bytes

    parser = argparse.ArgumentParser(prog="python -m effnotes.unit_scaling.gpu_bench",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="tiny sizes, to check it runs")
    parser.add_argument("--throughput", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--parity", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", help="write the result as JSON here")
    args = parser.parse_args(argv)
    base = TINY if args.tiny else {"throughput": {}, "parity": {}}
    speed = ThroughputConfig(**{**base["throughput"], **_assignments(args.throughput,
                                                                      ThroughputConfig)})
    parity = ParityConfig(**{**base["parity"], **_assignments(args.parity, ParityConfig)})
    data = split_bytes(byte_tokens(max_bytes=2_000_000 if args.tiny else None))
    start = time.perf_counter()
    result = run_gpu_bench(speed, parity, data, "cuda", progress=True)
    wall = time.perf_counter() - start
    keys = [k for k in result if k not in ("throughput", "parity")]
    for key in keys:
        print(f"{key:28s} {result[key]}")
    print(f"wall time {wall:.1f} s on {torch.cuda.get_device_name()}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump({"wall_time_s": wall, **result}, handle, indent=1, default=str)
    return 0


__all__ = ["ThroughputConfig", "ParityConfig", "TrainingStep", "build_training_step",
           "release_compiled", "time_training_steps", "throughput",
           "loss_parity", "inference_parity", "run_gpu_bench", "step_flops"]



if __name__ == "__main__":
    raise SystemExit(main())
