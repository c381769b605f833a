"""A ShrinkBench-style experiment grid: model x strategy x compression x seed.

For every seed a dense model is trained once; every (strategy, compression) cell copies it,
prunes it, evaluates it, fine-tunes it with the masks in place, and evaluates it again. The
grid returns one tidy row per cell and can resume: with a ``cache`` CSV, finished cells are
read back instead of being run again, and each new cell is appended as soon as it is done.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from effnotes.data.digits import DigitsSplit, make_loaders
from effnotes.pruning.metrics import check_input_shape, size_report
from effnotes.pruning.strategies import STRATEGIES, prune_model
from effnotes.runtime import _as_device, seed_everything
from effnotes.training import TrainConfig, evaluate, train
from effnotes.validation import check_integer

KEY = ("model", "seed", "strategy", "compression")


@dataclass(frozen=True)
class PruningGrid:
    """What to run. ``pretrain`` trains each seed's dense model; ``finetune`` trains each
    pruned one with its masks in place (``None``: no fine-tuning)."""

    strategies: tuple[str, ...] = STRATEGIES
    compressions: tuple[float, ...] = (1, 2, 4, 8, 16, 32)
    seeds: tuple[int, ...] = (0, 1, 2)
    pretrain: TrainConfig = field(default_factory=lambda: TrainConfig(
        epochs=15, lr=0.05, momentum=0.9, schedule="cosine", progress=False))
    finetune: TrainConfig | None = field(default_factory=lambda: TrainConfig(
        epochs=5, lr=0.01, momentum=0.9, schedule="cosine", progress=False))
    batch_size: int = 64
    gradient_batch: int = 256

    def __post_init__(self) -> None:
        unknown = [s for s in self.strategies if s not in STRATEGIES]
        if unknown:
            raise ValueError(f"unknown pruning strategies {unknown}; choose from {STRATEGIES}")
        if not self.strategies or not self.compressions or not self.seeds:
            raise ValueError("strategies, compressions and seeds must all be non-empty")
        if any(not c >= 1 for c in self.compressions):
            raise ValueError(f"compressions must all be >= 1, got {self.compressions}")
        for seed in self.seeds:
            check_integer("seeds", seed, minimum=0)
        for name in ("pretrain", "finetune"):
            value = getattr(self, name)
            if not (isinstance(value, TrainConfig) or (name == "finetune" and value is None)):
                raise TypeError(f"{name} must be a TrainConfig"
                                f"{' or None' if name == 'finetune' else ''}, got "
                                f"{type(value).__name__}")
        for name in ("batch_size", "gradient_batch"):
            check_integer(name, getattr(self, name), minimum=1)


def train_dense(model_factory: Callable[[], nn.Module], split: DigitsSplit, config: TrainConfig,
                *, seed: int, batch_size: int = 64, device: torch.device | str = "cpu") -> nn.Module:
    """A freshly initialised model trained with ``config`` on the training split."""
    if not callable(model_factory):
        raise TypeError(f"model_factory must be a callable returning a torch.nn.Module, got "
                        f"{type(model_factory).__name__}")
    if not isinstance(split, DigitsSplit):
        raise TypeError(f"split must be a DigitsSplit, got {type(split).__name__}")
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    check_integer("seed", seed, minimum=0)
    check_integer("batch_size", batch_size, minimum=1)
    _as_device("device", device)
    seed_everything(seed)
    model = model_factory()
    if not isinstance(model, nn.Module):
        raise TypeError(f"model_factory must return a torch.nn.Module, it returned "
                        f"{type(model).__name__}")
    train_loader, _, _ = make_loaders(split, batch_size=batch_size, seed=seed)
    train(model, train_loader, config, device=device)
    return model


def _gradient_batch(split: DigitsSplit, size: int, seed: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    index = torch.randperm(len(split.y_train), generator=generator)[:size]
    return split.x_train[index].to(device), split.y_train[index].to(device)


def _accuracies(model: nn.Module, split: DigitsSplit, device, prefix: str) -> dict[str, float]:
    _, val_loader, test_loader = make_loaders(split)
    return {f"val_acc_{prefix}": evaluate(model, val_loader, device)["accuracy"],
            f"test_acc_{prefix}": evaluate(model, test_loader, device)["accuracy"]}


def run_cell(dense: nn.Module, split: DigitsSplit, grid: PruningGrid, *, strategy: str,
             compression: float, seed: int, device, input_shape: tuple[int, ...]) -> dict:
    """Prune a copy of ``dense``, evaluate, fine-tune with the masks in place, evaluate
    (``dense`` itself is left as it is)."""
    if not isinstance(dense, nn.Module):
        raise TypeError(f"dense must be a torch.nn.Module, got {type(dense).__name__}")
    if not isinstance(split, DigitsSplit):
        raise TypeError(f"split must be a DigitsSplit, got {type(split).__name__}")
    if not isinstance(grid, PruningGrid):
        raise TypeError(f"grid must be a PruningGrid, got {type(grid).__name__}")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown pruning strategy {strategy!r}; choose one of {STRATEGIES}")
    check_integer("seed", seed, minimum=0)
    check_input_shape(input_shape)
    device = _as_device("device", device)
    model = copy.deepcopy(dense)
    batch = _gradient_batch(split, grid.gradient_batch, seed, device)
    outcome = prune_model(model, strategy, compression, batch=batch, seed=seed)
    row = {"keep_fraction": outcome.keep_fraction, **size_report(model, input_shape).as_dict(),
           **_accuracies(model, split, device, "pruned")}
    row["compression_measured"] = row.pop("compression")
    if grid.finetune is not None:
        train_loader, _, _ = make_loaders(split, batch_size=grid.batch_size, seed=seed + 1000)
        train(model, train_loader, grid.finetune, device=device)
    row.update(_accuracies(model, split, device, "finetuned"))
    row["compression_after_finetune"] = size_report(model, input_shape).compression
    return row


def run_pruning_grid(model_factory: Callable[[], nn.Module], split: DigitsSplit, grid: PruningGrid,
                     *, model_name: str, cache: Path | None = None,
                     device: torch.device | str = "cpu", input_shape: tuple[int, ...] = (1, 8, 8),
                     progress: bool = True) -> pd.DataFrame:
    """Run every (seed, strategy, compression) cell of ``grid`` for one model.

    Returns one row per cell: the key columns ``model, seed, strategy, compression`` (the
    target), ``keep_fraction``, the size report after pruning (``params``,
    ``params_nonzero``, ``macs``, ``macs_nonzero``, ``compression_measured``,
    ``theoretical_speedup``), validation and test accuracy (``val_acc_*``, ``test_acc_*``) of
    the dense model, after pruning and after fine-tuning (the latter equal to after pruning
    when ``grid.finetune`` is None), and ``compression_after_finetune`` (equal to the measured
    compression when the masks held). With ``cache``, finished cells are not run again.
    """
    device = torch.device(device)
    done = pd.read_csv(cache) if cache is not None and Path(cache).is_file() else pd.DataFrame()
    finished = set()
    if not done.empty:
        missing = [c for c in KEY if c not in done.columns]
        if missing:
            raise ValueError(f"{cache} is not a pruning-grid cache (it lacks columns {missing})")
        finished = {tuple(r) for r in done[list(KEY)].itertuples(index=False)}
    cells = [c for c in product(grid.seeds, grid.strategies, grid.compressions)
             if (model_name, c[0], c[1], float(c[2])) not in finished]
    rows, dense_models, dense_scores = [], {}, {}
    for seed, strategy, compression in tqdm(cells, desc=f"pruning grid ({model_name})",
                                            disable=not progress):
        if seed not in dense_models:
            dense_models[seed] = train_dense(model_factory, split, grid.pretrain, seed=seed,
                                             batch_size=grid.batch_size, device=device)
            dense_scores[seed] = _accuracies(dense_models[seed], split, device, "dense")
        cell = run_cell(dense_models[seed], split, grid, strategy=strategy,
                        compression=float(compression), seed=seed, device=device,
                        input_shape=input_shape)
        row = {"model": model_name, "seed": seed, "strategy": strategy,
               "compression": float(compression), **dense_scores[seed], **cell}
        rows.append(row)
        if cache is not None:
            frame = pd.DataFrame([row])
            frame.to_csv(cache, mode="a", header=not Path(cache).is_file(), index=False)
    result = pd.concat([done, pd.DataFrame(rows)], ignore_index=True) if rows else done
    keep = result["model"].eq(model_name) & result["seed"].isin(grid.seeds) \
        & result["strategy"].isin(grid.strategies) & result["compression"].isin(
            [float(c) for c in grid.compressions])
    return result[keep].sort_values(list(KEY)).reset_index(drop=True)
