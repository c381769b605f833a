import itertools

import numpy as np
import pandas as pd
import pytest

from effnotes.tradeoff import (SeedSweep, TradeoffCurve, amdahl_speedup, bootstrap_speedup,
                               pareto_mask, speedup_at)


def brute_force_pareto(cost, quality):
    keep = []
    for i in range(len(cost)):
        dominated = any(
            (cost[j] <= cost[i] and quality[j] > quality[i])
            or (cost[j] < cost[i] and quality[j] >= quality[i])
            or (cost[j] == cost[i] and quality[j] == quality[i] and j < i)
            for j in range(len(cost)))
        keep.append(not dominated)
    return np.array(keep)


@pytest.mark.parametrize("seed", range(20))
def test_pareto_mask_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    cost = rng.integers(1, 8, size=12).astype(float)
    quality = rng.integers(0, 6, size=12).astype(float)
    assert np.array_equal(pareto_mask(cost, quality), brute_force_pareto(cost, quality))


def test_cost_to_reach_interpolates_in_log_cost():
    curve = TradeoffCurve(cost=[1, 10, 100], quality=[0.5, 0.7, 0.9])
    assert curve.cost_to_reach(0.7) == pytest.approx(10)
    assert curve.cost_to_reach(0.8) == pytest.approx(np.sqrt(10 * 100))  # halfway in log cost
    assert curve.cost_to_reach(0.3) == pytest.approx(1)  # no extrapolation below the data
    assert curve.cost_to_reach(0.95) == np.inf


def test_cost_to_reach_ignores_dominated_points():
    # the 0.6 point at cost 50 is dominated by the 0.7 point at cost 10
    curve = TradeoffCurve(cost=[1, 10, 50, 100], quality=[0.5, 0.7, 0.6, 0.9])
    assert list(curve.frontier().cost) == [1, 10, 100]
    assert curve.cost_to_reach(0.8) == pytest.approx(np.sqrt(1000))


def test_speedup_of_a_curve_shifted_in_cost():
    base = TradeoffCurve(cost=[2, 4, 8, 16], quality=[0.6, 0.7, 0.8, 0.9])
    method = TradeoffCurve(cost=base.cost / 3, quality=base.quality)
    for target in (0.6, 0.65, 0.8, 0.9):
        assert speedup_at(base, method, target) == pytest.approx(3)
    assert np.isnan(speedup_at(base, method, 0.95))
    with pytest.raises(ValueError, match="cost units"):
        speedup_at(base, TradeoffCurve([1], [1], cost_unit="epochs"), 0.5)


@pytest.mark.parametrize("cost, quality, message", [
    ([], [], "at least one point"),
    ([1, 2], [0.1], "differ in length"),
    ([0, 1], [0.1, 0.2], "positive"),
    ([1, np.nan], [0.1, 0.2], "NaN"),
    ([[1, 2]], [[0.1, 0.2]], "one-dimensional"),
    (["a"], [0.1], "real numbers"),
])
def test_curve_rejects_bad_input(cost, quality, message):
    with pytest.raises((ValueError, TypeError), match=message):
        TradeoffCurve(cost, quality)


def sweep(factor, n_seeds, noise, seed, label):
    rng = np.random.default_rng(seed)
    budgets = np.array([1.0, 2, 4, 8, 16])
    quality = 1 - 0.5 / np.sqrt(budgets)
    return SeedSweep(budgets, np.tile(budgets / factor, (n_seeds, 1)),
                     quality + noise * rng.standard_normal((n_seeds, budgets.size)), label)


def test_bootstrap_interval_covers_the_true_speedup():
    base, method = sweep(1, 8, 0.005, 0, "base"), sweep(2.5, 8, 0.005, 1, "method")
    estimate = bootstrap_speedup(base, method, 0.8, n_boot=500, seed=0)
    assert estimate.low <= 2.5 <= estimate.high
    assert estimate.low < estimate.speedup < estimate.high
    assert estimate.fraction_defined == 1.0
    assert "x at quality 0.8" in str(estimate)


def test_bootstrap_without_noise_is_exact():
    base, method = sweep(1, 3, 0.0, 0, "base"), sweep(4, 3, 0.0, 0, "method")
    estimate = bootstrap_speedup(base, method, 0.8, n_boot=200)
    assert estimate.speedup == pytest.approx(4) and estimate.low == pytest.approx(4)
    assert estimate.high == pytest.approx(4)


def test_bootstrap_unreachable_target_is_nan_not_a_number():
    base, method = sweep(1, 3, 0.0, 0, "base"), sweep(2, 3, 0.0, 0, "method")
    estimate = bootstrap_speedup(base, method, 0.99, n_boot=200)
    assert np.isnan(estimate.speedup) and np.isnan(estimate.low) and estimate.fraction_defined == 0


def test_bootstrap_argument_checks():
    base = sweep(1, 3, 0.0, 0, "base")
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_speedup(base, base, 0.8, n_boot=10)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_speedup(base, base, 0.8, confidence=1.5)


def test_seed_sweep_from_frame_and_errors():
    rows = [{"seed": s, "budget": b, "cost": b * (1 + s), "quality": b / 10}
            for s, b in itertools.product(range(3), (1, 2, 4))]
    frame = pd.DataFrame(rows)
    built = SeedSweep.from_frame(frame, label="x")
    assert built.cost.shape == (3, 3) and built.n_seeds == 3
    assert built.mean_curve().cost.tolist() == pytest.approx([2, 4, 8])
    with pytest.raises(ValueError, match="every budget"):
        SeedSweep.from_frame(frame.iloc[1:])
    with pytest.raises(KeyError, match="lacks columns"):
        SeedSweep.from_frame(frame.drop(columns="quality"))
    with pytest.raises(ValueError, match="n_seeds, n_budgets"):
        SeedSweep(np.array([1.0, 2.0]), np.ones((2, 3)), np.ones((2, 3)))


def test_amdahl():
    assert amdahl_speedup(0.5, 2) == pytest.approx(4 / 3)
    assert amdahl_speedup(1.0, 7) == pytest.approx(7)
    assert amdahl_speedup(0.0, 100) == pytest.approx(1)
    assert amdahl_speedup(0.9, 1e12) == pytest.approx(10)
    with pytest.raises(ValueError, match="fraction"):
        amdahl_speedup(1.5, 2)
    with pytest.raises(ValueError, match="factor"):
        amdahl_speedup(0.5, 0)


def test_speedup_estimate_prose_with_and_without_its_interval():
    from effnotes.tradeoff import SpeedupEstimate

    estimate = SpeedupEstimate(target=2.5, speedup=1.484, low=1.441, high=1.523, confidence=0.95,
                               n_boot=1000, fraction_defined=1.0)
    assert estimate.prose() == "1.48× (95% interval 1.44–1.52)"
    assert estimate.prose(interval=False) == "1.48×"
    never = SpeedupEstimate(target=2.5, speedup=float("nan"), low=float("nan"),
                            high=float("nan"), confidence=0.95, n_boot=1000,
                            fraction_defined=0.0)
    assert never.prose() == "undefined (it never reached the target)"
