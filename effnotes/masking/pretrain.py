"""MLM pretraining with a masking-rate schedule, recording held-out loss at a fixed rate.

Every arm of an experiment sees the same batches in the same order (a data generator seeded
by ``data_seed``), the same initial weights (``init_seed``) and, through the collator, the
same uniform draws; only the schedule differs. Held-out loss is measured on frozen masks
(:func:`~effnotes.masking.collator.frozen_eval_masks`, 15% by default), so the loss of two
arms at the same step is a like-for-like comparison.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from effnotes.masking.collator import IGNORE, FrozenMasks, MaskingCollator, SpecialTokens
from effnotes.masking.model import EncoderConfig, MaskedLanguageModel
from effnotes.masking.schedules import MaskingSchedule
from effnotes.runtime import synchronize
from effnotes.training import schedule_multiplier
from effnotes.validation import check_integer, check_real


@dataclass(frozen=True)
class PretrainConfig:
    """Optimisation of one pretraining run: AdamW at peak ``lr`` with a linear warm-up over
    ``warmup_fraction`` of ``steps`` and linear decay to 0; held-out loss every
    ``eval_every`` steps (and at the last step)."""

    steps: int = 600
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    eval_every: int = 50
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every"):
            object.__setattr__(self, name, check_integer(name, getattr(self, name), minimum=1))
        for name in ("lr", "weight_decay", "warmup_fraction", "grad_clip"):
            check_real(name, getattr(self, name))
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be non-negative, got {self.weight_decay}")
        if not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be positive, got {self.grad_clip}")
        if not 0 <= self.warmup_fraction < 1:
            raise ValueError(f"warmup_fraction must lie in [0, 1), got {self.warmup_fraction}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")

    def eval_steps(self) -> list[int]:
        """Steps (counted after the update, 1..steps) at which held-out loss is measured."""
        return sorted({*range(self.eval_every, self.steps + 1, self.eval_every), self.steps})


@torch.no_grad()
def heldout_loss(model: MaskedLanguageModel, masks: FrozenMasks, batch_size: int = 256) -> float:
    """Mean cross-entropy (nats) over all targets of the frozen masks, in eval mode, in
    batches of ``batch_size`` rows. The masks must hold at least one target."""
    if not isinstance(model, MaskedLanguageModel):
        raise TypeError(f"model must be a MaskedLanguageModel, got {type(model).__name__}")
    if not isinstance(masks, FrozenMasks):
        raise TypeError(f"masks must be FrozenMasks, got {type(masks).__name__}")
    batch_size = check_integer("batch_size", batch_size, minimum=1)
    model._check(masks.inputs, "masks.inputs")
    if not isinstance(masks.labels, torch.Tensor) or masks.labels.shape != masks.inputs.shape:
        raise ValueError(f"masks.labels must be a tensor shaped like masks.inputs "
                         f"{tuple(masks.inputs.shape)}, got {tuple(getattr(masks.labels, 'shape', ()))}")
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for start in range(0, masks.inputs.shape[0], batch_size):
        inputs = masks.inputs[start:start + batch_size]
        labels = masks.labels[start:start + batch_size]
        n = int((labels != IGNORE).sum())
        if n:
            total += float(model.mlm_loss(inputs, labels)) * n
            count += n
    model.train(was_training)
    if not count:
        raise ValueError("masks has no targets: every label is IGNORE")
    return total / count


def trace_frame(rates: list[float], counts: list[torch.Tensor]) -> pd.DataFrame:
    """Per-step trace from the scheduled ``rates`` and the device tensors ``counts`` (each
    ``(targets, maskable tokens, training loss)``), gathered to the host once."""
    table = torch.stack(counts).cpu().numpy() if counts else np.zeros((0, 3))
    return pd.DataFrame({"step": np.arange(len(rates)), "rate": rates,
                         "targets": table[:, 0].astype(np.int64),
                         "maskable": table[:, 1].astype(np.int64), "train_loss": table[:, 2]})


@dataclass
class PretrainResult:
    """A finished run: the ``model``, its held-out ``curve`` (step, heldout_loss) and per-step
    ``trace`` (step, rate, targets, tokens), and its training time in seconds (evaluations
    excluded)."""

    model: MaskedLanguageModel
    curve: pd.DataFrame
    trace: pd.DataFrame
    train_time_s: float


def pretrain(chunks: torch.Tensor, eval_masks: FrozenMasks, schedule: MaskingSchedule,
             special: SpecialTokens, model_config: EncoderConfig, config: PretrainConfig, *,
             init_seed: int = 0, data_seed: int = 0, mask_seed: int = 0,
             device: torch.device | str = "cpu", progress: bool = False,
             description: str = "") -> PretrainResult:
    """Pretrain a fresh :class:`~effnotes.masking.model.MaskedLanguageModel` on ``chunks``
    ``(n, seq_len)`` with the masking rate of ``schedule``. Batches are drawn without
    replacement, epoch by epoch."""
    device = torch.device(device)
    if chunks.ndim != 2 or chunks.dtype != torch.long:
        raise ValueError(f"chunks must be a (n, seq_len) long tensor, got {chunks.dtype} {tuple(chunks.shape)}")
    if chunks.shape[1] > model_config.max_len:
        raise ValueError(f"chunks of length {chunks.shape[1]} exceed the model's max_len "
                         f"{model_config.max_len}")
    if model_config.vocab_size != special.vocab_size:
        raise ValueError(f"model vocab_size {model_config.vocab_size} differs from the "
                         f"tokeniser's {special.vocab_size}")
    if int(chunks.min()) < 0 or int(chunks.max()) >= special.vocab_size:
        raise ValueError(f"chunk token ids must lie in [0, {special.vocab_size})")
    if chunks.shape[0] < config.batch_size:
        raise ValueError(f"{chunks.shape[0]} chunks are fewer than one batch of {config.batch_size}")
    torch.manual_seed(init_seed)
    model = MaskedLanguageModel(model_config).to(device)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=config.lr)
    warmup = int(config.warmup_fraction * config.steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: schedule_multiplier("linear", min(s, config.steps - 1), config.steps, warmup))
    collator = MaskingCollator(schedule, special, config.steps, seed=mask_seed, device=device,
                               check_ids=False)
    order = np.random.default_rng(data_seed)
    chunks = chunks.to(device)
    masks = eval_masks.to(device)
    per_epoch = chunks.shape[0] // config.batch_size
    eval_steps = set(config.eval_steps())
    curve, rates, counts = [], [], []
    train_time = 0.0
    permutation = None
    model.train()
    synchronize(device)
    mark = time.perf_counter()  # training time runs from here to each evaluation
    for step in tqdm(range(config.steps), desc=description or schedule.label, disable=not progress,
                     leave=False):
        if step % per_epoch == 0:
            permutation = torch.from_numpy(order.permutation(chunks.shape[0])).to(device)
        rows = permutation[(step % per_epoch) * config.batch_size:][: config.batch_size]
        batch = chunks[rows]
        inputs, labels, rate = collator(batch, step)
        loss = model.mlm_loss(inputs, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        scheduler.step()
        rates.append(rate)  # the counts stay on the device until the run ends (no sync)
        counts.append(torch.stack([(labels != IGNORE).sum().float(),
                                   (~special.never_masked(batch)).sum().float(), loss.detach()]))
        if step + 1 in eval_steps:
            synchronize(device)
            train_time += time.perf_counter() - mark
            curve.append((step + 1, heldout_loss(model, masks)))
            mark = time.perf_counter()
    return PretrainResult(
        model, pd.DataFrame(curve, columns=["step", "heldout_loss"]),
        trace_frame(rates, counts),
        train_time)
