"""Bad input to effnotes.cyclic (schedule, read-off, comparison and plots): each case raises the named error type
and the message names the argument that is wrong."""

import numpy as np
import pandas as pd
import pytest
import torch

from effnotes.cyclic import compare, plots
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
    ("first_cycle float", lambda: schedule(first_cycle=3.0), TypeError, "first_cycle"),
    ("first_cycle 0", lambda: schedule(first_cycle=0), ValueError, "first_cycle"),
    ("first_cycle bool", lambda: schedule(first_cycle=True), TypeError, "first_cycle"),
    ("warmup float", lambda: schedule(warmup=2.0), TypeError, "warmup"),
    ("multiplier text", lambda: schedule(multiplier="2"), TypeError, "multiplier"),
    ("multiplier bool", lambda: schedule(multiplier=True), TypeError, "multiplier"),
    ("multiplier nan", lambda: schedule(multiplier=float("nan")), ValueError, "multiplier"),
    ("lr_min nan", lambda: schedule(lr_min=float("nan")), ValueError, "lr_min"),
    ("cycle_start float", lambda: schedule().cycle_start(1.0), TypeError, "cycle index"),
    ("cycle_start negative", lambda: schedule().cycle_start(-1), ValueError, "cycle index"),
    ("n_cycles float", lambda: schedule().steps_for_cycles(2.0), TypeError, "n_cycles"),
    ("budget bool", lambda: schedule().rates(True), TypeError, "total_steps"),
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
    ("lr step float", lambda: schedule().lr(2.0), TypeError, "step"),
    ("lr step negative", lambda: schedule().lr(-1), ValueError, "step"),
    ("call step negative", lambda: schedule()(-1, 10), ValueError, "step"),
    ("call step float", lambda: schedule()(2.0, 10), TypeError, "step"),
    ("call step text", lambda: schedule()("2", 10), TypeError, "step"),
    ("call step past the end", lambda: schedule()(11, 10), ValueError, "step"),
    ("cycle_index float", lambda: schedule().cycle_index(2.5), TypeError, "step"),
    ("cycle_index text", lambda: schedule().cycle_index("2"), TypeError, "step"),
    ("cycle_length float", lambda: schedule().cycle_length(1.0), TypeError, "cycle index"),
    ("budget 0", lambda: schedule().rates(0), ValueError, "total_steps"),
    ("budget in warm-up", lambda: schedule(warmup=5).trough_steps(5), ValueError, "warm-up"),
    ("call budget in warm-up", lambda: schedule(warmup=5)(1, 5), ValueError, "total_steps"),
    ("call budget text", lambda: schedule()(1, "10"), TypeError, "total_steps"),
    ("standard budget in warm-up", lambda: schedule(warmup=5).standard(3), ValueError,
     "total_steps"),
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
    assert schedule(first_cycle=np.int64(3), warmup=np.int64(1)).rates(8) == \
        schedule(warmup=1).rates(8)
    assert evaluation_steps(np.array([2, 5]), 10, every=1, window=0) == [2, 5]


def test_call_accepts_every_step_of_the_run_and_its_end():
    cyclic = schedule(warmup=2)
    assert [cyclic(step, 10) for step in (0, 9, 10)] == [cyclic.factor(s) for s in (0, 9, 10)]
    assert cyclic(np.int64(3), 10) == cyclic.factor(3)


# --- compare and plots: the tidy frames of run_comparison ---------------------------------


def points_frame(seeds=3, budgets=(1, 2, 3, 4), methods=("baseline", "wider")):
    rng = np.random.default_rng(1)
    rows = [{"method": m, "seed": s, "kind": k, "budget_epochs": b, "train_time_s": float(b),
             "val_accuracy": 0.5 + 0.05 * b + 0.01 * rng.normal()}
            for m in methods for s in range(seeds) for k in compare.KINDS for b in budgets]
    return pd.DataFrame(rows)


POINTS = points_frame()
RUNS = POINTS.groupby(["method", "seed", "kind"], as_index=False)["train_time_s"].sum()
TRACE = pd.DataFrame({"step": [1, 2, 3], "val_accuracy": [0.5, 0.6, 0.7], "lr": [0.1, 0.2, 0.3]})


def with_cell(frame, column, value, row=0):
    frame = frame.copy()
    frame[column] = frame[column].astype(object) if isinstance(value, str) else frame[column]
    frame.loc[frame.index[row], column] = value
    return frame


def plot_into_axes(call):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        return call(ax)
    finally:
        plt.close(fig)


COMPARE_CASES = [
    ("points a list", lambda: compare.curve_gaps(POINTS.to_dict("records")), TypeError,
     "points must be a pandas DataFrame"),
    ("points empty", lambda: compare.curve_gaps(POINTS.iloc[:0]), ValueError, "points has no rows"),
    ("points no seed", lambda: compare.effect_summary(POINTS.drop(columns="seed")), KeyError,
     "seed"),
    ("accuracy nan", lambda: compare.curve_gaps(with_cell(POINTS, "val_accuracy", np.nan, 5)),
     ValueError, "points['val_accuracy'] must be finite and >= 0 and <= 1: row 5"),
    ("accuracy in percent", lambda: compare.method_differences(
        with_cell(POINTS, "val_accuracy", 87.0)), ValueError, "points['val_accuracy']"),
    ("accuracy text", lambda: compare.curve_gaps(with_cell(POINTS, "val_accuracy", "0.9")),
     TypeError, "points['val_accuracy'] must hold numbers"),
    ("time negative", lambda: compare.curve_gaps(with_cell(POINTS, "train_time_s", -1.0)),
     ValueError, "points['train_time_s']"),
    ("budget 0", lambda: compare.curve_gaps(with_cell(POINTS, "budget_epochs", 0)), ValueError,
     "points['budget_epochs'] must be finite and > 0"),
    ("seed negative", lambda: compare.effect_summary(with_cell(POINTS, "seed", -1)),
     ValueError, "points['seed']"),
    ("one kind", lambda: compare.curve_gaps(POINTS[POINTS["kind"] == "cyclic"]), ValueError,
     "both kinds"),
    ("missing budget", lambda: compare.method_differences(
        POINTS.drop(POINTS.index[(POINTS["method"] == "wider") & (POINTS["budget_epochs"] == 3)
                                 & (POINTS["kind"] == "standard")])),
     ValueError, "no standard point of method 'wider' at budget 3"),
    ("baseline not text", lambda: compare.method_differences(POINTS, baseline=0), TypeError,
     "baseline"),
    ("baseline absent", lambda: compare.pooled_correlation(POINTS, baseline="none"), ValueError,
     "baseline"),
    ("skip_first text", lambda: compare.method_differences(POINTS, skip_first="no"), TypeError,
     "skip_first"),
    ("one seed", lambda: compare.effect_summary(POINTS[POINTS["seed"] == 0]), ValueError,
     "one seed"),
    ("runs empty", lambda: compare.cost_saving(RUNS.iloc[:0]), ValueError, "runs has no rows"),
    ("runs nan time", lambda: compare.pair_savings(with_cell(RUNS, "train_time_s", np.nan)),
     ValueError, "runs['train_time_s']"),
    ("runs zero cyclic time", lambda: compare.cost_saving(RUNS.assign(train_time_s=0.0)),
     ValueError, "0 s of training"),
    ("runs one kind", lambda: compare.cost_saving(RUNS[RUNS["kind"] == "standard"]),
     ValueError, "both kinds"),
    ("n_boot float", lambda: compare.bootstrap_correlation(POINTS, n_boot=150.5), TypeError,
     "n_boot"),
    ("n_boot negative", lambda: compare.bootstrap_correlation(POINTS, n_boot=-5), ValueError,
     "n_boot"),
    ("confidence text", lambda: compare.bootstrap_correlation(POINTS, n_boot=100,
                                                              confidence="0.9"),
     TypeError, "confidence"),
    ("bootstrap seed float", lambda: compare.bootstrap_correlation(POINTS, n_boot=100,
                                                                   seed=0.5),
     TypeError, "seed"),
    ("n_sim 0", lambda: compare.chance_of_exceeding(3, n_sim=0), ValueError, "n_sim"),
    ("threshold text", lambda: compare.chance_of_exceeding(3, "2"), TypeError, "threshold"),
    ("threshold inf", lambda: compare.chance_of_exceeding(3, float("inf")), ValueError,
     "threshold"),
    ("level text", lambda: compare.agreement_checks(POINTS, level="0.95"), TypeError, "level"),
    ("threshold_sd 0", lambda: compare.agreement_checks(POINTS, threshold_sd=0), ValueError,
     "threshold_sd"),
    ("strong_z nan", lambda: compare.agreement_checks(POINTS, strong_z=float("nan")),
     ValueError, "strong_z"),
    ("checks not a dict", lambda: compare.describe_agreement([]), TypeError, "checks"),
    ("checks incomplete", lambda: compare.describe_agreement({"n_later": 3}), KeyError,
     "checks lacks"),
]

PLOT_CASES = [
    ("schedule text", lambda ax: plots.plot_schedule("cosine", 10, ax=ax), TypeError,
     "schedule"),
    ("steps_per_unit 0", lambda ax: plots.plot_schedule(schedule(), 10, steps_per_unit=0, ax=ax),
     ValueError, "steps_per_unit"),
    ("steps_per_unit nan", lambda ax: plots.plot_schedule(schedule(), 10,
                                                          steps_per_unit=float("nan"), ax=ax),
     ValueError, "steps_per_unit"),
    ("trace no lr", lambda ax: plots.plot_trace(TRACE.drop(columns="lr"), TRACE, 2, ax=ax),
     KeyError, "trace lacks"),
    ("trace empty", lambda ax: plots.plot_trace(TRACE.iloc[:0], TRACE, 2, ax=ax), ValueError,
     "trace has no rows"),
    ("trace nan", lambda ax: plots.plot_trace(with_cell(TRACE, "lr", np.nan), TRACE, 2, ax=ax),
     ValueError, "trace['lr']"),
    ("steps_per_epoch 0", lambda ax: plots.plot_trace(TRACE, TRACE, 0, ax=ax), ValueError,
     "steps_per_epoch"),
    ("methods text", lambda ax: plots.plot_curves(POINTS, "wider"), TypeError, "methods"),
    ("methods unknown", lambda ax: plots.plot_curves(POINTS, ["deeper"]), ValueError, "methods"),
    ("methods empty", lambda ax: plots.plot_curves(POINTS, []), ValueError, "methods"),
    ("ncols 0", lambda ax: plots.plot_curves(POINTS, ["wider"], ncols=0), ValueError, "ncols"),
    ("curves nan", lambda ax: plots.plot_curves(with_cell(POINTS, "val_accuracy", np.nan),
                                                ["wider"]), ValueError, "val_accuracy"),
    ("effects empty", lambda ax: plots.plot_effects(
        compare.method_differences(POINTS).iloc[:0], ax=ax), ValueError, "differences"),
    ("effects nan", lambda ax: plots.plot_effects(
        with_cell(compare.method_differences(POINTS), "cyclic_diff", np.nan), ax=ax),
     ValueError, "differences['cyclic_diff']"),
    ("accuracy_table one kind", lambda ax: plots.accuracy_table(
        POINTS[POINTS["kind"] == "standard"]), ValueError, "both kinds"),
    ("gap_table columns", lambda ax: plots.gap_table(pd.DataFrame({"gap": [0.1]})), KeyError,
     "gaps lacks"),
    ("window_table empty", lambda ax: plots.window_table(compare.curve_gaps(POINTS),
                                                         compare.curve_gaps(POINTS).iloc[:0]),
     ValueError, "one_sided has no rows"),
    ("effects_table columns", lambda ax: plots.effects_table(pd.DataFrame({"z": [1.0]})),
     KeyError, "effects lacks"),
]


@pytest.mark.parametrize("call, error, message", [c[1:] for c in COMPARE_CASES],
                         ids=[c[0] for c in COMPARE_CASES])
def test_bad_comparison_input_is_named(call, error, message):
    with pytest.raises(error) as raised:
        call()
    assert message in str(raised.value), str(raised.value)


@pytest.mark.parametrize("call, error, message", [c[1:] for c in PLOT_CASES],
                         ids=[c[0] for c in PLOT_CASES])
def test_bad_plot_input_is_named(call, error, message):
    with pytest.raises(error) as raised:
        plot_into_axes(call)
    assert message in str(raised.value), str(raised.value)


def test_valid_frames_still_compare_and_plot():
    import matplotlib.pyplot as plt

    assert set(compare.curve_gaps(POINTS).index.get_level_values("method")) == {"baseline",
                                                                                "wider"}
    assert np.isfinite(compare.effect_summary(POINTS)["se"]).all()
    assert compare.cost_saving(RUNS).loc["all"] == pytest.approx(1.0)
    assert 0 <= compare.chance_of_exceeding(np.int64(3), np.float32(2.0), n_sim=1000) <= 1
    plt.close(plots.plot_curves(POINTS, ("wider",)))
    plot_into_axes(lambda ax: plots.plot_trace(TRACE, TRACE, np.int64(2), ax=ax))
    assert len(plots.gap_table(compare.curve_gaps(POINTS).reset_index())) == 8
