import pandas as pd
import pytest
import torch
from torch.utils.data import TensorDataset

from effnotes.data import load_digits_split
from effnotes.speedup import (RECIPES, DelayedDataset, DigitsMLP, Recipe, actual_sleep_s,
                              amdahl_experiment, book_taxonomy, bottleneck_experiment,
                              run_budget_sweep, sparse_vs_narrow, sweeps_by_recipe, time_one_epoch)
from effnotes.speedup.taxonomy import Placement
from effnotes.training import TrainConfig


@pytest.fixture(scope="module")
def split():
    return load_digits_split(seed=0)


@pytest.fixture(scope="module")
def dataset(split):
    return TensorDataset(split.x_train, split.y_train)


def test_mlp_shapes_and_errors():
    assert DigitsMLP(32, 3)(torch.zeros(5, 1, 8, 8)).shape == (5, 10)
    with pytest.raises(ValueError, match="width and depth"):
        DigitsMLP(0)


def test_budget_sweep_is_tidy_and_reproducible(split):
    recipes = [Recipe("a", TrainConfig(lr=0.05), width=32), Recipe("b", TrainConfig(lr=0.1), width=32)]
    runs = run_budget_sweep(recipes, [1, 2], [0, 1], split, progress=False)
    assert len(runs) == 8 and set(runs["recipe"]) == {"a", "b"}
    assert (runs["train_time_s"] > 0).all() and runs["val_accuracy"].between(0, 1).all()
    again = run_budget_sweep(recipes, [1, 2], [0, 1], split, progress=False)
    pd.testing.assert_series_equal(runs["val_accuracy"], again["val_accuracy"])
    sweeps = sweeps_by_recipe(runs)
    assert set(sweeps) == {"a", "b"} and sweeps["a"].cost.shape == (2, 2)
    with pytest.raises(ValueError, match="positive integers"):
        run_budget_sweep(recipes, [0.5], [0], split, progress=False)
    with pytest.raises(ValueError, match="non-empty"):
        run_budget_sweep([], [1], [0], split, progress=False)


def test_chapter_recipes_share_model_and_batch():
    base, improved = RECIPES["baseline"], RECIPES["improved"]
    assert (base.width, base.depth, base.batch_size) == (improved.width, improved.depth, improved.batch_size)


def test_delayed_dataset(dataset):
    slow = DelayedDataset(dataset, 0.002)
    assert len(slow) == len(dataset)
    x, y = slow[0]
    assert torch.equal(x, dataset[0][0])
    with pytest.raises(ValueError, match="non-negative"):
        DelayedDataset(dataset, -1)
    assert actual_sleep_s(0.001, calls=20) >= 0.001
    with pytest.raises(ValueError):
        actual_sleep_s(0)


def test_time_one_epoch_cycles_a_small_dataset(dataset):
    small = torch.utils.data.Subset(dataset, range(10))
    run = time_one_epoch(lambda: DigitsMLP(16), small, delay_s=0.0, workers=0, batches=3,
                         batch_size=8, repeats=1)
    assert run.batches == 3 and run.epoch_s > 0 and run.injected_s == 0
    with pytest.raises(ValueError, match="empty"):
        time_one_epoch(lambda: DigitsMLP(16), torch.utils.data.Subset(dataset, []), delay_s=0,
                       workers=0, batches=1, batch_size=1)


def test_injected_delay_is_charged_to_data_wait(dataset):
    frame = bottleneck_experiment(lambda: DigitsMLP(32), dataset, delay_s=0.002, workers=(0,),
                                  batches=3, batch_size=16, repeats=1)
    row = frame.iloc[0]
    assert row["injected_s"] >= row["nominal_injected_s"] == pytest.approx(0.096)
    assert 0.85 <= row["attributed_to_data_wait"] <= 1.2
    with pytest.raises(ValueError, match="positive"):
        bottleneck_experiment(lambda: DigitsMLP(32), dataset, delay_s=0)


def test_amdahl_experiment_reports_prediction_and_measurement(dataset):
    result = amdahl_experiment(lambda: DigitsMLP(128), lambda: DigitsMLP(16), dataset, batches=3,
                               batch_size=16, repeats=1, delay_s=0.0005)
    assert 0 < result["compute_fraction"] < 1 and result["compute_speedup"] > 0
    assert result["predicted_speedup"] > 0 and result["measured_speedup"] > 0
    assert list(result["runs"]["label"]) == ["wide", "narrow", "wide", "narrow"]


def test_sparse_vs_narrow_theory():
    frame = sparse_vs_narrow(96, 8, min_run_time=0.01)
    assert list(frame["variant"]) == ["dense", "90% sparse, dense kernel", "90% sparse, CSR kernel",
                                      "3x narrower, dense"]
    assert frame.loc[0, "measured_speedup"] == 1.0
    assert frame.loc[3, "theoretical_speedup"] == pytest.approx(3)
    assert frame.loc[1, "theoretical_speedup"] == pytest.approx(10, rel=0.1)
    assert (frame["seconds"] > 0).all()
    with pytest.raises(ValueError, match="sparsity"):
        sparse_vs_narrow(96, 8, sparsity=1.0)
    with pytest.raises(ValueError, match="width"):
        sparse_vs_narrow(2, 8)


def test_taxonomy():
    table = book_taxonomy()
    assert set(table["chapter"]) == {"speedup", "unit_scaling", "masking_schedules",
                                     "cyclic_tradeoff", "maddness", "pruning", "mil_ecg"}
    assert table.set_index("chapter").loc["speedup", "in_this_build"]
    with pytest.raises(ValueError, match="component"):
        Placement("x", "x", "hardware", "remove", "")
    with pytest.raises(ValueError, match="action"):
        Placement("x", "x", "data", "shuffle", "")


@pytest.fixture(scope="module")
def stored_smoke(stored_profile):
    """The experiment's smoke profile, run once through its command line and stored."""
    from effnotes.speedup import experiment

    return stored_profile(experiment, "speedup")


def test_experiment_runs_a_profile_and_stores_it(stored_smoke):
    assert stored_smoke["provenance"]["profile"] == "smoke"
    data = stored_smoke["data"]
    assert set(data) == {"hardware", "split_sizes", "sweep", "speedup", "speedup_curve",
                         "bottleneck", "stalls", "amdahl", "kernels", "taxonomy"}
    assert set(data["speedup"]) == {"time", "epochs"}
    assert len(data["kernels"]) == 4 and len(data["bottleneck"]) == 3
    recorded = {c["name"]: c for c in stored_smoke["provenance"]["claims"]}
    assert all(c["holds"] for c in recorded.values() if c["kind"] == "correctness")


def test_multiply_adds():
    assert DigitsMLP(32, 2).multiply_adds() == 64 * 32 + 32 * 32 + 32 * 10


def test_headline_reads_live_and_stored_results_alike(stored_smoke):
    from effnotes.contract import Result
    from effnotes.speedup.claims import headline

    record = stored_smoke
    stored = Result("speedup", "smoke", record["provenance"]["parameters"], record["data"],
                    provenance=record["provenance"])
    numbers = headline(stored)
    assert len(numbers) == 17 and numbers.notna().all()
    frames = {key: pd.DataFrame(record["data"][key]) for key in
              ("sweep", "bottleneck", "stalls", "kernels", "taxonomy")}
    live = Result("speedup", "smoke", record["provenance"]["parameters"],
                  dict(record["data"], **frames))
    pd.testing.assert_series_equal(headline(live), numbers)


def test_amdahl_table_keeps_the_timed_values_under_stated_units():
    from effnotes.speedup.plots import amdahl_table

    runs = pd.DataFrame({"label": ["wide", "narrow"], "workers": [0, 0], "delay_s": [0.0, 1e-4],
                         "batches": [8, 8], "batch_size": [64, 64], "epoch_s": [0.05, 0.12],
                         "data_wait_s": [0.004, 0.09], "compute_s": [0.043, 0.02]})
    table = amdahl_table({"runs": runs})
    assert list(table.index) == ["wide", "narrow"] and table.index.name == "model"
    assert list(table.columns) == ["delay per sample (s)", "epoch (s)", "data-wait (s)",
                                   "compute (s)"]
    assert table.to_numpy().tolist() == runs[["delay_s", "epoch_s", "data_wait_s",
                                              "compute_s"]].to_numpy().tolist()
