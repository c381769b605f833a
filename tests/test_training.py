import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from effnotes.training import (TrainConfig, evaluate, make_scheduler, make_optimizer,
                               mixup_batch, schedule_multiplier, train)


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
    ("epochs", 0), ("lr", 0.0), ("optimizer", "lion"), ("momentum", 1.0),
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


def test_new_options_are_checked():
    for field, value in (("mixup_alpha", -0.1), ("mixup_alpha", math.nan)):
        with pytest.raises(ValueError, match=field):
            TrainConfig(**{field: value})
    with pytest.raises(TypeError, match="channels_last"):  # a type error: 1 is no bool
        TrainConfig(channels_last=1)


def test_mixup_batch_blends_and_reports_its_weight():
    torch.manual_seed(0)
    inputs = torch.arange(8, dtype=torch.float32).reshape(4, 2)
    targets = torch.tensor([0, 1, 2, 3])
    mixed, other, lam = mixup_batch(inputs, targets, alpha=0.4)
    assert 0 <= lam <= 1 and mixed.shape == inputs.shape and sorted(other.tolist()) == [0, 1, 2, 3]
    partner = inputs[other]  # targets are the row indices here, so they name each partner
    assert torch.allclose(mixed, lam * inputs + (1 - lam) * partner)
    with pytest.raises(ValueError, match="alpha"):
        mixup_batch(inputs, targets, alpha=0.0)
    with pytest.raises(TypeError, match="floating point"):
        mixup_batch(targets.reshape(4, 1), targets, alpha=0.4)
    with pytest.raises(ValueError, match=r"shape \(n,\)"):
        mixup_batch(inputs, targets[:3], alpha=0.4)


def _image_problem(n=64):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, 1, 4, 4, generator=generator)
    y = (x.mean(dim=(1, 2, 3)) > 0).long()
    return TensorDataset(x, y)


def _small_cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 2))


def test_step_evaluations_are_taken_mid_epoch_and_kept_out_of_training_time():
    data = _image_problem()
    loader = DataLoader(data, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0))
    history = train(_small_cnn(), loader, TrainConfig(epochs=2, lr=0.1, progress=False),
                    val_loader=DataLoader(data, batch_size=64), eval_at_steps=[2, 4, 7])
    evals = history.evaluations_frame()
    assert evals["step"].tolist() == [2, 4, 7] and evals["epoch"].tolist() == [1, 1, 2]
    assert evals["train_time_s"].is_monotonic_increasing and (evals["eval_s"] > 0).all()
    assert evals["train_time_s"].iloc[-1] < history.train_time_s
    frame = history.to_frame()
    # epoch 1 ends at step 4, which was evaluated; epoch 2 ends at step 8, which was not
    assert frame["val_accuracy"].notna().tolist() == [True, False]
    assert len(history.lrs) == 8


def test_evaluating_does_not_change_training():
    """Even with MixUp drawing from torch's global generator, evaluations leave the run alone."""
    data = _image_problem()

    def run(eval_at):
        torch.manual_seed(3)
        loader = DataLoader(data, batch_size=16, shuffle=True,
                            generator=torch.Generator().manual_seed(0))
        model = _small_cnn()
        history = train(model, loader, TrainConfig(epochs=2, lr=0.1, mixup_alpha=0.4,
                                                   progress=False),
                        val_loader=DataLoader(data, batch_size=8), eval_at_steps=eval_at)
        return history.to_frame()["train_loss"].tolist()

    assert run([8]) == run([1, 2, 3, 5, 8])


def test_channels_last_trains_the_same_model():
    data = _image_problem()

    def run(channels_last):
        loader = DataLoader(data, batch_size=16, shuffle=True,
                            generator=torch.Generator().manual_seed(0))
        model = _small_cnn()
        train(model, loader, TrainConfig(epochs=1, lr=0.1, channels_last=channels_last,
                                         progress=False))
        return model, evaluate(model, DataLoader(data, batch_size=64))["loss"]

    model, loss = run(True)
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert loss == pytest.approx(run(False)[1], rel=1e-4)
    with pytest.raises(ValueError, match=r"\(n, c, h, w\)"):
        train(nn.Linear(4, 2), DataLoader(toy_problem(), batch_size=64),
              TrainConfig(epochs=1, channels_last=True, progress=False))


def test_step_evaluation_errors():
    data = _image_problem()
    loader = DataLoader(data, batch_size=16)
    val = DataLoader(data, batch_size=64)
    with pytest.raises(ValueError, match="needs a val_loader"):
        train(_small_cnn(), loader, TrainConfig(progress=False, epochs=1), eval_at_steps=[1])
    with pytest.raises(ValueError, match=r"\[1, total_steps=4\]"):
        train(_small_cnn(), loader, TrainConfig(progress=False, epochs=1), val_loader=val,
              eval_at_steps=[5])
    with pytest.raises(TypeError, match="integers"):
        train(_small_cnn(), loader, TrainConfig(progress=False, epochs=1), val_loader=val,
              eval_at_steps=[1.5])
