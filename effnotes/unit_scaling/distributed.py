"""The μS decoder beyond one GPU: data-parallel training under PyTorch FSDP2.

Launch it with ``torchrun`` (any number of processes, 1 included)::

    torchrun --nproc-per-node 2 -m effnotes.unit_scaling.distributed train \\
        --steps 200 --checkpoint-dir /tmp/ckpt --checkpoint-every 50
    torchrun --nproc-per-node 1 -m effnotes.unit_scaling.distributed bench   # see .dist_bench

What it uses, all from PyTorch itself:

- ``torch.distributed`` with NCCL on GPUs (one GPU per process, ``LOCAL_RANK``) and gloo on
  the CPU; a 1-D device mesh over all processes;
- :func:`torch.distributed.fsdp.fully_shard` (FSDP2) on every block and then on the whole
  decoder (embedding, positions, final norm and readout): each rank holds ``1/N`` of every
  parameter and of the AdamW state; a block's weights are all-gathered just before it runs and
  freed after, gradients are reduce-scattered. With ``--mixed-precision bf16`` the weights
  are gathered in BF16 and gradients reduced in FP32 (``MixedPrecisionPolicy``), and the step
  runs under BF16 autocast, as the single-GPU benchmark does;
- ``--fp8-all-gather``: the hidden linear weights are gathered as E4M3 bytes
  (:mod:`.fp8_allgather`), exact because μS scales are static;
- :mod:`torch.distributed.checkpoint` (DCP): every rank writes its shards, and a run resumes
  from the latest complete checkpoint at any number of processes (DCP reshards on load);
- a tqdm progress bar on rank 0 only.

Data parallelism is exact: every rank draws the same global batch of step ``k`` (a generator
seeded by the run's seed and ``k``, so resuming needs no data state) and takes its own rows.
The μS loss-gradient scale is that of the global batch (``global tokens x d``), and FSDP
averages the gradients over ranks, so the update is the single-process update of the global
batch; the logged loss is the mean over ranks.

Environment on GPU machines: before ``init_process_group`` the launcher sets (unless already
set) ``NCCL_NVLS_ENABLE=0``, ``TORCH_SYMM_MEM_DISABLE_MULTICAST=1`` and
``NVSHMEM_DISABLE_NVLS=1``: NVLink multicast (NVLS) stays off, as the machines this runs on
forbid it. On the CPU, gloo talks over ``GLOO_SOCKET_IFNAME`` (set it to ``lo`` to stay on
loopback). Run without ``torchrun``, it starts a single process on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import socket
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.state_dict import (get_optimizer_state_dict,
                                                     set_optimizer_state_dict)
from torch.distributed.device_mesh import DeviceMesh, init_device_mesh
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
from torch.distributed.tensor import DTensor

from effnotes.unit_scaling.fp8_allgather import enable_fp8_all_gather, plain
from effnotes.unit_scaling.functional import cross_entropy
from effnotes.unit_scaling.model import Decoder, DecoderConfig, optimizer_groups
from effnotes.unit_scaling.train import TrainSettings

#: set on GPU machines before the process group starts: no NVLink multicast (NVLS)
GPU_LAUNCH_ENV = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1",
                  "NVSHMEM_DISABLE_NVLS": "1"}
#: the exit status of a run ended by ``--kill-after`` (a simulated preemption)
KILLED_EXIT_CODE = 17
MIXED_PRECISION = ("bf16", "none")
#: how long a collective may wait for the other ranks (the benchmark's one-GPU reference keeps
#: the other ranks waiting at a barrier for minutes)
PROCESS_GROUP_TIMEOUT = datetime.timedelta(minutes=30)


@dataclass(frozen=True)
class Context:
    """This process's place in the run: ``rank`` of ``world_size``, its ``device`` and the 1-D
    ``mesh`` over all processes."""

    rank: int
    world_size: int
    device: torch.device
    mesh: DeviceMesh

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def init_distributed(device: str = "auto") -> Context:
    """Start (or join) the process group from torchrun's environment (``RANK``,
    ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``); without it, a single
    process on 127.0.0.1. ``device``: ``"cuda"`` (NCCL, GPU ``LOCAL_RANK``), ``"cpu"``
    (gloo) or ``"auto"`` (CUDA where available)."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' was asked for, but this torch sees no CUDA device")
    if "RANK" not in os.environ:  # plain `python -m ...`: a world of one
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0")
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(_free_loopback_port()))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "cuda":
        for key, value in GPU_LAUNCH_ENV.items():
            os.environ.setdefault(key, value)
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
        if not dist.is_initialized():
            dist.init_process_group("nccl", device_id=dev, timeout=PROCESS_GROUP_TIMEOUT)
    else:
        dev = torch.device("cpu")
        if not dist.is_initialized():
            dist.init_process_group("gloo", timeout=PROCESS_GROUP_TIMEOUT)
    mesh = init_device_mesh(dev.type, (dist.get_world_size(),))
    return Context(dist.get_rank(), dist.get_world_size(), dev, mesh)


def mixed_precision_policy(mixed_precision: str) -> MixedPrecisionPolicy:
    """``"bf16"``: gather weights in BF16, reduce gradients in FP32; ``"none"``: FP32 both."""
    if mixed_precision not in MIXED_PRECISION:
        raise ValueError(f"mixed_precision must be one of {MIXED_PRECISION}, "
                         f"got {mixed_precision!r}")
    if mixed_precision == "bf16":
        return MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
    return MixedPrecisionPolicy()


def shard_decoder(model: Decoder, mesh: DeviceMesh, *, mixed_precision: str = "none",
                  fp8_all_gather: bool = False) -> Decoder:
    """Apply FSDP2 to ``model`` in place: :func:`torch.distributed.fsdp.fully_shard` on each
    block, then on the decoder (the root holds the embedding, positions, final norm and
    readout). With ``fp8_all_gather`` the hidden linear weights are first wrapped by
    :func:`.fp8_allgather.enable_fp8_all_gather`; that needs FP8 layers (``precision``
    ``fp8_sim`` or ``fp8_cuda``), whose forward casts the weight to E4M3 anyway."""
    if not isinstance(model, Decoder):
        raise TypeError(f"model must be a Decoder, got {type(model).__name__}")
    if fp8_all_gather and model.config.precision == "fp32":
        raise ValueError("fp8_all_gather needs FP8 linear layers (precision 'fp8_sim' or "
                         "'fp8_cuda'); with precision 'fp32' the gathered weights would be "
                         "rounded where the model never rounds them")
    policy = mixed_precision_policy(mixed_precision)
    if fp8_all_gather:
        enable_fp8_all_gather(model)
    for block in model.blocks:
        fully_shard(block, mesh=mesh, mp_policy=policy)
    fully_shard(model, mesh=mesh, mp_policy=policy)
    model._effnotes_policy = policy  # read by predicted_all_gather_bytes
    return model


def global_batch(step: int, batch_size: int, seq_len: int, *, seed: int,
                 tokens: torch.Tensor | None = None, vocab_size: int = 256
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """The global batch of ``step`` (0-based): ``(batch_size, seq_len)`` int64 inputs and
    next-token targets, the same on every rank. From random windows of ``tokens`` (1-D) or,
    with ``tokens=None``, uniform random ids below ``vocab_size``. Seeded by ``seed`` and
    ``step`` only, so a resumed run draws the batches it would have drawn."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + step)
    if tokens is None:
        windows = torch.randint(0, vocab_size, (batch_size, seq_len + 1), generator=generator)
    else:
        if len(tokens) <= seq_len + 1:
            raise ValueError(f"{len(tokens)} tokens are too few for windows of {seq_len}")
        starts = torch.randint(0, len(tokens) - seq_len - 1, (batch_size,), generator=generator)
        windows = tokens[starts[:, None] + torch.arange(seq_len + 1)]
    return windows[:, :-1], windows[:, 1:]


def local_rows(batch: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """Rank ``rank``'s contiguous share of the rows of ``batch``; the row count must divide
    evenly (every rank then has the same number of tokens, so the mean of the ranks' mean
    losses is the global mean)."""
    if batch.shape[0] % world_size:
        raise ValueError(f"a global batch of {batch.shape[0]} rows does not split evenly over "
                         f"{world_size} processes")
    rows = batch.shape[0] // world_size
    return batch[rank * rows:(rank + 1) * rows]


def make_optimizer(model: nn.Module, settings: TrainSettings, device: torch.device
                   ) -> torch.optim.Optimizer:
    """AdamW with the μS groups of :func:`.model.optimizer_groups`, as
    :func:`.train.train_decoder` builds it (fused on CUDA); build it after sharding."""
    groups = optimizer_groups(model, settings.lr, settings.weight_decay,
                              base_width=settings.base_width, sp_lr_rule=settings.sp_lr_rule)
    for group in groups:
        group["base_lr"] = group["lr"]
    return torch.optim.AdamW(groups, betas=(0.9, 0.95), eps=1e-8,
                             **({"fused": True} if device.type == "cuda" else {}))


class TrainingStep:
    """One data-parallel training step: ``step(ids, targets, lr_multiplier)`` takes this
    rank's rows of the global batch, runs forward, backward and the AdamW step at the
    schedule's rate, and returns the global mean loss (a detached 0-d FP32 tensor; with
    ``world_size > 1`` it is all-reduced, which synchronises the ranks).

    ``global_tokens`` fixes the μS loss-gradient scale to that of the global batch. Works
    for a sharded model and for a plain one (``world_size=1``: the single-process step)."""

    def __init__(self, model: Decoder, optimizer: torch.optim.Optimizer, *, global_tokens: int,
                 world_size: int, autocast: bool) -> None:
        self.model, self.optimizer = model, optimizer
        self.grad_scale = model.loss_grad_scale(global_tokens)
        self.world_size, self.autocast = world_size, autocast
        self.device_type = next(iter(plain(p) for p in model.parameters())).device.type

    def __call__(self, ids: torch.Tensor, targets: torch.Tensor,
                 lr_multiplier: float = 1.0) -> torch.Tensor:
        for group in self.optimizer.param_groups:
            group["lr"] = group["base_lr"] * lr_multiplier
        context = (torch.autocast(self.device_type, dtype=torch.bfloat16) if self.autocast
                   else nullcontext())
        with context:
            logits = self.model(ids)
            loss = cross_entropy(logits, targets, grad_scale=self.grad_scale)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        loss = loss.detach().float()
        if self.world_size > 1:
            loss = loss.clone()
            dist.all_reduce(loss)  # SUM (gloo has no AVG): every rank holds as many tokens
            loss = loss / self.world_size
        return loss


def _plain_model_state(model: nn.Module) -> dict:
    """The model's sharded state dict with every FP8-all-gather weight replaced by a DTensor
    over its plain data (the same storage), so that checkpoints hold ordinary tensors and
    load in place whatever the all-gather option."""
    state = {}
    for key, value in model.state_dict().items():
        if isinstance(value, DTensor):
            local = value.to_local()
            if plain(local) is not local:
                value = DTensor.from_local(plain(local), value.device_mesh, value.placements,
                                           run_check=False, shape=value.shape,
                                           stride=value.stride())
        state[key] = value
    return state


def checkpoint_path(root: str | Path, step: int) -> Path:
    return Path(root) / f"step_{step:07d}"


def latest_checkpoint(root: str | Path) -> tuple[int, Path] | None:
    """The latest complete checkpoint under ``root`` (DCP writes ``.metadata`` last, so a
    folder without it is an interrupted save and is skipped), as ``(step, path)``."""
    root = Path(root)
    found = []
    for path in root.glob("step_*") if root.is_dir() else []:
        suffix = path.name[len("step_"):]
        if suffix.isdigit() and (path / ".metadata").is_file():
            found.append((int(suffix), path))
    return max(found) if found else None


def save_checkpoint(root: str | Path, step: int, model: nn.Module,
                    optimizer: torch.optim.Optimizer) -> Path:
    """Write the sharded model and optimizer state after ``step`` completed steps (a
    collective: every rank calls it). Returns the checkpoint's folder."""
    path = checkpoint_path(root, step)
    state = {"model": _plain_model_state(model),
             "optim": get_optimizer_state_dict(model, optimizer),
             "progress": {"step": torch.tensor(step)}}
    dcp.save(state, checkpoint_id=str(path))
    return path


def load_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> int:
    """Load a checkpoint written by :func:`save_checkpoint` (at any world size) into ``model``
    and ``optimizer`` in place; return the number of steps it had completed."""
    state = {"model": _plain_model_state(model),
             "optim": get_optimizer_state_dict(model, optimizer),
             "progress": {"step": torch.tensor(-1)}}
    dcp.load(state, checkpoint_id=str(path))
    set_optimizer_state_dict(model, optimizer, state["optim"])
    return int(state["progress"]["step"])


@dataclass(frozen=True)
class RunConfig:
    """A training run: the model, ``settings`` (``batch_size`` is the global batch, split
    evenly over ranks), the data (``"bytes"``: the Python-prose bytes; ``"random"``: uniform
    random tokens), the sharding options, checkpoints every ``checkpoint_every`` steps under
    ``checkpoint_dir``, and the rank-0 loss log (JSON lines) at ``log_path``."""

    model: DecoderConfig
    settings: TrainSettings
    data: str = "bytes"
    mixed_precision: str = "none"
    fp8_all_gather: bool = False
    compile: bool = False
    checkpoint_dir: str | None = None
    checkpoint_every: int = 0
    log_path: str | None = None
    kill_after: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.data not in ("bytes", "random"):
            raise ValueError(f"data must be 'bytes' or 'random', got {self.data!r}")
        mixed_precision_policy(self.mixed_precision)
        if self.checkpoint_every < 0:
            raise ValueError(f"checkpoint_every must be >= 0, got {self.checkpoint_every}")
        if self.checkpoint_every and not self.checkpoint_dir:
            raise ValueError("checkpoint_every needs a checkpoint_dir")
        if self.kill_after is not None and not 0 < self.kill_after <= self.settings.steps:
            raise ValueError(f"kill_after must lie in [1, steps], got {self.kill_after}")


def _tokens(config: RunConfig) -> torch.Tensor | None:
    if config.data == "random":
        return None
    from effnotes.unit_scaling.data import byte_tokens, split_bytes

    if config.model.vocab_size != 256:
        raise ValueError(f"data='bytes' needs vocab_size 256, got {config.model.vocab_size}")
    return split_bytes(byte_tokens()).train


def build_model(config: DecoderConfig, seed: int, device: torch.device) -> Decoder:
    """The decoder of ``config`` initialised from ``seed`` on ``device`` (the same weights on
    every rank, before sharding)."""
    torch.manual_seed(seed)
    with device:
        return Decoder(config)


def train(config: RunConfig, ctx: Context) -> list[dict]:
    """Train as ``config`` says on this process group, resuming from the latest checkpoint
    in ``checkpoint_dir`` if there is one; return the logged ``{"step", "loss",
    "world_size"}`` records of this run (``step`` 1-based: the loss of the step that made
    ``step`` steps complete). Rank 0 also appends them to ``log_path`` as it goes."""
    from tqdm.auto import tqdm

    s = config.settings
    local_rows(torch.empty(s.batch_size), ctx.rank, ctx.world_size)  # fails early if uneven
    tokens = _tokens(config)
    model = build_model(config.model, s.seed, ctx.device)
    shard_decoder(model, ctx.mesh, mixed_precision=config.mixed_precision,
                  fp8_all_gather=config.fp8_all_gather)
    optimizer = make_optimizer(model, s, ctx.device)
    start = 0
    if config.checkpoint_dir and (found := latest_checkpoint(config.checkpoint_dir)):
        start = load_checkpoint(found[1], model, optimizer)
    if config.compile:
        for block in model.blocks:
            block.compile()
    step_fn = TrainingStep(model, optimizer, global_tokens=s.batch_size * config.model.seq_len,
                           world_size=ctx.world_size, autocast=config.mixed_precision == "bf16")
    log = open(config.log_path, "a", encoding="utf-8") if ctx.is_main and config.log_path else None
    records = []
    bar = tqdm(range(start, s.steps), desc=f"train (N={ctx.world_size})", initial=start,
               total=s.steps, disable=not (ctx.is_main and config.progress), leave=False)
    try:
        for step in bar:
            ids, targets = global_batch(step, s.batch_size, config.model.seq_len, seed=s.seed,
                                        tokens=tokens, vocab_size=config.model.vocab_size)
            ids = local_rows(ids, ctx.rank, ctx.world_size).to(ctx.device, non_blocking=True)
            targets = local_rows(targets, ctx.rank, ctx.world_size).to(ctx.device,
                                                                       non_blocking=True)
            loss = float(step_fn(ids, targets, s.multiplier(step)))
            record = {"step": step + 1, "loss": loss, "world_size": ctx.world_size}
            records.append(record)
            bar.set_postfix(loss=f"{loss:.4f}")
            if log:
                log.write(json.dumps(record) + "\n")
                log.flush()
            if not math.isfinite(loss) or loss > s.max_loss:
                raise RuntimeError(f"the loss diverged at step {step + 1}: {loss}")
            done = step + 1
            if config.checkpoint_every and (done % config.checkpoint_every == 0 or done == s.steps):
                save_checkpoint(config.checkpoint_dir, done, model, optimizer)
            if config.kill_after is not None and done == config.kill_after:
                bar.close()
                if log:
                    log.close()
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(KILLED_EXIT_CODE)  # a preemption: no cleanup, no final checkpoint
    finally:
        bar.close()
        if log:
            log.close()
    return records


def reference_losses(config: RunConfig, steps: int | None = None) -> list[float]:
    """The losses of the same run in one process without FSDP (plain decoder, plain AdamW,
    the whole global batch at once): what a data-parallel run must reproduce. CPU, FP32."""
    s = config.settings
    device = torch.device("cpu")
    tokens = _tokens(config)
    model = build_model(config.model, s.seed, device)
    optimizer = make_optimizer(model, s, device)
    step_fn = TrainingStep(model, optimizer, global_tokens=s.batch_size * config.model.seq_len,
                           world_size=1, autocast=False)
    losses = []
    for step in range(s.steps if steps is None else steps):
        ids, targets = global_batch(step, s.batch_size, config.model.seq_len, seed=s.seed,
                                    tokens=tokens, vocab_size=config.model.vocab_size)
        losses.append(float(step_fn(ids, targets, s.multiplier(step))))
    return losses


def predicted_all_gather_bytes(model: Decoder, world_size: int) -> int:
    """The bytes FSDP2 all-gathers in one training step of a model sharded by
    :func:`shard_decoder` over ``world_size`` ranks: every parameter padded to a multiple of
    ``world_size`` rows, at one byte per element for FP8-all-gather weights and the compute
    dtype's size otherwise; each block's parameters gathered twice (forward, and again for
    the backward, as blocks reshard after forward), the root's once.

    At N=1 FSDP2 skips the collective (it copies the shard), so nothing moves; this is then
    the size the all-gathers would have at N > 1 for the same shapes, as a figure computed
    from the shapes, not a measurement. The tests check it against the counted collectives
    at N=2."""
    from effnotes.unit_scaling.fp8_allgather import FP8AllGatherWeight

    def group_bytes(module: nn.Module, recurse: bool) -> int:
        total = 0
        for param in module.parameters(recurse=recurse):
            local = param.to_local() if isinstance(param, DTensor) else param
            rows = param.shape[0] if param.dim() else 1
            per_row = param.numel() // max(rows, 1)
            padded = -(-rows // world_size) * world_size * per_row
            if isinstance(local, FP8AllGatherWeight):
                size = 1
            else:
                policy = getattr(model, "_effnotes_policy", None)
                dtype = (policy.param_dtype if policy is not None and policy.param_dtype
                         else param.dtype)
                size = torch.empty((), dtype=dtype).element_size()
            total += padded * size
        return total

    blocks = sum(2 * group_bytes(block, True) for block in model.blocks)
    root = sum(group_bytes(m, False) for m in model.modules()
               if m is model or not any(m is b or _is_inside(m, b) for b in model.blocks))
    return blocks + root


def _is_inside(module: nn.Module, block: nn.Module) -> bool:
    return any(module is m for m in block.modules())


def _one_step_collectives(model: Decoder, ctx: Context, batch_size: int, seed: int,
                          autocast: bool) -> dict:
    """The collectives of one forward and backward pass of ``model`` (gradients dropped), as
    counted by :class:`.comm_bytes.CollectiveBytes`."""
    from effnotes.unit_scaling.comm_bytes import CollectiveBytes

    ids, targets = global_batch(0, batch_size, model.config.seq_len, seed=seed,
                                vocab_size=model.config.vocab_size)
    ids = local_rows(ids, ctx.rank, ctx.world_size).to(ctx.device)
    targets = local_rows(targets, ctx.rank, ctx.world_size).to(ctx.device)
    context = (torch.autocast(ctx.device.type, dtype=torch.bfloat16) if autocast
               else nullcontext())
    with CollectiveBytes() as count:
        with context:
            loss = cross_entropy(model(ids), targets, grad_scale=1.0)
        loss.backward()
    model.zero_grad(set_to_none=True)
    return count.as_dict()


def check_fp8_all_gather(ctx: Context, config: DecoderConfig, *, seed: int = 0,
                         mixed_precision: str = "bf16", batch_size: int | None = None) -> dict:
    """Check the FP8 weight all-gather against gathering in high precision and casting after.

    Builds ``config``'s decoder (FP8 layers) with :func:`shard_decoder` and
    ``fp8_all_gather=True``; for every hidden weight, gathers its shards in FSDP's compute
    dtype with a plain DTensor all-gather and casts the result to E4M3 (the reference), then
    lets FSDP unshard each block through the FP8 hooks and compares the E4M3 bytes of what
    arrived with the reference's, bit for bit. Also counts the collectives of one forward and
    backward pass with the FP8 all-gather and without it (a second model from the same seed).
    Returns ``{"weights": [{"name", "shape", "equal_bytes", "max_abs_diff"}], "all_equal",
    "collectives_fp8", "collectives_bf16_or_fp32", "compute_dtype", "world_size"}``."""
    from effnotes.unit_scaling.fp8_allgather import cast_shard
    from effnotes.unit_scaling.modules import Linear

    policy = mixed_precision_policy(mixed_precision)
    dtype = policy.param_dtype or torch.float32
    model = shard_decoder(build_model(config, seed, ctx.device), ctx.mesh,
                          mixed_precision=mixed_precision, fp8_all_gather=True)
    weights = []
    for block_index, block in enumerate(model.blocks):
        linears = [(n, m) for n, m in block.named_modules() if isinstance(m, Linear)]
        expected = {}
        for name, module in linears:
            sharded = module.weight
            high = DTensor.from_local(plain(sharded.to_local()), sharded.device_mesh,
                                      sharded.placements, run_check=False, shape=sharded.shape,
                                      stride=sharded.stride()).full_tensor()
            expected[name] = cast_shard(high, dtype)
        block.unshard()
        for name, module in linears:
            gathered = module.weight.detach()
            if gathered.dtype != dtype or tuple(gathered.shape) != tuple(expected[name].shape):
                raise AssertionError(f"unsharded {name}: {gathered.dtype} {tuple(gathered.shape)}")
            got = cast_shard(gathered)
            reference = expected[name].view(torch.float8_e4m3fn).to(torch.float32)
            weights.append({"name": f"blocks.{block_index}.{name}",
                            "shape": list(gathered.shape),
                            "equal_bytes": bool(torch.equal(got, expected[name])),
                            "max_abs_diff": float((gathered.float() - reference).abs().max())})
        block.reshard()
    collectives_fp8 = _one_step_collectives(model, ctx, batch_size or 2 * ctx.world_size, seed,
                                            mixed_precision == "bf16")
    baseline = shard_decoder(build_model(config, seed, ctx.device), ctx.mesh,
                             mixed_precision=mixed_precision, fp8_all_gather=False)
    collectives_base = _one_step_collectives(baseline, ctx, batch_size or 2 * ctx.world_size,
                                             seed, mixed_precision == "bf16")
    return {"weights": weights, "all_equal": all(w["equal_bytes"] and w["max_abs_diff"] == 0
                                                 for w in weights),
            "collectives_fp8": collectives_fp8, "collectives_high_precision": collectives_base,
            "compute_dtype": str(dtype).removeprefix("torch."), "world_size": ctx.world_size,
            "predicted_all_gather_bytes": {
                "fp8": predicted_all_gather_bytes(model, ctx.world_size),
                "high_precision": predicted_all_gather_bytes(baseline, ctx.world_size)},
            "n_hidden_weights": len(weights),
            "hidden_weight_elements": sum(math.prod(w["shape"]) for w in weights)}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="torchrun --nproc-per-node N -m effnotes.unit_scaling.distributed",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("train", help="train the μS decoder data-parallel under FSDP2")
    defaults = DecoderConfig()
    for name in ("vocab_size", "d_model", "n_layers", "n_heads", "seq_len"):
        run.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(defaults, name))
    run.add_argument("--precision", choices=("fp32", "fp8_sim", "fp8_cuda"), default=None,
                     help="hidden linear layers (default: fp8_cuda on a GPU, fp8_sim on the CPU)")
    run.add_argument("--mixed-precision", choices=MIXED_PRECISION, default=None,
                     help="bf16: BF16 all-gather and autocast, FP32 reductions "
                          "(default: bf16 on a GPU, none on the CPU)")
    run.add_argument("--fp8-all-gather", action="store_true",
                     help="all-gather the hidden weights as E4M3 bytes")
    run.add_argument("--compile", action="store_true", help="compile each block")
    train_defaults = TrainSettings()
    for name in ("steps", "batch_size", "warmup_steps", "seed"):
        run.add_argument("--" + name.replace("_", "-"), type=int,
                         default=getattr(train_defaults, name))
    for name in ("lr", "weight_decay"):
        run.add_argument("--" + name.replace("_", "-"), type=float,
                         default=getattr(train_defaults, name))
    run.add_argument("--data", choices=("bytes", "random"), default="bytes")
    run.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    run.add_argument("--checkpoint-dir")
    run.add_argument("--checkpoint-every", type=int, default=0)
    run.add_argument("--log", help="rank 0 appends one JSON line per step here")
    run.add_argument("--kill-after", type=int, default=None,
                     help="testing aid: end every process abruptly after this step "
                          f"(exit status {KILLED_EXIT_CODE}), as a preemption would")
    run.add_argument("--no-progress", action="store_true")
    check = commands.add_parser("check-fp8-gather",
                                help="check the FP8 all-gather bit for bit against BF16-then-cast")
    for name in ("vocab_size", "d_model", "n_layers", "n_heads", "seq_len"):
        check.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(defaults, name))
    check.add_argument("--mixed-precision", choices=MIXED_PRECISION, default="bf16")
    check.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    check.add_argument("--out", help="rank 0 writes the result here as JSON")
    bench = commands.add_parser("bench", add_help=False,
                                help="time the distributed step (effnotes.unit_scaling.dist_bench)")
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        from effnotes.unit_scaling.dist_bench import main as bench_main

        return bench_main(argv[1:])
    args = _parser().parse_args(argv)
    ctx = init_distributed(args.device)
    gpu = ctx.device.type == "cuda"
    if args.command == "check-fp8-gather":
        config = DecoderConfig(vocab_size=args.vocab_size, d_model=args.d_model,
                               n_layers=args.n_layers, n_heads=args.n_heads,
                               seq_len=args.seq_len, parametrisation="mus",
                               precision="fp8_cuda" if gpu else "fp8_sim")
        try:
            result = check_fp8_all_gather(ctx, config, mixed_precision=args.mixed_precision)
        finally:
            dist.destroy_process_group()
        if ctx.is_main:
            print(f"{result['n_hidden_weights']} hidden weights, FP8 all-gather equal to "
                  f"{result['compute_dtype']} all-gather then cast: {result['all_equal']}; "
                  f"all-gather bytes of one step: FP8 "
                  f"{result['collectives_fp8']['bytes'].get('all_gather', 0)}, "
                  f"{result['compute_dtype']} "
                  f"{result['collectives_high_precision']['bytes'].get('all_gather', 0)}")
            if args.out:
                Path(args.out).write_text(json.dumps(result, indent=1), encoding="utf-8")
        return 0 if result["all_equal"] else 1
    precision = args.precision or ("fp8_cuda" if gpu else "fp8_sim")
    mixed = args.mixed_precision or ("bf16" if gpu else "none")
    model = DecoderConfig(vocab_size=args.vocab_size, d_model=args.d_model,
                          n_layers=args.n_layers, n_heads=args.n_heads, seq_len=args.seq_len,
                          parametrisation="mus", precision=precision)
    settings = TrainSettings(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                             weight_decay=args.weight_decay, warmup_steps=args.warmup_steps,
                             seed=args.seed)
    config = RunConfig(model=model, settings=settings, data=args.data, mixed_precision=mixed,
                       fp8_all_gather=args.fp8_all_gather, compile=args.compile,
                       checkpoint_dir=args.checkpoint_dir, checkpoint_every=args.checkpoint_every,
                       log_path=args.log, kill_after=args.kill_after,
                       progress=not args.no_progress)
    if ctx.is_main:
        print(f"N={ctx.world_size} on {ctx.device.type} ({dist.get_backend()}), precision "
              f"{precision}, mixed precision {mixed}, FP8 all-gather {args.fp8_all_gather}",
              flush=True)
    start = time.perf_counter()
    try:
        records = train(config, ctx)
    finally:
        dist.destroy_process_group()
    if ctx.is_main and records:
        print(f"steps {records[0]['step']}-{records[-1]['step']}: final loss "
              f"{records[-1]['loss']:.4f}, {time.perf_counter() - start:.1f} s")
    return 0


__all__ = ["GPU_LAUNCH_ENV", "KILLED_EXIT_CODE", "Context", "RunConfig", "TrainingStep",
           "init_distributed", "mixed_precision_policy", "shard_decoder", "global_batch",
           "local_rows", "make_optimizer", "build_model", "save_checkpoint", "load_checkpoint",
           "latest_checkpoint", "checkpoint_path", "train", "reference_losses",
           "check_fp8_all_gather", "predicted_all_gather_bytes"]

if __name__ == "__main__":
    raise SystemExit(main())
