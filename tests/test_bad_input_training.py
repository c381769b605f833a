"""Bad input to effnotes.training: each case raises the named error type and the message names
the argument that is wrong; a refused call leaves the model as it was."""

import pytest
import torch
from torch import nn

from effnotes.training import (TrainConfig, evaluate, make_optimizer, make_scheduler, mixup_batch,
                               schedule_multiplier, train)


def batches(n=2):
    return [(torch.zeros(n, 2), torch.zeros(n, dtype=torch.long))]


def model():
    torch.manual_seed(0)
    return nn.Linear(2, 3)


QUIET = {"progress": False}

CASES = [
    ("epochs bool", lambda: TrainConfig(epochs=True), TypeError, "epochs"),
    ("epochs float", lambda: TrainConfig(epochs=2.0), TypeError, "epochs"),
    ("epochs 0", lambda: TrainConfig(epochs=0), ValueError, "epochs"),
    ("lr text", lambda: TrainConfig(lr="0.1"), TypeError, "lr"),
    ("lr inf", lambda: TrainConfig(lr=float("inf")), ValueError, "lr"),
    ("lr nan", lambda: TrainConfig(lr=float("nan")), ValueError, "lr"),
    ("lr 0", lambda: TrainConfig(lr=0.0), ValueError, "lr"),
    ("optimizer list", lambda: TrainConfig(optimizer=["sgd"]), TypeError, "optimizer"),
    ("optimizer unknown", lambda: TrainConfig(optimizer="lamb"), ValueError, "optimizer"),
    ("momentum text", lambda: TrainConfig(momentum="0"), TypeError, "momentum"),
    ("momentum 1", lambda: TrainConfig(momentum=1.0), ValueError, "momentum"),
    ("weight_decay nan", lambda: TrainConfig(weight_decay=float("nan")), ValueError,
     "weight_decay"),
    ("weight_decay negative", lambda: TrainConfig(weight_decay=-1.0), ValueError,
     "weight_decay"),
    ("schedule unknown", lambda: TrainConfig(schedule="step"), ValueError, "schedule"),
    ("warmup_fraction nan", lambda: TrainConfig(warmup_fraction=float("nan")), ValueError,
     "warmup_fraction"),
    ("label_smoothing text", lambda: TrainConfig(label_smoothing="0.1"), TypeError,
     "label_smoothing"),
    ("grad_clip inf", lambda: TrainConfig(grad_clip=float("inf")), ValueError, "grad_clip"),
    ("grad_clip 0", lambda: TrainConfig(grad_clip=0.0), ValueError, "grad_clip"),
    ("mixup_alpha inf", lambda: TrainConfig(mixup_alpha=float("inf")), ValueError,
     "mixup_alpha"),
    ("channels_last 1", lambda: TrainConfig(channels_last=1), TypeError, "channels_last"),
    ("progress text", lambda: TrainConfig(progress="no"), TypeError, "progress"),
    ("description number", lambda: TrainConfig(description=3), TypeError, "description"),
    ("momentum with adamw", lambda: TrainConfig(optimizer="adamw", momentum=0.9), ValueError,
     "momentum"),
    ("warmup_fraction 1", lambda: TrainConfig(warmup_fraction=1.0), ValueError,
     "warmup_fraction"),
    ("grad_clip text", lambda: TrainConfig(grad_clip="1"), TypeError, "grad_clip"),
    ("schedule number", lambda: TrainConfig(schedule=3), ValueError, "schedule"),
    ("schedule name", lambda: schedule_multiplier("step", 1, 10), ValueError, "schedule"),
    ("schedule step float", lambda: schedule_multiplier("linear", 1.5, 10), TypeError, "step"),
    ("schedule step past end", lambda: schedule_multiplier("linear", 20, 10), ValueError,
     "step"),
    ("schedule step negative", lambda: schedule_multiplier("linear", -1, 10), ValueError,
     "step"),
    ("schedule total text", lambda: schedule_multiplier("linear", 1, "10"), TypeError,
     "total_steps"),
    ("schedule total 0", lambda: schedule_multiplier("linear", 0, 0), ValueError,
     "total_steps"),
    ("schedule warmup too long", lambda: schedule_multiplier("linear", 0, 10, 10), ValueError,
     "warmup_steps"),
    ("mixup alpha inf", lambda: mixup_batch(torch.zeros(2, 2), torch.zeros(2), float("inf")),
     ValueError, "alpha"),
    ("mixup alpha 0", lambda: mixup_batch(torch.zeros(2, 2), torch.zeros(2), 0.0), ValueError,
     "alpha"),
    ("mixup inputs list", lambda: mixup_batch([[0.0]], torch.zeros(1), 1.0), TypeError,
     "inputs"),
    ("mixup integer inputs", lambda: mixup_batch(torch.zeros(2, 2, dtype=torch.long),
                                                 torch.zeros(2), 1.0), TypeError, "inputs"),
    ("mixup targets shape", lambda: mixup_batch(torch.zeros(2, 2), torch.zeros(3), 1.0),
     ValueError, "targets"),
    ("evaluate model text", lambda: evaluate("m", batches()), TypeError, "model"),
    ("evaluate empty", lambda: evaluate(model(), []), ValueError, "loader"),
    ("train model text", lambda: train("m", batches(), TrainConfig(**QUIET)), TypeError,
     "model"),
    ("train config dict", lambda: train(model(), batches(), {"epochs": 1}), TypeError,
     "config"),
    ("train loader empty", lambda: train(model(), [], TrainConfig(**QUIET)), ValueError,
     "train_loader"),
    ("train loader no len", lambda: train(model(), iter(batches()), TrainConfig(**QUIET)),
     TypeError, "train_loader"),
    ("eval steps float", lambda: train(model(), batches(), TrainConfig(epochs=1, **QUIET),
                                       val_loader=batches(), eval_at_steps=[1.0]), TypeError,
     "eval_at_steps"),
    ("eval steps past end", lambda: train(model(), batches(), TrainConfig(epochs=1, **QUIET),
                                          val_loader=batches(), eval_at_steps=[5]), ValueError,
     "eval_at_steps"),
    ("eval steps no val", lambda: train(model(), batches(), TrainConfig(epochs=1, **QUIET),
                                        eval_at_steps=[1]), ValueError, "val_loader"),
]


@pytest.mark.parametrize("call, error, name", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_named(call, error, name):
    with pytest.raises(error) as raised:
        call()
    assert name in str(raised.value), str(raised.value)


def test_a_refused_training_leaves_the_model_as_it_was():
    net = model()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(ValueError, match="eval_at_steps"):
        train(net, batches(), TrainConfig(epochs=1, **QUIET), val_loader=batches(),
              eval_at_steps=[5])
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())


def test_valid_schedules_still_end_at_total_steps():
    assert schedule_multiplier("linear", 10, 10) == 0.0
    assert schedule_multiplier("constant", 3, 10, 2) == 1.0


def sgd():
    return torch.optim.SGD(model().parameters(), lr=0.1)


@pytest.mark.parametrize("call, error, name", [
    (lambda: make_optimizer(nn.ReLU(), TrainConfig()), ValueError, "model"),
    (lambda: make_scheduler(sgd(), TrainConfig(schedule=lambda s, t: float("nan")), 10),
     ValueError, "schedule"),
    (lambda: make_scheduler(sgd(), TrainConfig(schedule=lambda s, t: -1.0), 10), ValueError,
     "schedule"),
    (lambda: make_scheduler(sgd(), TrainConfig(schedule=lambda s, t: "x"), 10), ValueError,
     "schedule"),
    (lambda: make_scheduler(sgd(), TrainConfig(), float("nan")), TypeError, "total_steps"),
    (lambda: make_optimizer("net", TrainConfig()), TypeError, "model"),
    (lambda: make_optimizer(model(), {"lr": 0.1}), TypeError, "config"),
    (lambda: make_scheduler("sgd", TrainConfig(), 10), TypeError, "optimizer"),
    (lambda: make_scheduler(sgd(), None, 10), TypeError, "config"),
    (lambda: make_scheduler(sgd(), TrainConfig(), 0), ValueError, "total_steps"),
    (lambda: make_scheduler(sgd(), TrainConfig(), 2.5), TypeError, "total_steps"),
    (lambda: make_scheduler(sgd(), TrainConfig(), True), TypeError, "total_steps"),
], ids=["optimizer no parameters", "schedule returns nan", "schedule returns negative",
        "schedule returns text", "scheduler steps nan", "optimizer model", "optimizer config", "scheduler optimizer", "scheduler config",
        "scheduler steps 0", "scheduler steps float", "scheduler steps bool"])
def test_optimizer_and_scheduler_name_bad_arguments(call, error, name):
    with pytest.raises(error, match=name):
        call()


def test_a_train_config_is_frozen_and_a_replaced_copy_is_checked_again():
    import dataclasses

    config = TrainConfig(epochs=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.lr = -1.0  # would train with a negative rate if it were allowed
    with pytest.raises(ValueError, match="lr"):
        dataclasses.replace(config, lr=-1.0)
    assert config.lr == 0.1 and dataclasses.replace(config, epochs=3).epochs == 3


def test_a_numpy_integer_epoch_count_is_stored_as_an_int():
    import numpy as np

    config = TrainConfig(epochs=np.int64(3))
    assert config.epochs == 3 and type(config.epochs) is int
