import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from effnotes.training import (TrainConfig, evaluate, make_scheduler, make_optimizer,
                               schedule_multiplier, train)


def toy_problem(n=256, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=generator)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return TensorDataset(x, y)


def test_schedule_shapes():
    assert schedule_multiplier("constant", 50, 100) == 1.0
    assert schedule_multiplier("linear", 0, 100) == 1.0
    assert schedule_multiplier("linear", 50, 100) == pytest.approx(0.5)
    assert schedule_multiplier("cosine", 50, 100) == pytest.approx(0.5)
    assert schedule_multiplier("cosine", 100, 100) == pytest.approx(0.0, abs=1e-12)
    # warm-up rises linearly and reaches 1 when it ends
    ramps = [schedule_multiplier("linear", s, 100, warmup_steps=4) for s in range(5)]
    assert ramps[:4] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert ramps[4] == pytest.approx(1.0)


@pytest.mark.parametrize("args, message", [
    (("square", 0, 10), "unknown schedule"),
    (("linear", 0, 0), "total_steps"),
    (("linear", 0, 10, 10), "warmup_steps"),
])
def test_schedule_errors(args, message):
    with pytest.raises(ValueError, match=message):
        schedule_multiplier(*args)


@pytest.mark.parametrize("field, value", [
    ("epochs", 0), ("epochs", 2.5), ("lr", 0.0), ("optimizer", "lion"), ("momentum", 1.0),
    ("weight_decay", -1.0), ("schedule", "step"), ("warmup_fraction", 1.0),
    ("label_smoothing", -0.1), ("grad_clip", 0.0),
])
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_scheduler_follows_config_and_callable():
    model = nn.Linear(2, 2)
    config = TrainConfig(lr=1.0, schedule="linear")
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config, total_steps=4)
    rates = []
    for _ in range(4):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates == pytest.approx([1.0, 0.75, 0.5, 0.25])
    halving = TrainConfig(lr=1.0, schedule=lambda step, total: 0.5 ** step)
    optimizer = make_optimizer(model, halving)
    scheduler = make_scheduler(optimizer, halving, total_steps=10)
    optimizer.step()
    scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.5)


def test_optimizer_needs_parameters():
    frozen = nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        make_optimizer(frozen, TrainConfig())


def test_training_learns_and_times_its_parts():
    torch.manual_seed(0)
    data = toy_problem()
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    loader = DataLoader(data, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
    before = evaluate(model, DataLoader(data, batch_size=128))
    history = train(model, loader, TrainConfig(epochs=5, lr=0.1, momentum=0.9, progress=False),
                    val_loader=DataLoader(data, batch_size=128))
    frame = history.to_frame()
    assert len(frame) == 5 and frame["steps"].eq(8).all() and frame["samples"].eq(256).all()
    assert history.final.val_accuracy > 0.9 > before["accuracy"]
    assert frame["train_loss"].iloc[-1] < frame["train_loss"].iloc[0]
    # the parts are disjoint pieces of the epoch
    assert (frame["data_wait_s"] + frame["compute_s"] <= frame["epoch_s"] + 1e-6).all()
    assert (frame[["data_wait_s", "compute_s", "eval_s"]] > 0).all().all()
    assert history.train_time_s == pytest.approx(frame["epoch_s"].sum())
    assert frame["train_time_s"].is_monotonic_increasing


def test_same_seed_same_training():
    def run():
        torch.manual_seed(1)
        model = nn.Linear(4, 2)
        loader = DataLoader(toy_problem(), batch_size=16, shuffle=True,
                            generator=torch.Generator().manual_seed(1))
        return train(model, loader, TrainConfig(epochs=2, progress=False)).to_frame()["train_loss"]

    assert run().tolist() == run().tolist()


def test_train_rejects_bad_loaders():
    model = nn.Linear(4, 2)
    with pytest.raises(TypeError, match="len"):
        train(model, (b for b in []), TrainConfig(progress=False))
    with pytest.raises(ValueError, match="empty"):
        train(model, [], TrainConfig(progress=False))
    with pytest.raises(ValueError, match="no samples"):
        evaluate(model, [])


def test_divergence_is_reported():
    data = toy_problem()
    model = nn.Linear(4, 2)
    with torch.no_grad():
        model.weight.fill_(math.inf)
    with pytest.raises(FloatingPointError, match="training loss"):
        train(model, DataLoader(data, batch_size=64), TrainConfig(epochs=1, progress=False))
