"""Bad input to effnotes.speedup and the digits loaders of effnotes.data: each case raises the
named error type and the message names the argument that is wrong (refused before any
training, timing or sleeping)."""

import pytest
import torch
from torch.utils.data import TensorDataset

from effnotes.data.digits import load_digits_split, make_loaders
from effnotes.speedup.kernels import sparse_vs_narrow
from effnotes.speedup.pipeline import DelayedDataset, actual_sleep_s, time_one_epoch
from effnotes.speedup.recipes import DigitsMLP, run_budget_sweep
from effnotes.speedup.taxonomy import Placement


@pytest.fixture(scope="module")
def split():
    return load_digits_split()


def dataset():
    return TensorDataset(torch.zeros(4, 1, 8, 8), torch.zeros(4, dtype=torch.long))


def epoch(**changes):
    arguments = {"delay_s": 0.0, "workers": 0, "batches": 1, "batch_size": 2, **changes}
    return time_one_epoch(DigitsMLP, dataset(), **arguments)


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
