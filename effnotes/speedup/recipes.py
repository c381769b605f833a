"""Two training recipes for the digits, run over a sweep of budgets and seeds.

Each (recipe, budget, seed) cell is a complete run whose learning-rate schedule is scaled to
its own budget, as tradeoff curves require; its cost is the measured training wall time.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, replace
from itertools import product

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from effnotes.data.digits import DigitsSplit, make_loaders
from effnotes.runtime import seed_everything
from effnotes.tradeoff import SeedSweep
from effnotes.training import TrainConfig, evaluate, train
from effnotes.validation import check_frame, check_integer, check_real


class DigitsMLP(nn.Module):
    """A multilayer perceptron for small images: ``(n, c, h, w)`` with ``c*h*w = in_features``
    (64 for the 8x8 digits) -> logits ``(n, n_classes)``, with ``depth`` hidden layers of
    ``width`` units and ReLU."""

    def __init__(self, width: int = 128, depth: int = 2, n_classes: int = 10, *,
                 in_features: int = 64) -> None:
        super().__init__()
        for name, value in (("width", width), ("depth", depth), ("n_classes", n_classes),
                            ("in_features", in_features)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
        if width < 1 or depth < 1 or in_features < 1 or n_classes < 1:
            raise ValueError(f"width and depth (and in_features, n_classes) must be positive, got "
                             f"width={width}, n_classes={n_classes}, "
                             f"depth={depth}, in_features={in_features}")
        layers: list[nn.Module] = [nn.Flatten()]
        fan_in = in_features
        for _ in range(depth):
            layers += [nn.Linear(fan_in, width), nn.ReLU()]
            fan_in = width
        layers.append(nn.Linear(fan_in, n_classes))
        self.net = nn.Sequential(*layers)

    @classmethod
    def for_split(cls, split: DigitsSplit, width: int = 128, depth: int = 2) -> "DigitsMLP":
        """The MLP sized for ``split``'s images and classes (for the digits: ``cls(width,
        depth)``, the same layers and initialisation)."""
        if not isinstance(split, DigitsSplit):
            raise TypeError(f"split must be a DigitsSplit, got {type(split).__name__}")
        c, h, w = split.image_shape
        return cls(width, depth, split.n_classes, in_features=c * h * w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def multiply_adds(self) -> int:
        """Multiply-adds of one sample's forward pass (the weights of every linear layer)."""
        return sum(m.in_features * m.out_features for m in self.net if isinstance(m, nn.Linear))


@dataclass(frozen=True)
class Recipe:
    """A training recipe: the model's size, batch size and the optimisation settings."""

    name: str
    config: TrainConfig
    width: int = 128
    depth: int = 2
    batch_size: int = 64

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig, got {type(self.config).__name__}")
        for field in ("width", "depth", "batch_size"):
            object.__setattr__(self, field, check_integer(field, getattr(self, field), 1))

    def build_model(self, split: DigitsSplit | None = None) -> DigitsMLP:
        """The recipe's MLP, sized for ``split``'s images and classes (the digits if None)."""
        if split is None:
            return DigitsMLP(self.width, self.depth)
        return DigitsMLP.for_split(split, self.width, self.depth)


#: The chapter's two recipes, on the same 256-wide MLP with the same data order and code path.
#: The baseline is the textbook default, SGD with momentum at a constant rate (0.02, the best
#: of a small grid for long budgets). The improved recipe warms up to a 10x higher peak rate,
#: decays it linearly to zero by the end of whatever budget it is given, and smooths labels.
RECIPES = {
    "baseline": Recipe("baseline", TrainConfig(optimizer="sgd", lr=0.02, momentum=0.9,
                                               schedule="constant"), width=256),
    "improved": Recipe("improved", TrainConfig(optimizer="sgd", lr=0.2, momentum=0.9,
                                               schedule="linear", warmup_fraction=0.1,
                                               label_smoothing=0.1), width=256),
}


def run_budget_sweep(recipes: list[Recipe], budgets: list[int], seeds: list[int], split: DigitsSplit,
                     *, device: torch.device | str = "cpu", progress: bool = True) -> pd.DataFrame:
    """Train every recipe at every budget (epochs) with every seed.

    Returns one row per run: ``recipe, seed, budget, train_time_s, data_wait_s, compute_s,
    val_accuracy, test_accuracy``. Costs are training wall seconds (evaluation excluded).
    """
    if not recipes or not budgets or not seeds:
        raise ValueError("recipes, budgets and seeds must all be non-empty")
    if any(isinstance(b, (bool, np.bool_)) or not isinstance(b, numbers.Integral) or b < 1
           for b in budgets):
        raise ValueError(f"budgets are epoch counts and must be positive integers, got {budgets}")
    budgets = [int(b) for b in budgets]
    seeds = [check_integer("seeds", s, 0) for s in seeds]
    for recipe in recipes:
        if not isinstance(recipe, Recipe):
            raise TypeError(f"recipes must be Recipe objects, got {type(recipe).__name__}")
    if not isinstance(split, DigitsSplit):
        raise TypeError(f"split must be a DigitsSplit, got {type(split).__name__}")
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True or False, got {progress!r}")
    rows = []
    cells = list(product(recipes, budgets, seeds))
    for recipe, budget, seed in tqdm(cells, desc="budget sweep", disable=not progress):
        seed_everything(seed)
        model = recipe.build_model(split)
        train_loader, val_loader, test_loader = make_loaders(split, batch_size=recipe.batch_size,
                                                             seed=seed)
        config = replace(recipe.config, epochs=budget, progress=False)
        history = train(model, train_loader, config, device=device)
        val = evaluate(model, val_loader, device)
        test = evaluate(model, test_loader, device)
        rows.append({"recipe": recipe.name, "seed": seed, "budget": budget,
                     "train_time_s": history.train_time_s, "data_wait_s": history.data_wait_s,
                     "compute_s": history.compute_s, "val_accuracy": val["accuracy"],
                     "test_accuracy": test["accuracy"]})
    return pd.DataFrame(rows)


def sweeps_by_recipe(runs: pd.DataFrame, *, cost: str = "train_time_s",
                     quality: str = "val_accuracy", cost_unit: str = "s") -> dict[str, SeedSweep]:
    """Split a :func:`run_budget_sweep` frame into one :class:`~effnotes.tradeoff.SeedSweep`
    per recipe, with ``cost`` and ``quality`` taken from the named columns."""
    check_frame(runs, ("recipe", cost, quality), "runs")
    return {name: SeedSweep.from_frame(group, cost=cost, quality=quality, label=str(name),
                                       cost_unit=cost_unit)
            for name, group in runs.groupby("recipe", sort=False)}


def curve_targets(runs: pd.DataFrame, target: float, *, points: int = 8) -> list[float]:
    """``points`` target accuracies from the lowest seed-mean accuracy of any (recipe,
    budget) cell (rounded up to a hundredth, and at least 0.5) to ``target``, rounded to
    three decimals: the range over which :func:`speedup_over_targets` reads ``S(q)``."""
    check_frame(runs, ("recipe", "budget", "val_accuracy"), "runs")
    if not 0 < check_real("target", target) <= 1:
        raise ValueError(f"target must be an accuracy in (0, 1], got {target}")
    check_integer("points", points, 2)
    lowest = runs.groupby(["recipe", "budget"])["val_accuracy"].mean().min()
    low = float(np.ceil(lowest * 100) / 100)
    return [float(q) for q in np.round(np.linspace(max(low, 0.5), target, points), 3)]


def speedup_over_targets(baseline: SeedSweep, improved: SeedSweep, targets: list[float], *,
                         n_boot: int, seed: int = 1) -> pd.DataFrame:
    """The speedup ``S(q)`` of ``improved`` over ``baseline`` at each target quality ``q``,
    with its bootstrap interval: one row per target, columns ``target, speedup, low, high``
    (speedups as cost ratios, in the sweeps' cost unit)."""
    from effnotes.tradeoff import bootstrap_speedup

    for name, sweep in (("baseline", baseline), ("improved", improved)):
        if not isinstance(sweep, SeedSweep):
            raise TypeError(f"{name} must be a SeedSweep, got {type(sweep).__name__}")
    if isinstance(targets, (str, bytes)) or not hasattr(targets, "__iter__"):
        raise TypeError(f"targets must be a sequence of accuracies, got {type(targets).__name__}")
    targets = [check_real("targets", q) for q in targets]
    check_integer("n_boot", n_boot, minimum=1)
    check_integer("seed", seed, minimum=0)
    if not targets:
        raise ValueError("targets is empty: give at least one target accuracy")
    rows = []
    for q in targets:
        estimate = bootstrap_speedup(baseline, improved, float(q), n_boot=n_boot, seed=seed)
        rows.append({"target": float(q), "speedup": estimate.speedup, "low": estimate.low,
                     "high": estimate.high})
    return pd.DataFrame(rows)


def sweep_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds of each (recipe, budget) cell's training wall
    time (seconds) and validation and test accuracies (fractions): a row per cell."""
    columns = ["train_time_s", "val_accuracy", "test_accuracy"]
    check_frame(runs, ("recipe", "budget", *columns), "runs")
    return runs.groupby(["recipe", "budget"])[columns].agg(["mean", "std"])
