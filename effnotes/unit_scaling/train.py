"""Training the decoder on bytes: AdamW or Lion, warmup then cosine decay to 10%, fixed data
order.

Two runs with the same ``seed`` see the same initial weights (for the same config) and the
same batches, so arms that differ only in precision are directly comparable.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from effnotes.runtime import synchronize
from effnotes.unit_scaling.data import ByteSplit, random_windows
from effnotes.unit_scaling.lion import Lion
from effnotes.unit_scaling.model import Decoder, DecoderConfig, optimizer_groups

OPTIMIZERS = ("adamw", "lion")


@dataclass(frozen=True)
class TrainSettings:
    """How to train: ``steps`` of ``batch_size`` windows of the model's ``seq_len`` bytes,
    peak rate ``lr`` (the μS/SP rules of :func:`~effnotes.unit_scaling.model.optimizer_groups`
    apply relative to ``base_width``), fully decoupled ``weight_decay``, ``warmup_steps`` then
    cosine decay to ``min_lr_ratio`` of the peak. A loss above ``max_loss`` or not finite ends
    the run as diverged. Validation uses ``eval_batches`` fixed batches. ``optimizer`` is
    ``"adamw"`` (betas 0.9, 0.95) or ``"lion"`` (:mod:`.lion`, betas 0.9, 0.99)."""

    steps: int = 200
    batch_size: int = 16
    lr: float = 3e-3
    weight_decay: float = 0.0
    warmup_steps: int = 20
    min_lr_ratio: float = 0.1
    seed: int = 0
    eval_batches: int = 4
    base_width: int | None = None
    sp_lr_rule: bool = False
    max_loss: float = 20.0
    log_every: int = 5
    optimizer: str = "adamw"

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {OPTIMIZERS}")
        for name in ("steps", "batch_size", "eval_batches", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.warmup_steps < self.steps:
            raise ValueError(f"warmup_steps must lie in [0, steps), got {self.warmup_steps}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")

    def multiplier(self, step: int) -> float:
        """The schedule's multiplier of the peak rate at ``step`` (0-based)."""
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        progress = (step - self.warmup_steps) / max(1, self.steps - self.warmup_steps)
        cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        return self.min_lr_ratio + (1 - self.min_lr_ratio) * cosine


@dataclass
class TrainRun:
    """A finished run: the ``curve`` (columns step, loss), the mean training loss of the last
    10% of steps, the validation loss at the end (NaN if it diverged), wall ``seconds``."""

    config: DecoderConfig
    settings: TrainSettings
    curve: pd.DataFrame
    final_loss: float
    val_loss: float
    diverged: bool
    seconds: float
    model: Decoder


@torch.no_grad()
def validation_loss(model: Decoder, tokens: torch.Tensor, batches: int, batch_size: int, *,
                    device: torch.device | str = "cpu", autocast_dtype=None) -> float:
    """Mean next-byte cross-entropy (nats) over ``batches`` fixed random windows of
    ``tokens`` (the same windows for every model: generator seed 1234)."""
    generator = torch.Generator().manual_seed(1234)
    was_training = model.training
    model.eval()
    total = 0.0
    for _ in range(batches):
        ids, targets = random_windows(tokens, batch_size, model.config.seq_len, generator)
        with _autocast(device, autocast_dtype):
            logits = model(ids.to(device))
        total += float(F.cross_entropy(logits.float().flatten(0, 1), targets.to(device).flatten()))
    model.train(was_training)
    return total / batches


def _autocast(device, dtype):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


def train_decoder(config: DecoderConfig, data: ByteSplit, settings: TrainSettings, *,
                  device: torch.device | str = "cpu", autocast_dtype: torch.dtype | None = None,
                  compile: bool = False, progress: bool = False, label: str = "") -> TrainRun:
    """Build a :class:`~effnotes.unit_scaling.model.Decoder` from ``config`` (seeded by
    ``settings.seed``) and train it;
    ``autocast_dtype=torch.bfloat16`` runs under autocast (the BF16 baseline on a GPU);
    ``compile=True`` compiles each block (regional compilation)."""
    device = torch.device(device)
    torch.manual_seed(settings.seed)
    model = Decoder(config).to(device)
    groups = optimizer_groups(model, settings.lr, settings.weight_decay,
                              base_width=settings.base_width, sp_lr_rule=settings.sp_lr_rule)
    base_lrs = [g["lr"] for g in groups]
    if settings.optimizer == "lion":
        optimizer = Lion(groups, lr=settings.lr, betas=(0.9, 0.99))
    else:
        optimizer = torch.optim.AdamW(groups, betas=(0.9, 0.95), eps=1e-8,
                                      **({"fused": True} if device.type == "cuda" else {}))
    if compile:  # regional: the blocks share one compiled graph, so compiling is quick
        for block in model.blocks:
            block.compile()
    generator = torch.Generator().manual_seed(settings.seed + 1)
    losses: list[tuple[int, float]] = []
    recent: list[float] = []
    diverged = False
    synchronize(device)
    start = time.perf_counter()
    bar = tqdm(range(settings.steps), desc=label or "train", disable=not progress, leave=False)
    for step in bar:
        for group, base in zip(optimizer.param_groups, base_lrs):
            group["lr"] = base * settings.multiplier(step)
        ids, targets = random_windows(data.train, settings.batch_size, config.seq_len, generator)
        ids, targets = ids.to(device, non_blocking=True), targets.to(device, non_blocking=True)
        with _autocast(device, autocast_dtype):
            loss = _loss(model, ids, targets)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step % settings.log_every == 0 or step == settings.steps - 1 or \
                step >= settings.steps - max(1, settings.steps // 10):
            value = float(loss.detach())
            if not math.isfinite(value) or value > settings.max_loss:
                diverged = True
                losses.append((step, value))
                break
            if step % settings.log_every == 0 or step == settings.steps - 1:
                losses.append((step, value))
            if step >= settings.steps - max(1, settings.steps // 10):
                recent.append(value)
    synchronize(device)
    seconds = time.perf_counter() - start
    val = float("nan") if diverged else validation_loss(
        model, data.val, settings.eval_batches, settings.batch_size, device=device,
        autocast_dtype=autocast_dtype)
    curve = pd.DataFrame(losses, columns=["step", "loss"])
    final = float(np.mean(recent)) if recent and not diverged else float("nan")
    return TrainRun(config, settings, curve, final, val, diverged, seconds, model)


def _loss(model: Decoder, ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    from effnotes.unit_scaling.functional import cross_entropy

    logits = model(ids)
    return cross_entropy(logits, targets, grad_scale=model.loss_grad_scale(targets.numel()))
