import numpy as np
import pandas as pd
import pytest

from effnotes.cyclic.runs import METHODS, CyclicSetup, Method, get_methods, run_comparison
from effnotes.data.digits import load_digits_split
from effnotes.models import BlurPool2d
from effnotes.runtime import torch_threads


def test_setup_budgets_and_predicted_saving():
    setup = CyclicSetup(warmup_epochs=1, first_cycle_epochs=1, multiplier=2, n_cycles=5)
    assert setup.trough_epochs() == [2, 4, 8, 16, 32]
    assert setup.predicted_saving() == pytest.approx(62 / 32)
    schedule = setup.schedule(17)
    assert schedule.warmup == 17 and schedule.first_cycle == 17 and schedule.lr_max == setup.lr
    assert CyclicSetup(warmup_epochs=8, first_cycle_epochs=8, n_cycles=6).trough_epochs() == [
        16, 32, 64, 128, 256, 512]


@pytest.mark.parametrize("kwargs, message", [
    ({"multiplier": 1}, "multiplier"), ({"multiplier": 2.5}, "multiplier"),
    ({"first_cycle_epochs": 0}, "first_cycle_epochs"), ({"warmup_epochs": -1}, "warmup_epochs"),
    ({"n_cycles": 0}, "n_cycles"), ({"window": -1}, "window"),
])
def test_setup_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CyclicSetup(**kwargs)


def test_methods():
    assert [m.name for m in get_methods(["baseline", "mixup"])] == ["baseline", "mixup"]
    with pytest.raises(KeyError, match="unknown methods"):
        get_methods(["baseline", "dropout"])
    with pytest.raises(ValueError, match="first method must be 'baseline'"):
        get_methods(["mixup", "baseline"])
    model = METHODS["blurpool"].build_model(4)
    assert any(isinstance(m, BlurPool2d) for m in model.modules())
    combined = METHODS["combined"]
    assert combined.label_smoothing > 0 and combined.mixup_alpha > 0 and combined.blurpool
    config = Method("x", label_smoothing=0.1, channels_last=True).train_config(
        CyclicSetup().train_config(3, CyclicSetup().schedule(5)))
    assert config.label_smoothing == 0.1 and config.channels_last and config.epochs == 3


@pytest.fixture(scope="module")
def tiny_comparison():
    setup = CyclicSetup(warmup_epochs=1, first_cycle_epochs=1, n_cycles=3, channels=4,
                        eval_every_steps=3, window=0)
    with torch_threads(1):  # a tiny model: extra threads only fight over a shared CPU
        frames = run_comparison(get_methods(["baseline", "mixup"]), [0, 1],
                                load_digits_split(seed=0), setup, progress=False)
    return setup, frames


def test_run_comparison_frames(tiny_comparison):
    setup, frames = tiny_comparison
    points, runs, trace = frames["points"], frames["runs"], frames["trace"]
    assert len(points) == 2 * 2 * 2 * 3 and set(points["budget_epochs"]) == {2, 4, 8}
    assert len(runs) == 2 * 2 * 4
    cyclic = runs[runs["kind"] == "cyclic"]
    assert (cyclic["budget_epochs"] == 8).all() and (runs["train_time_s"] > 0).all()
    # cyclic points are times along one run; a standard point is a whole run's time
    one = points[(points.kind == "cyclic") & (points.method == "baseline") & (points.seed == 0)]
    assert one["train_time_s"].is_monotonic_increasing
    assert set(trace.columns) >= {"step", "val_accuracy", "lr"} and trace["lr"].between(0, 0.1).all()


def test_first_trough_is_the_standard_run_of_that_budget(tiny_comparison):
    """Same schedule, seed, data order and MixUp draws up to the first trough (evaluations
    leave the random state alone), so with window 0 the two read-offs are equal."""
    _, frames = tiny_comparison
    first = frames["points"][frames["points"]["trough"] == 0]
    table = first.pivot_table(index=["method", "seed"], columns="kind", values="val_accuracy")
    assert (table["cyclic"] == table["standard"]).all()


def test_experiment_main_is_the_experiment_command(monkeypatch):
    """``python -m effnotes.cyclic.experiment`` is an alias of ``effnotes experiment``."""
    from effnotes import cli
    from effnotes.cyclic import experiment

    seen = []
    monkeypatch.setattr(cli, "main", lambda argv: seen.append(argv) or 0)
    assert experiment.main(["--profile", "smoke"]) == 0
    assert seen == [["experiment", "cyclic_tradeoff", "--profile", "smoke"]]


def test_agreement_checks_count_gaps_and_strong_methods():
    from effnotes.cyclic.compare import agreement_checks

    rng = np.random.default_rng(0)
    rows = []
    for method, shift in (("baseline", 0.0), ("better", 0.05), ("same", 0.0)):
        for seed in range(4):
            for kind in ("standard", "cyclic"):
                for budget in (1, 2, 4, 8):
                    acc = 0.8 + shift + 0.002 * rng.standard_normal()
                    rows.append({"method": method, "seed": seed, "kind": kind,
                                 "budget_epochs": budget, "train_time_s": float(budget),
                                 "val_accuracy": acc})
    checks = agreement_checks(pd.DataFrame(rows))
    assert checks["n_later"] == 9
    assert checks["strong"] == ["better"]
    assert checks["signs_agree"] and checks["effects_agree"]
    assert 0 <= checks["n_beyond"] <= checks["n_later"]
    assert checks["allowed_beyond"] >= 0
    with pytest.raises(ValueError, match="level"):
        agreement_checks(pd.DataFrame(rows), level=1.5)
