import math

import pytest
import torch
from torch import nn

from effnotes.cyclic.readoff import troughs_from_rates
from effnotes.cyclic.schedule import CyclicSchedule, torch_reference_scheduler
from effnotes.training import TrainConfig, make_optimizer, make_scheduler


def rates_of(scheduler_factory, lr, steps):
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = scheduler_factory(optimizer)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


@pytest.mark.parametrize("warmup, first, m, lr_min, start", [
    (4, 5, 2, 0.01, 0.1), (0, 3, 3, 0.0, 0.0), (7, 2, 1, 0.02, 0.5), (10, 8, 2, 0.0, 1e-3)])
def test_matches_pytorchs_linear_warmup_then_warm_restarts(warmup, first, m, lr_min, start):
    schedule = CyclicSchedule(first_cycle=first, multiplier=m, warmup=warmup, lr_max=0.3,
                              lr_min=lr_min, warmup_start=start)
    ours = rates_of(schedule.lambda_lr, 0.3, 150)
    reference = rates_of(lambda opt: torch_reference_scheduler(opt, schedule), 0.3, 150)
    assert ours == pytest.approx(reference, abs=1e-6)
    assert ours == pytest.approx([schedule.lr(t) for t in range(150)], abs=1e-12)


def test_formula_and_troughs():
    s = CyclicSchedule(first_cycle=8, multiplier=2, warmup=8, lr_max=1.0)
    assert [s.lr(t) for t in (0, 4)] == pytest.approx([0.0, 0.5])  # the card's t / W warm-up
    assert s.lr(8) == 1.0 and s.lr(12) == pytest.approx(0.5)  # cycle 0: 8 steps
    assert [s.cycle_start(k) for k in range(4)] == [0, 8, 24, 56]
    assert s.lr(16) == 1.0 and s.lr(24) == pytest.approx(0.5)  # cycle 1 restarts, 16 steps
    # the paper's W = T0 = 8, m = 2: troughs at 16, 32, 64, ... 512
    assert s.trough_steps(512) == [16, 32, 64, 128, 256, 512]
    assert s.trough_steps(100) == [16, 32, 64] and s.trough_steps(100, include_end=True)[-1] == 100
    assert s.steps_for_cycles(6) == 512
    # a trough is the last step of a cycle (rate near lr_min), a restart follows it
    for t in s.trough_steps(512):
        assert s.lr(t - 1) < 0.05 and s.lr(t) == 1.0
    assert troughs_from_rates(s.rates(512)) == s.trough_steps(512)


def test_fractional_multiplier_and_m_equal_one():
    s = CyclicSchedule(first_cycle=4, multiplier=1.5, warmup=0)
    assert [s.cycle_start(k) for k in range(3)] == pytest.approx([0, 4, 10])
    assert s.trough_steps(40) == [4, 10, 19, 33]  # 19 = ceil(4 + 6 + 9 = 19); 33 = ceil(32.5)
    flat = CyclicSchedule(first_cycle=5, multiplier=1)
    assert flat.trough_steps(20) == [5, 10, 15, 20]


def test_standard_schedule_is_one_annealing_to_the_budget():
    s = CyclicSchedule(first_cycle=8, multiplier=2, warmup=8, lr_max=0.2, lr_min=0.01)
    standard = s.standard(40)
    assert standard.trough_steps(40) == [40]
    assert [standard.lr(t) for t in range(8)] == [s.lr(t) for t in range(8)]
    assert standard.lr(8) == 0.2 and standard.lr(39) == pytest.approx(0.01, abs=1e-3)
    # at the first trough the two schedules are the same one
    assert s.standard(16).rates(16) == s.rates(16)


def test_plugs_into_trainconfig():
    s = CyclicSchedule(first_cycle=3, multiplier=2, warmup=2, lr_max=0.5)
    model = nn.Linear(2, 2)
    config = TrainConfig(lr=0.5, schedule=s)
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config, total_steps=11)
    seen = []
    for _ in range(11):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert seen == pytest.approx(s.rates(11))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"first_cycle": 0}, ValueError, "T0"), ({"first_cycle": -3}, ValueError, "T0"),
    ({"first_cycle": 2.5}, TypeError, "T0"),
    ({"first_cycle": 4, "multiplier": 0.5}, ValueError, "multiplier"),
    ({"first_cycle": 4, "multiplier": math.inf}, ValueError, "multiplier"),
    ({"first_cycle": 4, "warmup": -1}, ValueError, "warmup"),
    ({"first_cycle": 4, "lr_max": 0.0}, ValueError, "lr_max"),
    ({"first_cycle": 4, "lr_min": 2.0}, ValueError, "lr_min"),
    ({"first_cycle": 4, "warmup_start": 1.5}, ValueError, "warmup_start"),
])
def test_bad_schedules_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        CyclicSchedule(**kwargs)


def test_budget_must_outlast_the_warmup():
    s = CyclicSchedule(first_cycle=4, warmup=10)
    with pytest.raises(ValueError, match="not longer than the warm-up"):
        s(0, 10)
    with pytest.raises(ValueError, match="not longer than the warm-up"):
        s.standard(8)
    with pytest.raises(ValueError, match="step must be"):
        s.lr(-1)
    with pytest.raises(ValueError, match="n_cycles"):
        s.steps_for_cycles(0)


def test_optimizer_rate_must_be_lr_max():
    s = CyclicSchedule(first_cycle=4, lr_max=0.1)
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.2)
    with pytest.raises(ValueError, match="lr_max is 0.1"):
        s.lambda_lr(optimizer)
    with pytest.raises(ValueError, match="integer multiplier"):
        torch_reference_scheduler(torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0),
                                  CyclicSchedule(first_cycle=4, multiplier=1.5))
    with pytest.raises(ValueError, match="warmup_start > 0"):
        torch_reference_scheduler(torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0),
                                  CyclicSchedule(first_cycle=4, warmup=2))


def test_largest_difference_from_torch():
    from effnotes.cyclic.schedule import largest_difference_from_torch

    s = CyclicSchedule(first_cycle=5, multiplier=2, warmup=3, lr_max=0.2, warmup_start=0.1)
    assert largest_difference_from_torch(s, 60) < 1e-12
    with pytest.raises(ValueError, match="warmup_start > 0"):
        largest_difference_from_torch(CyclicSchedule(first_cycle=5, warmup=3), 60)
