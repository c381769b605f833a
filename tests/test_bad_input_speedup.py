"""Bad input to effnotes.speedup and the digits loaders of effnotes.data: each case raises the
named error type and the message names the argument that is wrong (refused before any
training, timing or sleeping)."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import TensorDataset

from effnotes.data.digits import load_digits_split, make_loaders
from effnotes.speedup.kernels import sparse_vs_narrow
from effnotes.speedup.pipeline import (DelayedDataset, actual_sleep_s, amdahl_experiment,
                                       bottleneck_experiment, stall_by_threads, time_one_epoch)
from effnotes.speedup.recipes import (RECIPES, DigitsMLP, Recipe, curve_targets,
                                      run_budget_sweep, speedup_over_targets, sweep_summary,
                                      sweeps_by_recipe)
from effnotes.training import TrainConfig
from effnotes.speedup.taxonomy import Placement


@pytest.fixture(scope="module")
def split():
    return load_digits_split()


def dataset():
    return TensorDataset(torch.zeros(4, 1, 8, 8), torch.zeros(4, dtype=torch.long))


def epoch(**changes):
    arguments = {"delay_s": 0.0, "workers": 0, "batches": 1, "batch_size": 2, **changes}
    return time_one_epoch(DigitsMLP, dataset(), **arguments)


RUNS = pd.DataFrame({"recipe": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1],
                     "budget": [1, 1, 1, 1], "train_time_s": [1.0, 1.1, 2.0, 2.1],
                     "val_accuracy": [0.6, 0.62, 0.7, 0.71],
                     "test_accuracy": [0.6, 0.6, 0.7, 0.7]})
SWEEPS = sweeps_by_recipe(RUNS)


def targets(*args, **changes):
    arguments = {"n_boot": 100, **changes}
    return speedup_over_targets(SWEEPS["a"], SWEEPS["b"], *args, **arguments)


CASES = [
    ("val_fraction nan", lambda s: load_digits_split(val_fraction=float("nan")), ValueError,
     "val_fraction"),
    ("val_fraction text", lambda s: load_digits_split(val_fraction="0.2"), TypeError,
     "val_fraction"),
    ("test_fraction 1", lambda s: load_digits_split(test_fraction=1.0), ValueError,
     "test_fraction"),
    ("fractions too large", lambda s: load_digits_split(val_fraction=0.5, test_fraction=0.45),
     ValueError, "val_fraction + test_fraction"),
    ("split seed float", lambda s: load_digits_split(seed=1.5), TypeError, "seed"),
    ("split seed negative", lambda s: load_digits_split(seed=-1), ValueError, "seed"),
    ("batch_size float", lambda s: make_loaders(s, batch_size=2.5), TypeError, "batch_size"),
    ("batch_size text", lambda s: make_loaders(s, batch_size="8"), TypeError, "batch_size"),
    ("batch_size bool", lambda s: make_loaders(s, batch_size=True), TypeError, "batch_size"),
    ("batch_size 0", lambda s: make_loaders(s, batch_size=0), ValueError, "batch_size"),
    ("eval_batch_size 0", lambda s: make_loaders(s, eval_batch_size=0), ValueError,
     "eval_batch_size"),
    ("loader seed float", lambda s: make_loaders(s, seed=0.5), TypeError, "seed"),
    ("split a tuple", lambda s: make_loaders((1, 2)), TypeError, "split"),
    ("sparsity nan", lambda s: sparse_vs_narrow(64, 8, sparsity=float("nan")), ValueError,
     "sparsity"),
    ("sparsity text", lambda s: sparse_vs_narrow(64, 8, sparsity="0.9"), TypeError,
     "sparsity"),
    ("sparsity 1", lambda s: sparse_vs_narrow(64, 8, sparsity=1.0), ValueError, "sparsity"),
    ("width float", lambda s: sparse_vs_narrow(64.5, 8), ValueError, "width"),
    ("width 0", lambda s: sparse_vs_narrow(0, 8), ValueError, "width"),
    ("batch 0", lambda s: sparse_vs_narrow(64, 0), ValueError, "batch"),
    ("narrow_factor > width", lambda s: sparse_vs_narrow(2, 8, narrow_factor=3), ValueError,
     "narrow_factor"),
    ("delay nan", lambda s: DelayedDataset(dataset(), float("nan")), ValueError, "delay_s"),
    ("delay inf", lambda s: DelayedDataset(dataset(), float("inf")), ValueError, "delay_s"),
    ("delay text", lambda s: DelayedDataset(dataset(), "0.1"), TypeError, "delay_s"),
    ("delay negative", lambda s: DelayedDataset(dataset(), -1.0), ValueError, "delay_s"),
    ("sleep nan", lambda s: actual_sleep_s(float("nan")), ValueError, "delay_s"),
    ("sleep 0", lambda s: actual_sleep_s(0.0), ValueError, "delay_s"),
    ("sleep calls float", lambda s: actual_sleep_s(0.001, calls=1.5), TypeError, "calls"),
    ("epoch workers float", lambda s: epoch(workers=1.5), TypeError, "workers"),
    ("epoch batches 0", lambda s: epoch(batches=0), ValueError, "batches"),
    ("epoch batch_size text", lambda s: epoch(batch_size="2"), TypeError, "batch_size"),
    ("epoch delay nan", lambda s: epoch(delay_s=float("nan")), ValueError, "delay_s"),
    ("epoch empty dataset", lambda s: time_one_epoch(DigitsMLP, TensorDataset(torch.zeros(0, 1)),
                                                     delay_s=0.0, workers=0, batches=1,
                                                     batch_size=2), ValueError, "dataset"),
    ("mlp width float", lambda s: DigitsMLP(width=2.5), TypeError, "width"),
    ("mlp width text", lambda s: DigitsMLP(width="8"), TypeError, "width"),
    ("mlp depth 0", lambda s: DigitsMLP(depth=0), ValueError, "depth"),
    ("mlp n_classes 0", lambda s: DigitsMLP(n_classes=0), ValueError, "n_classes"),
    ("sweep no recipes", lambda s: run_budget_sweep([], [1], [0], s), ValueError, "recipes"),
    ("sweep budget float", lambda s: run_budget_sweep(["r"], [1.5], [0], s), ValueError,
     "budgets"),
    ("recipe name empty", lambda s: Recipe("", TrainConfig()), TypeError, "name"),
    ("recipe name number", lambda s: Recipe(1, TrainConfig()), TypeError, "name"),
    ("recipe config dict", lambda s: Recipe("r", {"lr": 0.1}), TypeError, "config"),
    ("recipe width 0", lambda s: Recipe("r", TrainConfig(), width=0), ValueError, "width"),
    ("recipe width float", lambda s: Recipe("r", TrainConfig(), width=64.0), TypeError, "width"),
    ("recipe depth -1", lambda s: Recipe("r", TrainConfig(), depth=-1), ValueError, "depth"),
    ("recipe batch_size 0", lambda s: Recipe("r", TrainConfig(), batch_size=0), ValueError,
     "batch_size"),
    ("recipe batch_size bool", lambda s: Recipe("r", TrainConfig(), batch_size=True), TypeError,
     "batch_size"),
    ("sweep budget bool", lambda s: run_budget_sweep([RECIPES["baseline"]], [True], [0], s),
     ValueError, "budgets"),
    ("sweep seed float", lambda s: run_budget_sweep([RECIPES["baseline"]], [1], [0.5], s),
     TypeError, "seeds"),
    ("sweep seed negative", lambda s: run_budget_sweep([RECIPES["baseline"]], [1], [-1], s),
     ValueError, "seeds"),
    ("sweep recipe name", lambda s: run_budget_sweep(["baseline"], [1], [0], s), TypeError,
     "recipes"),
    ("sweep split", lambda s: run_budget_sweep([RECIPES["baseline"]], [1], [0], (1, 2)),
     TypeError, "split"),
    ("sweeps of a list", lambda s: sweeps_by_recipe([]), TypeError, "runs"),
    ("sweeps no recipe", lambda s: sweeps_by_recipe(RUNS.drop(columns="recipe")), KeyError,
     "recipe"),
    ("targets empty", lambda s: curve_targets(RUNS.iloc[:0], 0.9), ValueError, "runs"),
    ("targets nan", lambda s: curve_targets(RUNS, float("nan")), ValueError, "target"),
    ("targets 90", lambda s: curve_targets(RUNS, 90.0), ValueError, "target"),
    ("targets points 1", lambda s: curve_targets(RUNS, 0.9, points=1), ValueError, "points"),
    ("targets points float", lambda s: curve_targets(RUNS, 0.9, points=4.0), TypeError,
     "points"),
    ("bottleneck delay text", lambda s: bottleneck_experiment(DigitsMLP, dataset(),
                                                              delay_s="0.01"),
     TypeError, "delay_s"),
    ("bottleneck delay 0", lambda s: bottleneck_experiment(DigitsMLP, dataset(), delay_s=0.0),
     ValueError, "delay_s"),
    ("bottleneck workers int", lambda s: bottleneck_experiment(DigitsMLP, dataset(),
                                                               delay_s=0.5, workers=2),
     TypeError, "workers"),
    ("bottleneck workers empty", lambda s: bottleneck_experiment(DigitsMLP, dataset(),
                                                                 delay_s=0.5, workers=()),
     ValueError, "workers"),
    ("bottleneck workers -1", lambda s: bottleneck_experiment(DigitsMLP, dataset(), delay_s=0.5,
                                                              workers=(0, -1)),
     ValueError, "workers"),
    ("bottleneck batches 0", lambda s: bottleneck_experiment(DigitsMLP, dataset(), delay_s=0.5,
                                                             batches=0),
     ValueError, "batches"),
    ("bottleneck empty dataset", lambda s: bottleneck_experiment(
        DigitsMLP, TensorDataset(torch.zeros(0, 1)), delay_s=0.5), ValueError, "dataset"),
    ("amdahl delay negative", lambda s: amdahl_experiment(DigitsMLP, DigitsMLP, dataset(),
                                                          delay_s=-0.1), ValueError, "delay_s"),
    ("amdahl delay nan", lambda s: amdahl_experiment(DigitsMLP, DigitsMLP, dataset(),
                                                     delay_s=float("nan")), ValueError, "delay_s"),
    ("amdahl batch_size 0", lambda s: amdahl_experiment(DigitsMLP, DigitsMLP, dataset(),
                                                        batch_size=0), ValueError, "batch_size"),
    ("amdahl repeats float", lambda s: amdahl_experiment(DigitsMLP, DigitsMLP, dataset(),
                                                         repeats=2.0), TypeError, "repeats"),
    ("epoch factory text", lambda s: time_one_epoch(
        "net", dataset(), delay_s=0.0, workers=0, batches=1, batch_size=2), TypeError,
     "model_factory"),
    ("epoch seed float", lambda s: epoch(seed=0.5), TypeError, "seed"),
    ("epoch label number", lambda s: epoch(label=3), TypeError, "label"),
    ("bottleneck factory text", lambda s: bottleneck_experiment("net", dataset(), delay_s=0.5),
     TypeError, "model_factory"),
    ("amdahl wide text", lambda s: amdahl_experiment("wide", DigitsMLP, dataset()), TypeError,
     "wide_factory"),
    ("amdahl narrow text", lambda s: amdahl_experiment(DigitsMLP, "narrow", dataset()),
     TypeError, "narrow_factory"),
    ("stall factory text", lambda s: stall_by_threads("net", dataset(), delay_s=0.5),
     TypeError, "model_factory"),
    ("stall delay 0", lambda s: stall_by_threads(DigitsMLP, dataset(), delay_s=0.0),
     ValueError, "delay_s"),
    ("stall delay nan", lambda s: stall_by_threads(DigitsMLP, dataset(), delay_s=float("nan")),
     ValueError, "delay_s"),
    ("stall batches 0", lambda s: stall_by_threads(DigitsMLP, dataset(), delay_s=0.5,
                                                   batches=0), ValueError, "batches"),
    ("stall empty dataset", lambda s: stall_by_threads(
        DigitsMLP, TensorDataset(torch.zeros(0, 1)), delay_s=0.5), ValueError, "dataset"),
    ("summary of a list", lambda s: sweep_summary([]), TypeError, "runs"),
    ("summary no test column", lambda s: sweep_summary(RUNS.drop(columns="test_accuracy")),
     KeyError, "test_accuracy"),
    ("summary empty", lambda s: sweep_summary(RUNS.iloc[:0]), ValueError, "runs"),
    ("speedups baseline text", lambda s: speedup_over_targets("a", SWEEPS["b"], [0.6],
                                                              n_boot=100), TypeError,
     "baseline"),
    ("speedups improved dict", lambda s: speedup_over_targets(SWEEPS["a"], {}, [0.6],
                                                              n_boot=100), TypeError,
     "improved"),
    ("speedups no targets", lambda s: targets([]), ValueError, "targets"),
    ("speedups targets text", lambda s: targets("0.6"), TypeError, "targets"),
    ("speedups target nan", lambda s: targets([float("nan")]), ValueError, "targets"),
    ("speedups target text", lambda s: targets(["0.6"]), TypeError, "targets"),
    ("speedups n_boot float", lambda s: targets([0.6], n_boot=100.5), TypeError, "n_boot"),
    ("speedups seed -1", lambda s: targets([0.6], seed=-1), ValueError, "seed"),
    ("for_split text", lambda s: DigitsMLP.for_split("digits"), TypeError, "split"),
    ("sweep progress text", lambda s: run_budget_sweep([RECIPES["baseline"]], [1], [0], s,
                                                       progress="no"), TypeError, "progress"),
    ("placement component", lambda s: Placement("x", "y", "z", None, "r"), ValueError,
     "component"),
    ("placement action", lambda s: Placement("x", "y", None, "z", "r"), ValueError, "action"),
]


@pytest.mark.parametrize("call, error, name", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_named(split, call, error, name):
    with pytest.raises(error) as raised:
        call(split)
    assert name in str(raised.value), str(raised.value)


def test_valid_input_still_builds(split):
    train, val, _ = make_loaders(split, batch_size=8)
    assert next(iter(train))[0].shape == (8, 1, 8, 8)
    assert DigitsMLP(width=4, depth=1)(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    assert DelayedDataset(dataset(), 0)[0][0].shape == (1, 8, 8)


def test_valid_recipes_and_targets_still_build():
    recipe = Recipe("r", TrainConfig(), width=np.int64(16), depth=np.int32(1))
    assert (recipe.width, recipe.depth) == (16, 1) and type(recipe.width) is int
    assert recipe.build_model()(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    targets = curve_targets(RUNS, 0.7, points=3)
    assert targets == sorted(targets) and targets[-1] == 0.7 and len(targets) == 3
