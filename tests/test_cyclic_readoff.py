import numpy as np
import pandas as pd
import pytest

from effnotes.cyclic.compare import (bootstrap_correlation, chance_of_exceeding, cost_saving,
                                     curve_gaps, effect_summary, method_differences, pair_savings,
                                     pooled_correlation)
from effnotes.cyclic.readoff import (curve_from_points, evaluation_steps, reread_runs,
                                     sweep_from_points, trough_points, troughs_from_rates)
from effnotes.tradeoff import SeedSweep, TradeoffCurve


def test_evaluation_grid():
    assert evaluation_steps([10, 30], 30, every=4, window=2) == [2, 6, 10, 14, 18, 22, 26, 30]
    assert evaluation_steps([3], 5, every=2, window=3) == [1, 3, 5]
    with pytest.raises(ValueError, match="beyond"):
        evaluation_steps([40], 30, every=4, window=1)
    with pytest.raises(ValueError, match="increasing"):
        evaluation_steps([10, 10], 30, every=4, window=1)
    with pytest.raises(ValueError, match="every"):
        evaluation_steps([10], 30, every=0, window=1)
    with pytest.raises(ValueError, match="window"):
        evaluation_steps([10], 30, every=2, window=-1)


def test_troughs_from_rates():
    rates = [0.0, 0.5, 1.0, 0.5, 0.1, 1.0, 0.7, 0.3, 0.05, 1.0, 0.9]
    assert troughs_from_rates(rates) == [5, 9, 11]
    assert troughs_from_rates([1.0, 0.5, 0.0]) == [3]
    with pytest.raises(ValueError, match="1-D"):
        troughs_from_rates([1.0])
    with pytest.raises(ValueError, match="NaN"):
        troughs_from_rates([1.0, np.nan, 0.0])


def evals_frame():
    steps = np.arange(2, 31, 2)
    accuracy = np.array([.5, .6, .7, .8, .75, .6, .7, .8, .85, .9, .88, .8, .85, .9, .95])
    return pd.DataFrame({"step": steps, "train_time_s": steps * 0.1, "val_accuracy": accuracy})


def test_trough_points_take_the_best_within_the_window():
    points = trough_points(evals_frame(), [8, 20, 30], every=2, window=1)
    assert points["step"].tolist() == [8, 20, 30]
    # trough 8: evaluations at 6, 8, 10 -> best 0.8; at 20: 18, 20, 22 -> 0.9; 30: 28, 30
    assert points["val_accuracy"].tolist() == pytest.approx([0.8, 0.9, 0.95])
    assert points["train_time_s"].tolist() == pytest.approx([0.8, 2.0, 3.0])
    assert points["n_evals"].tolist() == [3, 3, 2]
    before = trough_points(evals_frame(), [8, 20], every=2, window=1, after=False)
    assert before["val_accuracy"].tolist() == pytest.approx([0.8, 0.9]) and before["n_evals"].eq(2).all()
    assert trough_points(evals_frame(), [10], every=2, window=1, after=False)["val_accuracy"].item() == 0.8
    wide = trough_points(evals_frame(), [8], every=2, window=3)
    assert wide["val_accuracy"].item() == pytest.approx(0.8) and wide["n_evals"].item() == 7
    # off-grid evaluations (an epoch-end trace, say) do not count
    extra = pd.concat([evals_frame(), pd.DataFrame({"step": [7], "train_time_s": [0.7],
                                                    "val_accuracy": [0.99]})])
    assert trough_points(extra, [8], every=2, window=1)["val_accuracy"].item() == pytest.approx(0.8)
    curve = curve_from_points(points, label="cyclic")
    assert isinstance(curve, TradeoffCurve) and curve.quality.tolist() == pytest.approx([.8, .9, .95])


def test_trough_points_errors():
    with pytest.raises(ValueError, match="not evaluated at trough step 9"):
        trough_points(evals_frame(), [9], every=2, window=1)
    with pytest.raises(KeyError, match="val_accuracy"):
        trough_points(evals_frame().drop(columns="val_accuracy"), [8], every=2, window=1)
    with pytest.raises(ValueError, match="empty"):
        trough_points(evals_frame(), [], every=2, window=1)


def toy_points(gap=0.0, n_seeds=3):
    """Two methods, three budgets; the method is +2 points better on both curves at budgets
    that grow, with seed noise; the cyclic curve is offset by ``gap``."""
    rng = np.random.default_rng(0)
    rows = []
    effect = {4: 0.0, 8: 0.01, 16: 0.02, 32: 0.04}
    for method in ("baseline", "better"):
        for seed in range(n_seeds):
            for kind in ("standard", "cyclic"):
                for trough, budget in enumerate((4, 8, 16, 32)):
                    accuracy = 0.9 + 0.002 * trough + rng.normal(0, 0.001)
                    accuracy += effect[budget] if method == "better" else 0.0
                    accuracy += gap if kind == "cyclic" else 0.0
                    rows.append({"method": method, "seed": seed, "kind": kind,
                                 "trough": trough, "budget_epochs": budget,
                                 "train_time_s": budget * (1.0 if kind == "standard" else 1.01),
                                 "val_accuracy": accuracy})
    return pd.DataFrame(rows)


def test_gaps_effects_and_correlations():
    points = toy_points()
    gaps = curve_gaps(points)
    assert gaps.loc[("baseline", 4), "first_budget"] and not gaps.loc[("baseline", 8), "first_budget"]
    assert (gaps["gap"].abs() < 0.005).all() and (gaps["pooled_sd"] > 0).all()
    diffs = method_differences(points)
    assert diffs["budget_epochs"].tolist() == [8, 16, 32]
    assert diffs["standard_diff"].to_numpy() == pytest.approx([0.01, 0.02, 0.04], abs=0.003)
    effects = effect_summary(points)
    assert effects.loc["better", "z"] > 2 and effects.loc["better", "correlation"] > 0.95
    assert pooled_correlation(points) == pytest.approx(effects.loc["better", "correlation"])
    boot = bootstrap_correlation(points, n_boot=200)
    assert boot.loc["better", "low"] > 0.8 and boot.loc["better", "fraction_defined"] == 1
    shifted = curve_gaps(toy_points(gap=0.02))
    assert (shifted["gap_in_sd"] > 2).all()
    sweep = sweep_from_points(points[(points.method == "better") & (points.kind == "cyclic")])
    assert isinstance(sweep, SeedSweep) and sweep.cost.shape == (3, 4)


def test_correlation_is_undefined_with_too_few_budgets():
    points = toy_points()
    short = points[points["budget_epochs"] <= 16]  # two budgets after the first
    assert np.isnan(effect_summary(short).loc["better", "correlation"])
    with pytest.raises(ValueError, match="baseline"):
        effect_summary(points, baseline="nope")
    with pytest.raises(ValueError, match="both kinds"):
        curve_gaps(points[points["kind"] == "cyclic"])


def test_cost_saving():
    runs = pd.DataFrame({"method": ["a", "a", "a", "b", "b", "b"],
                         "kind": ["cyclic", "standard", "standard"] * 2,
                         "train_time_s": [4.0, 2.0, 4.0, 8.0, 4.0, 10.0]})
    saving = cost_saving(runs)
    assert saving["a"] == pytest.approx(1.5) and saving["b"] == pytest.approx(14 / 8)
    assert saving["all"] == pytest.approx(20 / 12)
    with pytest.raises(KeyError, match="train_time_s"):
        cost_saving(runs.drop(columns="train_time_s"))
    pairs = pair_savings(runs.assign(seed=0))
    assert pairs.to_dict() == pytest.approx({("a", 0): 1.5, ("b", 0): 14 / 8})
    with pytest.raises(ValueError, match="needs a cyclic run"):
        pair_savings(runs.assign(seed=[0, 0, 1, 0, 0, 0]))


def test_chance_of_exceeding():
    three = chance_of_exceeding(3, n_sim=50_000)
    assert 0.03 < three < 0.12
    assert chance_of_exceeding(10, n_sim=50_000) < three < chance_of_exceeding(2, n_sim=50_000)
    with pytest.raises(ValueError, match="n_seeds"):
        chance_of_exceeding(1)
    with pytest.raises(ValueError, match="threshold"):
        chance_of_exceeding(3, 0.0)


def test_reread_runs():
    trace = pd.concat([evals_frame().assign(method="a", seed=0),
                       evals_frame().assign(method="a", seed=1)])
    points = reread_runs(trace, [10, 30], every=2, window=1, after=False, steps_per_epoch=5)
    assert len(points) == 4 and points["budget_epochs"].tolist() == [2, 6, 2, 6]
    assert points["val_accuracy"].tolist() == pytest.approx([0.8, 0.95, 0.8, 0.95])
    assert set(points["kind"]) == {"cyclic"}
    with pytest.raises(ValueError, match="steps_per_epoch"):
        reread_runs(trace, [10], every=2, window=1, steps_per_epoch=0)


def test_describe_agreement_reads_the_checks_into_one_sentence():
    from effnotes.cyclic.compare import describe_agreement

    checks = {"n_beyond": 1, "n_later": 24, "allowed_beyond": 2, "signs_agree": True,
              "effects_agree": True,
              "strong_correlations": {"label_smoothing": 0.91, "combined": 0.49}}
    text = describe_agreement(checks)
    assert text.startswith("1 of 24 (method, budget) pairs")
    assert "up to 2;" in text and "label smoothing (r = 0.91), combined (r = 0.49)" in text
    assert "cyclic curve agrees" in text and text.endswith("(r ≥ 0.8 for each) fails")
    checks.update(effects_agree=False, strong_correlations={})
    text = describe_agreement(checks)
    assert "errors are none" in text and "does not agree" in text and text.endswith("holds")
