"""Real FP8 against BF16 and against torchao on one GPU: step time, loss parity and
inference parity.

Three measurements, each with its sizes as a dataclass so a tiny version can run first:

- :func:`compare_step_times`: the time of a full training step (forward, backward, AdamW
  step) of a decoder of the paper's 1B shape, in one process, for several arms
  (:data:`ARMS`): μS with its hidden linear layers in BF16 (autocast), in effnotes' static
  FP8 (:mod:`.fp8_cuda`), and in torchao's float8 with dynamic tensorwise and rowwise
  scales, on the μS model and on an SP model (:mod:`.torchao_float8`). All compiled, the
  attention in BF16 through ``F.scaled_dot_product_attention``. The arms take turns, round
  after round, so slow drift of the machine hits them alike; each visit builds the model
  afresh from seed 0, warms up and times a few steps (CUDA-synchronised).
- :func:`loss_parity`: a smaller model trained from several seeds as μS-BF16, μS-FP8 and
  SP-BF16 (with Lion, :mod:`.lion`, as in the paper), on the same batches per seed; the
  gaps of μS-FP8 against the other two, their mean and a 95% interval over seeds.
- :func:`inference_parity`: the FP8-trained μS model's FP8 inference against the same
  weights in BF16, and an SP model's FP8 inference (dynamic per-tensor scales, recomputed
  on the inference batch) against its own BF16 inference: logit relative L2, arg-max
  agreement and loss for each.

Needs torch (with CUDA for real FP8), numpy and pandas; the torchao arms need torchao (the
``[gpu]`` extra) and report that it is missing otherwise. To try it small first::

    python -m effnotes.unit_scaling.gpu_bench --tiny
    python -m effnotes.unit_scaling.gpu_bench --step-times --store   # results/unit_scaling/gpu_step_times.json
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from effnotes.unit_scaling.data import ByteSplit, random_windows
from effnotes.unit_scaling.fp8_cuda import fp8_unavailable_reason
from effnotes.unit_scaling.model import Decoder, DecoderConfig, optimizer_groups
from effnotes.unit_scaling.torchao_float8 import (apply_torchao_compile_settings, convert_decoder,
                                                  torchao_unavailable_reason)
from effnotes.unit_scaling.train import TrainSettings, train_decoder


@dataclass(frozen=True)
class Arm:
    """One way to run the decoder's hidden linear layers: the ``parametrisation``, the
    layers' ``precision`` (see :mod:`.functional`) and, for torchao's float8, its
    ``torchao_recipe`` ("tensorwise" or "rowwise"; the layers are then built in "fp32"
    and converted). Every arm runs under BF16 autocast."""

    label: str
    parametrisation: str
    precision: str
    torchao_recipe: str | None = None


#: the step-time arms, by name; "bf16" (μS) is the baseline of every ratio
ARMS = {
    "bf16": Arm("μS, BF16", "mus", "fp32"),
    "fp8": Arm("μS, effnotes FP8 (static scales)", "mus", "fp8_cuda"),
    "torchao_tensorwise": Arm("μS, torchao float8 tensorwise", "mus", "fp32", "tensorwise"),
    "torchao_rowwise": Arm("μS, torchao float8 rowwise", "mus", "fp32", "rowwise"),
    "torchao_tensorwise_sp": Arm("SP, torchao float8 tensorwise", "sp", "fp32", "tensorwise"),
    "torchao_rowwise_sp": Arm("SP, torchao float8 rowwise", "sp", "fp32", "rowwise"),
    "bf16_sp": Arm("SP, BF16", "sp", "fp32"),
}


def arm_unavailable_reason(arm: str, device: torch.device | str = "cuda") -> str | None:
    """Why ``arm`` cannot run on ``device`` (``None`` when it can)."""
    spec = ARMS[arm]
    if spec.torchao_recipe is not None:
        return torchao_unavailable_reason() or fp8_unavailable_reason(device)
    if spec.precision == "fp8_cuda":
        return fp8_unavailable_reason(device)
    return None


@dataclass(frozen=True)
class ThroughputConfig:
    """The throughput model: the paper's 1B shape by default (d 2048, 24 layers, 16 heads,
    sequences of 2048, batch 8 = 16k tokens a step). ``compile`` is ``"regional"`` (each
    block compiled; the blocks share one compiled graph) or ``"full"`` (the whole loss).
    :func:`compare_step_times` visits each of ``arms`` ``rounds`` times; a visit runs
    ``warmup_steps`` then ``timed_steps``."""

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
    arms: tuple[str, ...] = ("bf16", "fp8")
    rounds: int = 1

    def __post_init__(self) -> None:
        if self.compile not in ("regional", "full", "none"):
            raise ValueError(f"compile must be 'regional', 'full' or 'none', got {self.compile!r}")
        if self.warmup_steps < 1 or self.timed_steps < 1 or self.rounds < 1:
            raise ValueError("warmup_steps, timed_steps and rounds must be at least 1")
        unknown = [arm for arm in self.arms if arm not in ARMS]
        if unknown or not self.arms:
            raise ValueError(f"unknown arms {unknown}; choose from {sorted(ARMS)}")
        object.__setattr__(self, "arms", tuple(self.arms))

    def decoder(self, precision: str, parametrisation: str = "mus") -> DecoderConfig:
        return DecoderConfig(vocab_size=self.vocab_size, d_model=self.d_model,
                             n_layers=self.n_layers, n_heads=self.n_heads, seq_len=self.seq_len,
                             parametrisation=parametrisation, precision=precision)


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


def build_model(config: DecoderConfig, arm: str) -> Decoder:
    """A :class:`~effnotes.unit_scaling.model.Decoder` of ``config`` run the way ``arm`` says (its parametrisation and
    precision replace ``config``'s), on the current default device, from the current seed."""
    spec = ARMS[arm]
    model = Decoder(config.replace(parametrisation=spec.parametrisation,
                                   precision=spec.precision))
    if spec.torchao_recipe is not None:
        convert_decoder(model, spec.torchao_recipe)
    return model


def build_training_step(config: ThroughputConfig, arm: str, device: torch.device | str = "cuda"
                        ) -> TrainingStep:
    """The training step of ``arm`` (a key of :data:`ARMS`) for ``config``'s model, built on
    the GPU from seed 0 on random tokens (the step time does not depend on the data)."""
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r}; choose one of {sorted(ARMS)}")
    device = torch.device(device)
    _require_cuda(device)
    torch.manual_seed(0)
    with device:  # initialise on the GPU: a 1.4B-parameter init on the CPU takes a while
        model = build_model(config.decoder("fp32"), arm)
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
    """One visit: median seconds of one training step of ``arm``: forward, backward,
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


def summarise_visits(visits: dict[str, list[float]], baseline: str = "bf16") -> list[dict]:
    """Per arm, from its visits' median step times (seconds, in round order): the median
    and the range over visits, and the ratio ``baseline / arm`` per round (each round's
    visits ran back to back), with its median and range. Arms without visits are left out;
    without the baseline the ratios are NaN."""
    rows = []
    base = visits.get(baseline, [])
    for arm, times in visits.items():
        if not times:
            continue
        ratios = [b / t for b, t in zip(base, times)] if base else []
        rows.append({"arm": arm, "label": ARMS[arm].label if arm in ARMS else arm,
                     "step_s": statistics.median(times), "step_min_s": min(times),
                     "step_max_s": max(times), "visits": len(times),
                     "speedup": statistics.median(ratios) if ratios else math.nan,
                     "speedup_min": min(ratios) if ratios else math.nan,
                     "speedup_max": max(ratios) if ratios else math.nan})
    return rows


def compare_step_times(config: ThroughputConfig, device: torch.device | str = "cuda", *,
                       progress: bool = False) -> dict:
    """Step times of ``config.arms`` on the same model, in one process: ``config.rounds``
    rounds, each visiting every available arm once (in reverse order on odd rounds).
    Where a torchao arm runs, torchao's process-wide compiler setting is applied before
    the first visit (:func:`.torchao_float8.apply_torchao_compile_settings`), so that all
    arms compile alike. Returns the config, each visit's details, the arms that could not
    run with the reason (missing torchao, no FP8, or the error a visit raised), whether
    that setting was applied, and :func:`summarise_visits`'s table under ``"arms"``."""
    device = torch.device(device)
    _require_cuda(device)
    unavailable = {arm: reason for arm in config.arms
                   if (reason := arm_unavailable_reason(arm, device)) is not None}
    runnable = [arm for arm in config.arms if arm not in unavailable]
    torchao_settings = any(ARMS[arm].torchao_recipe for arm in runnable)
    if torchao_settings:  # every arm then compiles under torchao's inductor setting
        apply_torchao_compile_settings()
    visits: dict[str, list[float]] = {arm: [] for arm in runnable}
    details = []
    for round_index in range(config.rounds):
        order = runnable if round_index % 2 == 0 else runnable[::-1]
        for arm in order:
            if arm in unavailable:
                continue
            try:
                visit = time_training_steps(config, arm, device)
            except (RuntimeError, AssertionError, ValueError) as error:  # recorded, shown
                unavailable[arm] = f"{type(error).__name__}: {str(error)[:300]}"
                visits.pop(arm, None)
                visit = None
            finally:
                release_compiled()
            if visit is not None:
                visit["round"] = round_index
                visits[arm].append(visit["step_s"])
                details.append(visit)
                if progress:
                    print(f"round {round_index} {arm:24s} {visit['step_s'] * 1e3:8.1f} ms")
    return {"config": asdict(config), "visits": details, "unavailable": unavailable,
            "torchao_compile_settings": torchao_settings, "arms": summarise_visits(visits)}


def throughput(config: ThroughputConfig, device: torch.device | str = "cuda") -> dict:
    """BF16 and FP8 step times of the same model, and the speedup ``bf16 / fp8`` (one
    visit each)."""
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


#: the loss-parity arms: name -> (parametrisation, precision of the hidden layers)
PARITY_ARMS = {"mus_bf16": ("mus", "fp32"), "mus_fp8": ("mus", "fp8_cuda"),
               "sp_bf16": ("sp", "fp32")}


@dataclass(frozen=True)
class ParityConfig:
    """The loss-parity model and its training (bytes of the Python prose): one run per arm
    of :data:`PARITY_ARMS` and seed. ``lr`` is the μS peak rate (hidden layers:
    ``lr * sqrt(base_width / d_model)``, μS's transfer rule), ``sp_lr`` SP's (one rate for
    all). Neither was tuned at this size: they come from short Lion runs of a width-128,
    2-layer model on the CPU (300 steps: of 3e-3, 1e-2 and 3e-2 μS did best at 3e-2, of
    1e-4, 3e-4 and 1e-3 SP at 3e-4; both taken lower for this wider, deeper model). ``weight_decay`` is fully decoupled (the per-step shrink
    factor at the peak of the schedule)."""

    d_model: int = 512
    n_layers: int = 8
    n_heads: int = 8
    seq_len: int = 512
    batch_size: int = 32
    steps: int = 1500
    optimizer: str = "lion"
    lr: float = 2e-2
    sp_lr: float = 2e-4
    base_width: int = 128
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    seeds: tuple[int, ...] = (0, 1, 2)
    compile: bool = True
    log_every: int = 10
    eval_batches: int = 8
    inference_windows: int = 8

    def __post_init__(self) -> None:
        if len(self.seeds) < 1 or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and at least one, got {self.seeds!r}")
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))

    def decoder(self, precision: str, parametrisation: str = "mus") -> DecoderConfig:
        return DecoderConfig(vocab_size=256, d_model=self.d_model, n_layers=self.n_layers,
                             n_heads=self.n_heads, seq_len=self.seq_len,
                             parametrisation=parametrisation, precision=precision)

    def settings(self, seed: int, parametrisation: str = "mus") -> TrainSettings:
        return TrainSettings(steps=self.steps, batch_size=self.batch_size,
                             lr=self.lr if parametrisation == "mus" else self.sp_lr,
                             weight_decay=self.weight_decay, warmup_steps=self.warmup_steps,
                             seed=seed, eval_batches=self.eval_batches,
                             log_every=self.log_every, optimizer=self.optimizer,
                             base_width=self.base_width)


@torch.no_grad()
def _eval_logits(model: Decoder, ids: torch.Tensor) -> torch.Tensor:
    model.eval()
    try:
        with torch.autocast(ids.device.type, dtype=torch.bfloat16):
            return model(ids).float()
    finally:
        model.train()


def same_weights(model: Decoder, precision: str) -> Decoder:
    """A copy of ``model`` (same parameters, same device) whose hidden linear layers run in
    ``precision`` instead."""
    device = next(model.parameters()).device
    with device:
        twin = Decoder(model.config.replace(precision=precision))
    twin.load_state_dict(model.state_dict(), strict=True)
    return twin


def logit_agreement(reference: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor
                    ) -> dict:
    """How far ``logits`` ``(..., vocab)`` are from ``reference`` (same shape): relative L2
    ``|logits - reference| / |reference|``, largest absolute difference, the share of
    positions whose arg-max token agrees, and the cross-entropy (nats) of each against
    ``targets`` ``(...)``."""
    if reference.shape != logits.shape or reference.shape[:-1] != targets.shape:
        raise ValueError(f"shapes disagree: reference {tuple(reference.shape)}, logits "
                         f"{tuple(logits.shape)}, targets {tuple(targets.shape)}")
    reference, logits = reference.float(), logits.float()
    diff = logits - reference
    flat = targets.reshape(-1)
    return {"relative_l2": float(diff.norm() / reference.norm()),
            "max_abs": float(diff.abs().max()),
            "argmax_agreement": float((logits.argmax(-1) == reference.argmax(-1)).float().mean()),
            "loss": float(F.cross_entropy(logits.reshape(flat.numel(), -1), flat)),
            "reference_loss": float(F.cross_entropy(reference.reshape(flat.numel(), -1), flat))}


def inference_parity(mus_fp8: Decoder, sp_bf16: Decoder, ids: torch.Tensor,
                     targets: torch.Tensor) -> dict:
    """Inference (eval mode, ``no_grad``, BF16 autocast) on ``ids`` ``(batch, tokens)``:

    - ``"mus"``: the FP8-trained μS model's FP8 forward (the same static scales as in
      training, nothing measured) against the same weights run in BF16;
    - ``"sp"``: the BF16-trained SP model run with simulated FP8 GEMMs whose per-tensor
      scales are recomputed from this batch (``"fp8_sim_dynamic"``; SP's tensors are far
      from unit scale, so a plain cast is not an option) against its own BF16 forward.

    Each entry is :func:`logit_agreement` of the FP8 logits against the BF16 ones."""
    out = {}
    for name, model, fp8_precision in (("mus", mus_fp8, mus_fp8.config.precision),
                                       ("sp", sp_bf16, "fp8_sim_dynamic")):
        fp8 = model if model.config.precision == fp8_precision else same_weights(model,
                                                                                 fp8_precision)
        bf16 = same_weights(model, "fp32") if model.config.precision != "fp32" else model
        out[name] = {**logit_agreement(_eval_logits(bf16, ids), _eval_logits(fp8, ids), targets),
                     "fp8_precision": fp8_precision}
    return out


def loss_parity(config: ParityConfig, data: ByteSplit, device: torch.device | str = "cuda",
                *, progress: bool = False) -> dict:
    """Train every arm of :data:`PARITY_ARMS` from each of ``config.seeds`` (within a seed:
    the same batches, and the same initial weights for the two μS arms); return the runs
    (final training loss = mean of the last 10% of steps, validation loss, time), the
    curves, the per-seed gaps of μS-FP8 against μS-BF16 and against SP-BF16
    (``fp8 / reference - 1``), their :func:`.summary.mean_interval` over seeds, and
    :func:`inference_parity` of the first seed's models."""
    from effnotes.unit_scaling.summary import mean_interval

    device = torch.device(device)
    _require_cuda(device)
    fp8_unavailable_reason(device)
    runs, curves, first = [], [], {}
    generator = torch.Generator().manual_seed(99)
    ids, targets = random_windows(data.val, config.inference_windows, config.seq_len, generator)
    inference = None
    for seed in config.seeds:
        for arm, (param, precision) in PARITY_ARMS.items():
            run = train_decoder(config.decoder(precision, param), data,
                                config.settings(seed, param), device=device,
                                autocast_dtype=torch.bfloat16, compile=config.compile,
                                progress=progress, label=f"parity {arm} seed {seed}")
            runs.append({"arm": arm, "seed": seed, "final_loss": run.final_loss,
                         "val_loss": run.val_loss, "diverged": run.diverged,
                         "train_s": run.seconds})
            curves += [{"arm": arm, "seed": seed, "step": int(s), "loss": float(l)}
                       for s, l in zip(run.curve["step"], run.curve["loss"])]
            if seed == config.seeds[0]:
                first[arm] = run.model
        if seed == config.seeds[0]:
            try:
                inference = inference_parity(first["mus_fp8"], first["sp_bf16"],
                                             ids.to(device), targets.to(device))
            except (RuntimeError, ValueError) as error:  # kept and shown; training goes on
                inference = {"error": f"{type(error).__name__}: {str(error)[:300]}"}
            first.clear()
        release_compiled()
    gaps = []
    by = {(r["arm"], r["seed"]): r for r in runs}
    for seed in config.seeds:
        fp8 = by["mus_fp8", seed]
        for reference in ("mus_bf16", "sp_bf16"):
            ref = by[reference, seed]
            gaps.append({"seed": seed, "reference": reference,
                         "final_loss_gap": fp8["final_loss"] / ref["final_loss"] - 1,
                         "val_loss_gap": fp8["val_loss"] / ref["val_loss"] - 1})
    summary = {}
    for reference in ("mus_bf16", "sp_bf16"):
        for key in ("final_loss_gap", "val_loss_gap"):
            values = [g[key] for g in gaps if g["reference"] == reference]
            summary[f"{reference}_{key}"] = mean_interval(values)
    return {"config": asdict(config), "runs": runs, "curves": curves, "gaps": gaps,
            "summary": summary, "inference": inference}


def run_gpu_bench(throughput_config: ThroughputConfig | None, parity_config: ParityConfig,
                  data: ByteSplit, device: torch.device | str = "cuda", *,
                  progress: bool = False) -> dict:
    """Loss parity and inference parity (and, unless ``throughput_config`` is None, the
    step times of :func:`compare_step_times`), flattened to the keys the chapter reads:
    ``parity_gaps`` (mean, interval, per reference and loss), ``inference_mus_*`` and
    ``inference_sp_*`` (relative L2, arg-max agreement, loss), ``final_loss_gap`` and
    ``val_loss_gap`` (the mean over seeds against μS-BF16), ``inference_relative_l2`` and
    ``inference_argmax_agreement`` (μS FP8 against BF16); the details under ``parity`` and
    ``step_times``."""
    flat: dict = {}
    if throughput_config is not None:
        flat["step_times"] = compare_step_times(throughput_config, device, progress=progress)
    parity = loss_parity(parity_config, data, device, progress=progress)
    flat["parity_gaps"] = parity["summary"]
    flat["final_loss_gap"] = parity["summary"]["mus_bf16_final_loss_gap"]["mean"]
    flat["val_loss_gap"] = parity["summary"]["mus_bf16_val_loss_gap"]["mean"]
    if "error" in parity["inference"]:
        flat["inference_error"] = parity["inference"]["error"]
    else:
        for name, entry in parity["inference"].items():
            for key in ("relative_l2", "max_abs", "argmax_agreement", "loss", "reference_loss"):
                flat[f"inference_{name}_{key}"] = entry[key]
        flat["inference_relative_l2"] = flat["inference_mus_relative_l2"]
        flat["inference_argmax_agreement"] = flat["inference_mus_argmax_agreement"]
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
                       "batch_size": 4, "vocab_size": 512, "warmup_steps": 2, "timed_steps": 3,
                       "arms": tuple(ARMS), "rounds": 2},
        "parity": {"d_model": 128, "n_layers": 2, "n_heads": 2, "seq_len": 128,
                   "batch_size": 8, "steps": 60, "warmup_steps": 6, "log_every": 5,
                   "eval_batches": 2, "seeds": (0, 1), "inference_windows": 2}}

#: the stored step-time comparison (``--step-times``): every arm at the paper's 1B shape,
#: and the three main arms at width 4096 (8 layers, to fit the time and memory of one run)
STEP_TIME_CONFIGS = {
    "d2048": ThroughputConfig(arms=("bf16", "fp8", "torchao_tensorwise", "torchao_rowwise",
                                    "torchao_tensorwise_sp", "torchao_rowwise_sp"),
                              rounds=3, warmup_steps=2, timed_steps=5),
    "d4096": ThroughputConfig(d_model=4096, n_layers=8, n_heads=32,
                              arms=("bf16", "fp8", "torchao_tensorwise"),
                              rounds=3, warmup_steps=2, timed_steps=5),
}


def step_time_table(result: dict) -> "pd.DataFrame":
    """One row per (model size, arm) of a stored ``--step-times`` result: median step time
    (ms), its range over visits, the speedup over μS-BF16 (median and range over rounds),
    and arms that could not run with the reason."""
    import pandas as pd

    rows = []
    for size, entry in result["sizes"].items():
        for row in entry["arms"]:
            rows.append({"model": size, "arm": row["label"], "step_ms": 1e3 * row["step_s"],
                         "step_ms_min": 1e3 * row["step_min_s"],
                         "step_ms_max": 1e3 * row["step_max_s"], "visits": row["visits"],
                         "speedup": row["speedup"], "speedup_min": row["speedup_min"],
                         "speedup_max": row["speedup_max"], "unavailable": ""})
        for arm, reason in entry["unavailable"].items():
            rows.append({"model": size, "arm": ARMS[arm].label, "unavailable": reason})
    return pd.DataFrame(rows)


def _assignments(pairs: list[str], kind: type) -> dict:
    fields = kind.__dataclass_fields__
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in fields:
            raise SystemExit(f"bad {kind.__name__} setting {pair!r}; use KEY=VALUE with KEY one "
                             f"of {sorted(fields)}")
        default = getattr(kind(), key)
        if isinstance(default, bool):
            out[key] = value == "true"
        elif isinstance(default, tuple):
            kind_of = type(default[0]) if default else str
            out[key] = tuple(kind_of(v) for v in value.split(",") if v)
        else:
            out[key] = type(default)(value)
    return out


def run_step_times(configs: dict[str, ThroughputConfig], device: torch.device | str = "cuda",
                   *, progress: bool = False) -> dict:
    """:func:`compare_step_times` for each named config, with the hardware."""
    from effnotes.runtime import describe_hardware

    sizes = {}
    for name, config in configs.items():
        sizes[name] = compare_step_times(config, device, progress=progress)
    return {"hardware": describe_hardware(torch.device(device)).as_dict(), "sizes": sizes}


def main(argv: list[str] | None = None) -> int:
    """Command line: run the benchmark at chosen sizes and print (and optionally save) it."""
    import argparse
    import json

    import pandas as pd

    from effnotes.results import save_result
    from effnotes.unit_scaling.data import byte_tokens, split_bytes

    parser = argparse.ArgumentParser(prog="python -m effnotes.unit_scaling.gpu_bench",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="tiny sizes, to check it runs")
    parser.add_argument("--step-times", action="store_true",
                        help="only the step-time comparison of STEP_TIME_CONFIGS (with --tiny: "
                             "at tiny sizes)")
    parser.add_argument("--store", action="store_true", help="with --step-times: write "
                        "results/unit_scaling/gpu_step_times.json")
    parser.add_argument("--no-step-times", action="store_true",
                        help="leave the step times out (loss and inference parity only)")
    parser.add_argument("--throughput", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--parity", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", help="write the result as JSON here")
    args = parser.parse_args(argv)
    if args.store and (not args.step_times or args.tiny):
        raise SystemExit("--store stores the full --step-times run only (not --tiny)")
    base = TINY if args.tiny else {"throughput": {}, "parity": {}}
    start = time.perf_counter()
    if args.step_times:
        configs = ({"tiny": ThroughputConfig(**base["throughput"])} if args.tiny
                   else STEP_TIME_CONFIGS)
        result = run_step_times(configs, "cuda", progress=True)
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            print(step_time_table(result).round(3).to_string())
    else:
        speed = ThroughputConfig(**{**base["throughput"],
                                    **_assignments(args.throughput, ThroughputConfig)})
        parity = ParityConfig(**{**base["parity"], **_assignments(args.parity, ParityConfig)})
        data = split_bytes(byte_tokens(max_bytes=2_000_000 if args.tiny else None))
        result = run_gpu_bench(None if args.no_step_times else speed, parity, data, "cuda",
                               progress=True)
        for key in [k for k in result if k not in ("step_times", "parity")]:
            print(f"{key:32s} {result[key]}")
        if "step_times" in result:
            print(step_time_table({"sizes": {"run": result["step_times"]}}).round(3).to_string())
    wall = time.perf_counter() - start
    print(f"wall time {wall:.1f} s on {torch.cuda.get_device_name()}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump({"wall_time_s": wall, **result}, handle, indent=1, default=str)
    claims = None
    if args.step_times:
        from effnotes.claims import as_records, failing
        from effnotes.stored_runs import claims_report
        from effnotes.unit_scaling.bench_claims import step_time_claims

        claims = step_time_claims(result)
        print(claims_report(claims, "step-time comparison"))
    if args.store:
        parameters = {name: asdict(config) for name, config in STEP_TIME_CONFIGS.items()}
        path = save_result("unit_scaling", "gpu_step_times", result, profile="gpu",
                           parameters=parameters, wall_time_s=wall, device="cuda",
                           extra_provenance={"claims": as_records(claims)})
        print(f"stored {path}")
    return 0 if args.store or claims is None or not len(failing(claims)) else 1


__all__ = ["ARMS", "Arm", "PARITY_ARMS", "STEP_TIME_CONFIGS", "ThroughputConfig",
           "ParityConfig", "TrainingStep", "arm_unavailable_reason", "build_model",
           "build_training_step", "release_compiled", "time_training_steps", "throughput",
           "summarise_visits", "compare_step_times", "run_step_times", "step_time_table",
           "same_weights", "logit_agreement", "loss_parity", "inference_parity",
           "run_gpu_bench", "step_flops"]


if __name__ == "__main__":
    raise SystemExit(main())
