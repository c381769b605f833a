"""Bad input to effnotes.cyclic (schedule and read-off): each case raises the named error type
and the message names the argument that is wrong."""

import numpy as np
import pandas as pd
import pytest
import torch

from effnotes.cyclic.readoff import (curve_from_points, evaluation_steps, reread_runs,
                                     trough_points, troughs_from_rates)
from effnotes.cyclic.schedule import CyclicSchedule, torch_reference_scheduler


def schedule(**changes):
    return CyclicSchedule(**{"first_cycle": 3, **changes})


def evaluations(accuracy=(0.5, 0.6)):
    return pd.DataFrame({"step": [1, 2], "train_time_s": [1.0, 2.0],
                         "val_accuracy": list(accuracy)})


def sgd(lr=1.0):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


CASES = [
    ("first_cycle float", lambda: schedule(first_cycle=3.0), ValueError, "first_cycle"),
    ("first_cycle 0", lambda: schedule(first_cycle=0), ValueError, "first_cycle"),
    ("warmup negative", lambda: schedule(warmup=-1), ValueError, "warmup"),
    ("multiplier < 1", lambda: schedule(multiplier=0.5), ValueError, "multiplier"),
    ("multiplier inf", lambda: schedule(multiplier=float("inf")), ValueError, "multiplier"),
    ("lr_max text", lambda: schedule(lr_max="1"), TypeError, "lr_max"),
    ("lr_max bool", lambda: schedule(lr_max=True), TypeError, "lr_max"),
    ("lr_max nan", lambda: schedule(lr_max=float("nan")), ValueError, "lr_max"),
    ("lr_min text", lambda: schedule(lr_min="0"), TypeError, "lr_min"),
    ("lr_min > lr_max", lambda: schedule(lr_min=2.0), ValueError, "lr_min"),
    ("warmup_start text", lambda: schedule(warmup_start="0"), TypeError, "warmup_start"),
    ("warmup_start nan", lambda: schedule(warmup_start=float("nan")), ValueError,
     "warmup_start"),
    ("lr step float", lambda: schedule().lr(2.0), ValueError, "step"),
    ("lr step negative", lambda: schedule().lr(-1), ValueError, "step"),
    ("call step negative", lambda: schedule()(-1, 10), ValueError, "step"),
    ("call step float", lambda: schedule()(2.0, 10), ValueError, "step"),
    ("call step text", lambda: schedule()("2", 10), ValueError, "step"),
    ("call step past the end", lambda: schedule()(11, 10), ValueError, "step"),
    ("cycle_index float", lambda: schedule().cycle_index(2.5), ValueError, "step"),
    ("cycle_index text", lambda: schedule().cycle_index("2"), ValueError, "step"),
    ("cycle_length float", lambda: schedule().cycle_length(1.0), ValueError, "cycle index"),
    ("budget 0", lambda: schedule().rates(0), ValueError, "total_steps"),
    ("budget in warm-up", lambda: schedule(warmup=5).trough_steps(5), ValueError, "warm-up"),
    ("n_cycles 0", lambda: schedule().steps_for_cycles(0), ValueError, "n_cycles"),
    ("lambda_lr text", lambda: schedule().lambda_lr("sgd"), TypeError, "optimizer"),
    ("lambda_lr rate", lambda: schedule().lambda_lr(sgd(0.5)), ValueError, "lr_max"),
    ("reference schedule", lambda: torch_reference_scheduler(sgd(), "cosine"), TypeError,
     "schedule"),
    ("reference multiplier", lambda: torch_reference_scheduler(sgd(), schedule(multiplier=1.5)),
     ValueError, "multiplier"),
    ("troughs text", lambda: evaluation_steps("abc", 10, every=1, window=1), TypeError,
     "troughs"),
    ("troughs int", lambda: evaluation_steps(5, 10, every=1, window=1), TypeError, "troughs"),
    ("troughs float", lambda: evaluation_steps([2.0, 5.0], 10, every=1, window=1), ValueError,
     "troughs"),
    ("troughs empty", lambda: evaluation_steps([], 10, every=1, window=1), ValueError,
     "troughs"),
    ("troughs decreasing", lambda: evaluation_steps([5, 2], 10, every=1, window=1), ValueError,
     "troughs"),
    ("trough past run", lambda: evaluation_steps([20], 10, every=1, window=1), ValueError,
     "trough"),
    ("every 0", lambda: evaluation_steps([2], 10, every=0, window=1), ValueError, "every"),
    ("window negative", lambda: evaluation_steps([2], 10, every=1, window=-1), ValueError,
     "window"),
    ("rates text", lambda: troughs_from_rates(["a", "b"]), ValueError, "a"),
    ("rates short", lambda: troughs_from_rates([1.0]), ValueError, "rates"),
    ("rates nan", lambda: troughs_from_rates([1.0, np.nan]), ValueError, "rates"),
    ("evaluations list", lambda: trough_points([1, 2], [1], every=1, window=0), TypeError,
     "evaluations"),
    ("evaluations columns", lambda: trough_points(evaluations().drop(columns="step"), [1],
                                                   every=1, window=0), KeyError, "step"),
    ("evaluations nan", lambda: trough_points(evaluations((np.nan, np.nan)), [2], every=1,
                                              window=1), ValueError, "val_accuracy"),
    ("trough not evaluated", lambda: trough_points(evaluations(), [3], every=1, window=0),
     ValueError, "trough step 3"),
    ("points empty", lambda: curve_from_points(evaluations().iloc[:0]), ValueError, "point"),
    ("trace columns", lambda: reread_runs(evaluations(), [1], every=1, window=0,
                                          steps_per_epoch=1), KeyError, "method"),
    ("trace empty", lambda: reread_runs(evaluations().assign(method="a", seed=0).iloc[:0], [1],
                                        every=1, window=0, steps_per_epoch=1), ValueError,
     "trace"),
    ("trace list", lambda: reread_runs([], [1], every=1, window=0, steps_per_epoch=1),
     TypeError, "trace"),
    ("steps_per_epoch 0", lambda: reread_runs(evaluations(), [1], every=1, window=0,
                                              steps_per_epoch=0), ValueError, "steps_per_epoch"),
]


@pytest.mark.parametrize("call, error, name", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_named(call, error, name):
    with pytest.raises(error) as raised:
        call()
    assert name in str(raised.value), str(raised.value)


def test_valid_input_still_reads_off():
    points = trough_points(evaluations(), [2], every=1, window=1)
    assert points["val_accuracy"].tolist() == [0.6]
    assert schedule().cycle_index(np.int64(4)) == 1
    assert evaluation_steps(np.array([2, 5]), 10, every=1, window=0) == [2, 5]


def test_call_accepts_every_step_of_the_run_and_its_end():
    cyclic = schedule(warmup=2)
    assert [cyclic(step, 10) for step in (0, 9, 10)] == [cyclic.factor(s) for s in (0, 9, 10)]
    assert cyclic(np.int64(3), 10) == cyclic.factor(3)
