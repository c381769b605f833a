"""A small, honest training loop.

One epoch's wall-clock time is split into *data-wait* (blocked on the input pipeline: the
loader's ``next`` and the copy to the device) and *compute* (forward, backward, optimiser
step), so a chapter can say where the time goes. Evaluation is timed apart and is never
counted as training cost.

The learning-rate schedule is a function of training progress, so it is automatically
scaled to whatever budget a run is given (the survey's advice for tradeoff curves).

Training methods are options of :class:`TrainConfig` that compose: label smoothing, MixUp
(:func:`mixup_batch`) and the channels-last memory format. Besides the per-epoch evaluation,
``train(..., eval_at_steps=...)`` evaluates at chosen step counts inside epochs (its time is
excluded from the training cost too), and the rate of every step is recorded.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from effnotes.runtime import synchronize
from effnotes.validation import check_integer, check_real

#: A schedule maps (step, total_steps) to a multiplier of the base learning rate.
LrLambda = Callable[[int, int], float]

#: The learning-rate schedules a :class:`TrainConfig` can name.
SCHEDULES = ("constant", "linear", "cosine")
OPTIMIZERS = ("sgd", "adamw")


def schedule_multiplier(name: str, step: int, total_steps: int, warmup_steps: int = 0) -> float:
    """Multiplier of the base learning rate at ``step`` (0-based) of ``total_steps``.

    A linear warm-up from ``1/(warmup_steps+1)`` to 1 over ``warmup_steps`` steps, then
    ``constant`` (1), ``linear`` (to 0 at the last step) or ``cosine`` (half a cosine to 0).
    """
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {SCHEDULES}")
    for arg, value in (("step", step), ("total_steps", total_steps),
                       ("warmup_steps", warmup_steps)):
        check_integer(arg, value)
    if total_steps <= 0:
        raise ValueError(f"total_steps must be positive, got {total_steps}")
    if not 0 <= step <= total_steps:  # total_steps itself: the value at the run's end
        raise ValueError(f"step must be in [0, total_steps={total_steps}], got {step}")
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(f"warmup_steps must be in [0, total_steps={total_steps}), got {warmup_steps}")
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    if name == "constant":
        return 1.0
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    if name == "linear":
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass(frozen=True)
class TrainConfig:
    """How to train: optimiser, learning-rate schedule and loss options (frozen: derive a
    changed copy with :func:`dataclasses.replace`, which checks it again).

    ``schedule`` is one of :data:`SCHEDULES` or a callable ``(step, total_steps) -> multiplier``.
    ``warmup_fraction`` is the share of all steps spent warming up (named schedules only).
    ``mixup_alpha`` > 0 trains on MixUp batches whose mixing weight is drawn from
    Beta(alpha, alpha) (0 turns MixUp off); ``channels_last`` puts the model and each
    ``(n, c, h, w)`` input batch in the channels-last memory format. ``momentum`` is SGD's
    (AdamW has none, so it must be 0 with ``optimizer="adamw"``). ``epochs`` may be a NumPy
    integer (stored as an ``int``); a callable ``schedule`` must return finite multipliers
    >= 0 (checked as the scheduler is made, at step 0, and at every step it is asked for).
    """

    epochs: int = 10
    lr: float = 0.1
    optimizer: str = "sgd"
    momentum: float = 0.0
    weight_decay: float = 0.0
    schedule: str | LrLambda = "constant"
    warmup_fraction: float = 0.0
    label_smoothing: float = 0.0
    grad_clip: float | None = None
    mixup_alpha: float = 0.0
    channels_last: bool = False
    progress: bool = True
    description: str = "training"

    def __post_init__(self) -> None:
        object.__setattr__(self, "epochs", check_integer("epochs", self.epochs, minimum=1))
        for name in ("lr", "momentum", "weight_decay", "warmup_fraction", "label_smoothing",
                     "mixup_alpha"):
            check_real(name, getattr(self, name))
        if self.grad_clip is not None:
            check_real("grad_clip", self.grad_clip)
        if not isinstance(self.optimizer, str):
            raise TypeError(f"optimizer must be a string, one of {OPTIMIZERS}, got "
                            f"{type(self.optimizer).__name__}")
        for name in ("progress", "channels_last"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if not isinstance(self.description, str):
            raise TypeError(f"description must be a string, got "
                            f"{type(self.description).__name__}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {OPTIMIZERS}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.optimizer == "adamw" and self.momentum != 0:
            raise ValueError(f"momentum is SGD's; AdamW has none, so momentum must be 0 with "
                             f"optimizer='adamw', got {self.momentum}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be non-negative, got {self.weight_decay}")
        if not callable(self.schedule) and self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose one of {SCHEDULES} or pass a callable")
        if not 0 <= self.warmup_fraction < 1:
            raise ValueError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be positive or None, got {self.grad_clip}")
        if not (math.isfinite(self.mixup_alpha) and self.mixup_alpha >= 0):
            raise ValueError(f"mixup_alpha must be a finite number >= 0 (0 is off), got {self.mixup_alpha}")


@dataclass
class EpochRecord:
    """What one epoch cost and achieved. Times are wall-clock seconds."""

    epoch: int
    steps: int
    samples: int
    train_loss: float
    data_wait_s: float
    compute_s: float
    epoch_s: float
    eval_s: float = float("nan")
    val_loss: float = float("nan")
    val_accuracy: float = float("nan")


@dataclass
class StepEvaluation:
    """A validation measurement after ``step`` completed optimiser steps (1-based count).

    ``train_time_s`` is the training wall time up to that point, evaluation excluded;
    ``eval_s`` is what this evaluation took.
    """

    step: int
    epoch: int
    train_time_s: float
    eval_s: float
    val_loss: float
    val_accuracy: float


@dataclass
class TrainHistory:
    """Per-epoch records of one run; ``to_frame`` gives a tidy DataFrame.

    ``evaluations`` holds the step-level evaluations that ``train(eval_at_steps=...)`` asked
    for (``evaluations_frame`` as a DataFrame) and ``lrs`` the learning rate of the first
    parameter group used by every optimiser step, in order.
    """

    records: list[EpochRecord] = field(default_factory=list)
    evaluations: list[StepEvaluation] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)

    def evaluations_frame(self) -> pd.DataFrame:
        columns = [f.name for f in StepEvaluation.__dataclass_fields__.values()]
        return pd.DataFrame([asdict(e) for e in self.evaluations], columns=columns)

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame([asdict(r) for r in self.records])
        if not frame.empty:
            frame["train_time_s"] = frame["epoch_s"].cumsum()
        return frame

    @property
    def train_time_s(self) -> float:
        """Total training wall time (evaluation excluded)."""
        return float(sum(r.epoch_s for r in self.records))

    @property
    def data_wait_s(self) -> float:
        return float(sum(r.data_wait_s for r in self.records))

    @property
    def compute_s(self) -> float:
        return float(sum(r.compute_s for r in self.records))

    @property
    def final(self) -> EpochRecord:
        if not self.records:
            raise ValueError("the history is empty: no epoch was trained")
        return self.records[-1]


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimiser ``config`` names, over the model's trainable parameters."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig,
                   total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step scheduler following ``config.schedule`` over ``total_steps`` steps (a
    :class:`ValueError` naming the schedule if a callable one returns anything but a finite
    multiplier >= 0)."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got "
                        f"{type(optimizer).__name__}")
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    total_steps = check_integer("total_steps", total_steps, minimum=1)
    if callable(config.schedule):
        user_schedule = config.schedule

        def multiplier(step: int) -> float:
            value = user_schedule(step, total_steps)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
                    math.isfinite(value) and value >= 0):
                raise ValueError(f"config.schedule must return a finite multiplier >= 0, got "
                                 f"{value!r} at step {step} of {total_steps}")
            return float(value)
    else:
        warmup = int(round(config.warmup_fraction * total_steps))
        warmup = min(warmup, total_steps - 1)
        name = config.schedule

        def multiplier(step: int) -> float:
            return schedule_multiplier(name, min(step, total_steps - 1), total_steps, warmup)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, multiplier)


def _to_device(batch: Iterable[torch.Tensor], device: torch.device) -> list[torch.Tensor]:
    return [t.to(device, non_blocking=True) for t in batch]


def mixup_batch(inputs: torch.Tensor, targets: torch.Tensor,
                alpha: float) -> tuple[torch.Tensor, torch.Tensor, float]:
    r"""MixUp: blend each sample with another of the same batch.

    Draws :math:`\lambda \sim \mathrm{Beta}(\alpha, \alpha)` and a permutation
    :math:`\pi` of the batch (from torch's global generator, so seeding reproduces them) and
    returns ``(lambda * inputs + (1 - lambda) * inputs[pi], targets[pi], lambda)``. The loss
    to train on is ``lambda * CE(logits, targets) + (1 - lambda) * CE(logits, targets[pi])``.
    ``inputs`` is a float tensor of shape ``(n, ...)`` and ``targets`` has shape ``(n,)``.
    """
    check_real("alpha", alpha)
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    for name, value in (("inputs", inputs), ("targets", targets)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not torch.is_floating_point(inputs):
        raise TypeError(f"MixUp blends inputs, so they must be floating point, got {inputs.dtype}")
    if targets.ndim != 1 or inputs.ndim < 1 or targets.shape[0] != inputs.shape[0]:
        raise ValueError(f"targets must have shape (n,) with n = len(inputs); got inputs "
                         f"{tuple(inputs.shape)} and targets {tuple(targets.shape)}")
    lam = float(torch.distributions.Beta(alpha, alpha).sample())
    permutation = torch.randperm(inputs.shape[0], device=inputs.device)
    mixed = lam * inputs + (1.0 - lam) * inputs[permutation]
    return mixed, targets[permutation], lam


def _check_eval_steps(eval_at_steps, total_steps: int) -> set[int]:
    steps = set()
    for step in eval_at_steps:
        if isinstance(step, bool) or not isinstance(step, numbers.Integral):
            raise TypeError(f"eval_at_steps must hold integers (completed-step counts), got {step!r}")
        if not 1 <= step <= total_steps:
            raise ValueError(f"eval_at_steps must lie in [1, total_steps={total_steps}], got {step}")
        steps.add(int(step))
    return steps


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable, device: torch.device | str = "cpu") -> dict[str, float]:
    """Mean cross-entropy loss and accuracy of ``model`` over ``loader`` of ``(x, y)`` batches."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    device = torch.device(device)
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for batch in loader:
        inputs, targets = _to_device(batch, device)
        logits = model(inputs)
        total_loss += float(nn.functional.cross_entropy(logits, targets, reduction="sum"))
        correct += int((logits.argmax(dim=1) == targets).sum())
        count += int(targets.numel())
    model.train(was_training)
    if count == 0:
        raise ValueError("the evaluation loader yielded no samples")
    return {"loss": total_loss / count, "accuracy": correct / count}


def _evaluate_aside(model: nn.Module, loader, device: torch.device) -> dict[str, float]:
    """:func:`evaluate` without touching torch's global random state (a loader's iterator
    draws from it), so evaluating mid-run never changes what training draws next."""
    with torch.random.fork_rng(devices=[]):
        return evaluate(model, loader, device)


def train(model: nn.Module, train_loader, config: TrainConfig, *, val_loader=None,
          device: torch.device | str = "cpu", eval_at_steps: Iterable[int] | None = None) -> TrainHistory:
    """Train ``model`` with cross-entropy on ``(x, y)`` batches; return per-epoch records.

    ``train_loader`` must have a length (steps per epoch) so the schedule knows its horizon.
    Data-wait is the time blocked on the loader plus the copy to ``device`` (and, with
    ``channels_last``, the change of memory format); compute is the forward (MixUp included),
    backward and optimiser step, synchronised on CUDA so it is attributed honestly.

    With ``val_loader`` and no ``eval_at_steps`` the model is evaluated after every epoch.
    With ``eval_at_steps`` (completed-step counts in ``[1, epochs * len(train_loader)]``) it
    is evaluated after exactly those steps instead, possibly mid-epoch; the results are in
    ``history.evaluations``, and an epoch's record carries them when its last step is one of
    them. Evaluation time is excluded from every training time.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    device = torch.device(device)
    try:
        steps_per_epoch = len(train_loader)
    except TypeError as error:
        raise TypeError("train_loader must define len() (the number of steps per epoch)") from error
    if steps_per_epoch == 0:
        raise ValueError("train_loader is empty: it yields no batches")
    model.to(device)
    optimizer = make_optimizer(model, config)
    total_steps = config.epochs * steps_per_epoch
    scheduler = make_scheduler(optimizer, config, total_steps)
    if eval_at_steps is not None and val_loader is None:
        raise ValueError("eval_at_steps needs a val_loader to evaluate on")
    eval_steps = None if eval_at_steps is None else _check_eval_steps(eval_at_steps, total_steps)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    history = TrainHistory()
    step_count = 0
    trained_before_epoch = 0.0
    bar = tqdm(total=total_steps, desc=config.description, disable=not config.progress, leave=False)
    for epoch in range(1, config.epochs + 1):
        model.train()
        data_wait = compute = loss_sum = eval_in_epoch = 0.0
        samples = steps = 0
        epoch_metrics = None
        synchronize(device)
        epoch_start = time.perf_counter()
        iterator = iter(train_loader)
        while True:
            wait_start = time.perf_counter()
            try:
                batch = next(iterator)
            except StopIteration:
                data_wait += time.perf_counter() - wait_start
                break
            inputs, targets = _to_device(batch, device)
            if config.channels_last:
                if inputs.ndim != 4:
                    raise ValueError("channels_last needs image batches of shape (n, c, h, w), "
                                     f"got {tuple(inputs.shape)}")
                inputs = inputs.contiguous(memory_format=torch.channels_last)
            synchronize(device)
            compute_start = time.perf_counter()
            data_wait += compute_start - wait_start
            history.lrs.append(float(optimizer.param_groups[0]["lr"]))
            optimizer.zero_grad(set_to_none=True)
            if config.mixup_alpha > 0:
                inputs, other_targets, lam = mixup_batch(inputs, targets, config.mixup_alpha)
                logits = model(inputs)
                loss = (lam * nn.functional.cross_entropy(logits, targets,
                                                          label_smoothing=config.label_smoothing)
                        + (1.0 - lam) * nn.functional.cross_entropy(
                            logits, other_targets, label_smoothing=config.label_smoothing))
            else:
                loss = nn.functional.cross_entropy(model(inputs), targets,
                                                   label_smoothing=config.label_smoothing)
            loss.backward()
            if config.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            loss_value = float(loss.detach())  # also synchronises on CUDA
            compute += time.perf_counter() - compute_start
            if not math.isfinite(loss_value):
                raise FloatingPointError(f"training loss became {loss_value} at epoch {epoch}, step {steps}")
            loss_sum += loss_value * int(targets.shape[0])
            samples += int(targets.shape[0])
            steps += 1
            step_count += 1
            bar.update(1)
            if eval_steps is not None and step_count in eval_steps:
                eval_start = time.perf_counter()
                trained = trained_before_epoch + (eval_start - epoch_start - eval_in_epoch)
                metrics = _evaluate_aside(model, val_loader, device)
                eval_time = time.perf_counter() - eval_start
                eval_in_epoch += eval_time
                history.evaluations.append(StepEvaluation(
                    step=step_count, epoch=epoch, train_time_s=trained, eval_s=eval_time,
                    val_loss=metrics["loss"], val_accuracy=metrics["accuracy"]))
                epoch_metrics = (eval_time, metrics) if steps == steps_per_epoch else None
        epoch_time = time.perf_counter() - epoch_start - eval_in_epoch
        trained_before_epoch += epoch_time
        record = EpochRecord(epoch=epoch, steps=steps, samples=samples,
                             train_loss=loss_sum / max(samples, 1), data_wait_s=data_wait,
                             compute_s=compute, epoch_s=epoch_time)
        if epoch_metrics is not None:
            record.eval_s = epoch_metrics[0]
            record.val_loss, record.val_accuracy = epoch_metrics[1]["loss"], epoch_metrics[1]["accuracy"]
        elif val_loader is not None and eval_steps is None:
            eval_start = time.perf_counter()
            metrics = _evaluate_aside(model, val_loader, device)
            record.eval_s = time.perf_counter() - eval_start
            record.val_loss, record.val_accuracy = metrics["loss"], metrics["accuracy"]
        history.records.append(record)
    bar.close()
    return history
