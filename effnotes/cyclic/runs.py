"""Training methods on the digits CNN, run once with the cyclic schedule and once per trough
budget with the standard schedule scaled to that budget.

Budgets and schedule lengths are whole epochs here (``warmup_epochs``, ``first_cycle_epochs``
and an integer multiplier make every trough fall at the end of an epoch), converted to steps
with the loader's length.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, replace
from itertools import product

import pandas as pd
import torch
from tqdm.auto import tqdm

from effnotes.cyclic.readoff import evaluation_steps, trough_points, troughs_from_rates
from effnotes.cyclic.schedule import CyclicSchedule
from effnotes.data.digits import DigitsSplit, make_loaders
from effnotes.models import DigitsCNN
from effnotes.runtime import seed_everything
from effnotes.training import TrainConfig, train


@dataclass(frozen=True)
class Method:
    """A training method as options of the model and of the training loop; they compose."""

    name: str
    label_smoothing: float = 0.0
    mixup_alpha: float = 0.0
    blurpool: bool = False
    channels_last: bool = False

    def build_model(self, channels: int, split: DigitsSplit | None = None) -> DigitsCNN:
        """The CNN with this method's options, sized for ``split`` (the digits if None)."""
        if split is None:
            return DigitsCNN(channels=channels, blurpool=self.blurpool)
        c, h, w = split.image_shape
        return DigitsCNN(channels=channels, n_classes=split.n_classes, in_channels=c,
                         image_size=(h, w), blurpool=self.blurpool)

    def train_config(self, base: TrainConfig) -> TrainConfig:
        return replace(base, label_smoothing=self.label_smoothing,
                       mixup_alpha=self.mixup_alpha, channels_last=self.channels_last)


#: The methods of the chapter; ``combined`` stacks the three that change what is learned.
METHODS = {
    "baseline": Method("baseline"),
    "label_smoothing": Method("label_smoothing", label_smoothing=0.1),
    "mixup": Method("mixup", mixup_alpha=0.4),
    "blurpool": Method("blurpool", blurpool=True),
    "channels_last": Method("channels_last", channels_last=True),
    "combined": Method("combined", label_smoothing=0.1, mixup_alpha=0.4, blurpool=True),
}


def get_methods(names: list[str]) -> list[Method]:
    """The methods called ``names``; the first must be ``baseline`` (the reference)."""
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise KeyError(f"unknown methods {unknown}; choose from {list(METHODS)}")
    if not names or names[0] != "baseline":
        raise ValueError(f"the first method must be 'baseline' (the reference), got {names}")
    return [METHODS[n] for n in names]


def _whole(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class CyclicSetup:
    """The schedule and evaluation grid, in epochs and steps.

    ``warmup_epochs`` (W) and ``first_cycle_epochs`` (T0) are whole epochs and ``multiplier``
    (m) an integer >= 2 so every trough ends an epoch; the cyclic run lasts ``n_cycles``
    cycles. ``lr`` is the peak rate (SGD with ``momentum`` and ``weight_decay``). The read-off
    evaluates every ``eval_every_steps`` steps within ``window`` evaluations of a trough.
    """

    warmup_epochs: int = 2
    first_cycle_epochs: int = 2
    multiplier: int = 2
    n_cycles: int = 5
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 64
    channels: int = 16
    eval_every_steps: int = 4
    window: int = 3

    def __post_init__(self) -> None:
        if _whole("warmup_epochs", self.warmup_epochs) < 0:
            raise ValueError(f"warmup_epochs must be >= 0, got {self.warmup_epochs}")
        for name in ("first_cycle_epochs", "n_cycles", "batch_size", "channels", "eval_every_steps"):
            if _whole(name, getattr(self, name)) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if _whole("multiplier", self.multiplier) < 2:
            raise ValueError(f"multiplier must be an integer >= 2 here (whole-epoch troughs that "
                             f"grow), got {self.multiplier}")
        if _whole("window", self.window) < 0:
            raise ValueError(f"window must be >= 0, got {self.window}")

    def schedule(self, steps_per_epoch: int) -> CyclicSchedule:
        steps_per_epoch = _whole("steps_per_epoch", steps_per_epoch)
        return CyclicSchedule(first_cycle=self.first_cycle_epochs * steps_per_epoch,
                              multiplier=self.multiplier,
                              warmup=self.warmup_epochs * steps_per_epoch, lr_max=self.lr)

    def trough_epochs(self) -> list[int]:
        """The budgets (epochs) at the end of each cycle: W + S_1, ..., W + S_n."""
        unit = self.schedule(1)
        return [unit.steps_for_cycles(k) for k in range(1, self.n_cycles + 1)]

    def predicted_saving(self) -> float:
        """Steps of the standard runs at every trough budget over the cyclic run's steps
        (tends to m/(m-1) as cycles are added)."""
        budgets = self.trough_epochs()
        return sum(budgets) / budgets[-1]

    def train_config(self, epochs: int, schedule: CyclicSchedule) -> TrainConfig:
        return TrainConfig(epochs=epochs, lr=self.lr, optimizer="sgd", momentum=self.momentum,
                           weight_decay=self.weight_decay, schedule=schedule, progress=False)


def _one_run(method: Method, seed: int, split: DigitsSplit, setup: CyclicSetup, *,
             budget_epochs: int | None, device) -> dict:
    """Train ``method`` with ``seed``: the cyclic schedule for all its cycles when
    ``budget_epochs`` is None, else the standard schedule scaled to ``budget_epochs``."""
    seed_everything(seed)
    model = method.build_model(setup.channels, split)
    train_loader, val_loader, _ = make_loaders(split, batch_size=setup.batch_size, seed=seed)
    per_epoch = len(train_loader)
    cyclic = setup.schedule(per_epoch)
    epochs = setup.trough_epochs()[-1] if budget_epochs is None else budget_epochs
    total = epochs * per_epoch
    schedule = cyclic if budget_epochs is None else cyclic.standard(total)
    troughs = schedule.trough_steps(total)
    grid = set(evaluation_steps(troughs, total, every=setup.eval_every_steps, window=setup.window))
    # every run is also evaluated once per epoch (a trace for plots), so the cyclic and the
    # standard runs are interrupted alike and their training times compare fairly
    grid |= {e * per_epoch for e in range(1, epochs + 1)}
    config = method.train_config(setup.train_config(epochs, schedule))
    history = train(model, train_loader, config, val_loader=val_loader, device=device,
                    eval_at_steps=sorted(grid))
    evaluations = history.evaluations_frame()
    found = troughs_from_rates(history.lrs)
    if found != troughs:
        raise RuntimeError(f"the run's learning rates have troughs at {found}, the schedule "
                           f"says {troughs}")
    points = trough_points(evaluations, troughs, every=setup.eval_every_steps, window=setup.window)
    return {"history": history, "evaluations": evaluations, "points": points,
            "steps_per_epoch": per_epoch}


def run_comparison(methods: list[Method], seeds: list[int], split: DigitsSplit,
                   setup: CyclicSetup, *, device: torch.device | str = "cpu",
                   progress: bool = True) -> dict[str, pd.DataFrame]:
    """For every method and seed: one cyclic run, and one standard run per trough budget.

    Returns three frames:

    - ``points``: ``method, seed, kind ("cyclic"/"standard"), trough, budget_epochs, step,
      train_time_s, val_accuracy, n_evals``, one row per curve point;
    - ``runs``: ``method, seed, kind, budget_epochs, train_time_s, steps``, one row per run
      (its whole training time, evaluation excluded);
    - ``trace``: ``method, seed, step, epoch, train_time_s, val_accuracy, lr`` for every
      evaluation of every cyclic run (the rate is that of the step just completed).
    """
    if not methods or not seeds:
        raise ValueError("methods and seeds must be non-empty")
    budgets = setup.trough_epochs()
    # a method and seed's cyclic run next to its standard runs, so drifts in the machine's
    # load touch both sides of the cost comparison alike
    cells = [(m, s, b) for m, s in product(methods, seeds) for b in (None, *budgets)]
    points, runs, traces = [], [], []
    for method, seed, budget in tqdm(cells, desc="cyclic vs standard runs", disable=not progress):
        out = _one_run(method, seed, split, setup, budget_epochs=budget, device=device)
        history, per_epoch = out["history"], out["steps_per_epoch"]
        kind = "cyclic" if budget is None else "standard"
        labels = {"method": method.name, "seed": seed, "kind": kind}
        frame = out["points"].assign(**labels)
        frame["budget_epochs"] = frame["step"] // per_epoch
        if kind == "standard":
            frame["trough"] = budgets.index(budget)
        points.append(frame)
        runs.append({**labels, "budget_epochs": len(history.records),
                     "train_time_s": history.train_time_s, "steps": len(history.lrs)})
        if kind == "cyclic":
            trace = out["evaluations"].assign(method=method.name, seed=seed)
            trace["lr"] = [history.lrs[s - 1] for s in trace["step"]]
            traces.append(trace)
    order = ["method", "seed", "kind", "trough", "budget_epochs", "step", "train_time_s",
             "val_accuracy", "n_evals"]
    return {"points": pd.concat(points, ignore_index=True)[order],
            "runs": pd.DataFrame(runs),
            "trace": pd.concat(traces, ignore_index=True)[
                ["method", "seed", "step", "epoch", "train_time_s", "val_accuracy", "lr"]]}
