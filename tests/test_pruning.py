import copy

import pandas as pd
import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from effnotes.models import DigitsCNN
from effnotes.pruning.analysis import inference_speedup, layer_sensitivity
from effnotes.pruning.grid import PruningGrid, run_pruning_grid
from effnotes.pruning.metrics import effective_parameters, multiply_adds, size_report
from effnotes.pruning.strategies import (STRATEGIES, keep_fraction, make_permanent, masks,
                                         prunable_layers, prune_model)
from effnotes.training import TrainConfig, train


def trained_like(seed=0):
    """A CNN whose every parameter is nonzero (as after training)."""
    torch.manual_seed(seed)
    model = DigitsCNN(channels=8, hidden=32)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    return model


def batch(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 8, 8, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_prunable_layers_skip_the_classifier():
    model = DigitsCNN(4, 16)
    names = [n for n, _ in prunable_layers(model)]
    assert names == ["features.0", "features.3", "features.6", "hidden.1"]
    with pytest.raises(ValueError, match="nothing to prune"):
        prunable_layers(nn.Sequential(nn.Linear(3, 2)))
    with pytest.raises(ValueError, match="nothing to prune"):
        prunable_layers(nn.Sequential(nn.ReLU()))


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("compression", [2, 8, 16])
def test_compression_is_reached(strategy, compression):
    model = trained_like()
    outcome = prune_model(model, strategy, compression, batch=batch())
    report = size_report(model, (1, 8, 8))
    assert report.compression == pytest.approx(compression, rel=0.01)
    assert outcome.kept == report.params_nonzero - (report.params - outcome.prunable)
    assert model.classifier.weight.ne(0).all()  # never pruned


def test_keep_fraction_and_its_errors():
    model = trained_like()
    assert keep_fraction(model, 1) == 1.0
    total = sum(p.numel() for p in model.parameters())
    prunable = sum(m.weight.numel() for _, m in prunable_layers(model))
    assert keep_fraction(model, 4) == pytest.approx((total / 4 - (total - prunable)) / prunable)
    with pytest.raises(ValueError, match=">= 1"):
        keep_fraction(model, 0.5)
    with pytest.raises(ValueError, match="out of reach"):
        keep_fraction(model, 10_000)


def test_bad_strategy_and_missing_batch():
    with pytest.raises(ValueError, match="unknown pruning strategy"):
        prune_model(trained_like(), "lottery", 2)
    with pytest.raises(ValueError, match="needs a batch"):
        prune_model(trained_like(), "global_gradient", 2)


def test_global_magnitude_equals_torch_global_l1():
    ours, reference = trained_like(1), trained_like(1)
    outcome = prune_model(ours, "global_magnitude", 8)
    layers = [m for _, m in prunable_layers(reference)]
    prune.global_unstructured([(m, "weight") for m in layers], pruning_method=prune.L1Unstructured,
                              amount=outcome.prunable - outcome.kept)
    ours_masks, reference_masks = masks(ours), masks(reference)
    assert ours_masks.keys() == reference_masks.keys()
    for name in ours_masks:
        assert torch.equal(ours_masks[name], reference_masks[name]), name


def test_layerwise_keeps_the_same_fraction_in_every_layer():
    model = trained_like()
    outcome = prune_model(model, "layer_magnitude", 4)
    for name, mask in masks(model).items():
        assert mask.float().mean().item() == pytest.approx(outcome.keep_fraction, abs=0.02), name
    # and keeps the largest weights of each layer
    layer = model.features[3]
    kept = layer.weight_orig[layer.weight_mask.bool()].abs().min()
    dropped = layer.weight_orig[~layer.weight_mask.bool()].abs().max()
    assert kept >= dropped


def test_gradient_scores_differ_from_magnitude():
    a, b = trained_like(), trained_like()
    prune_model(a, "global_magnitude", 8)
    prune_model(b, "global_gradient", 8, batch=batch())
    assert any(not torch.equal(x, y) for x, y in zip(masks(a).values(), masks(b).values()))
    assert all(p.grad is None for p in b.parameters())  # scoring leaves no gradients behind


def test_random_is_seeded():
    a, b, c = trained_like(), trained_like(), trained_like()
    prune_model(a, "random", 4, seed=3)
    prune_model(b, "random", 4, seed=3)
    prune_model(c, "random", 4, seed=4)
    assert all(torch.equal(x, y) for x, y in zip(masks(a).values(), masks(b).values()))
    assert not all(torch.equal(x, y) for x, y in zip(masks(a).values(), masks(c).values()))


def test_masks_persist_through_fine_tuning():
    model = trained_like()
    prune_model(model, "global_magnitude", 8)
    before = masks(model)
    x, y = batch(64)
    loader = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    train(model, loader, TrainConfig(epochs=3, lr=0.1, momentum=0.9, weight_decay=1e-3, progress=False))
    for name, layer in model.named_modules():
        if name in before:
            assert torch.equal(layer.weight_mask, before[name])
            assert torch.all(layer.weight[before[name] == 0] == 0)
    assert size_report(model, (1, 8, 8)).compression == pytest.approx(8, rel=0.01)
    make_permanent(model)
    assert not any(hasattr(m, "weight_mask") for m in model.modules())
    assert size_report(model, (1, 8, 8)).compression == pytest.approx(8, rel=0.01)


def test_multiply_adds_by_hand():
    model = DigitsCNN(channels=2, hidden=3, batch_norm=False)
    dense, nonzero = multiply_adds(model, (1, 8, 8))
    by_hand = (8 * 8 * 2 * 9) + (4 * 4 * 4 * 2 * 9) + (4 * 4 * 4 * 4 * 9) + (64 * 3) + (3 * 10)
    assert dense == by_hand == nonzero
    with torch.no_grad():
        model.features[2].weight.zero_()  # the second conv: 4*4*4*2*9 multiply-adds
    assert multiply_adds(model, (1, 8, 8)) == (by_hand, by_hand - 4 * 4 * 4 * 2 * 9)
    with pytest.raises(ValueError, match="no Conv2d or Linear"):
        multiply_adds(nn.Sequential(nn.Flatten()), (1, 8, 8))


def test_effective_parameters_see_the_mask():
    model = trained_like()
    prune_model(model, "global_magnitude", 4)
    params = effective_parameters(model)
    assert "features.0.weight" in params and "features.0.weight_orig" not in params
    assert torch.equal(params["features.0.weight"], model.features[0].weight)
    assert len(params) == len(list(DigitsCNN(8, 32).parameters()))


def test_layerwise_has_higher_theoretical_speedup_on_a_cnn():
    glob, layer = trained_like(), trained_like()
    prune_model(glob, "global_magnitude", 8)
    prune_model(layer, "layer_magnitude", 8)
    assert size_report(layer, (1, 8, 8)).theoretical_speedup > size_report(glob, (1, 8, 8)).theoretical_speedup


@pytest.fixture(scope="module")
def tiny_split():
    from effnotes.data import load_digits_split

    return load_digits_split()


def tiny_grid(**changes):
    settings = dict(strategies=("global_magnitude", "random"), compressions=(1, 4), seeds=(0,),
                    pretrain=TrainConfig(epochs=2, lr=0.05, momentum=0.9, progress=False),
                    finetune=TrainConfig(epochs=1, lr=0.01, momentum=0.9, progress=False))
    settings.update(changes)
    return PruningGrid(**settings)


def test_grid_is_tidy_and_resumable(tiny_split, tmp_path):
    cache = tmp_path / "grid.csv"
    factory = lambda: DigitsCNN(4, 16)  # noqa: E731
    first = run_pruning_grid(factory, tiny_split, tiny_grid(), model_name="cnn", cache=cache,
                             progress=False)
    assert len(first) == 4 and set(first["strategy"]) == {"global_magnitude", "random"}
    for column in ("test_acc_dense", "test_acc_pruned", "test_acc_finetuned", "compression_measured",
                   "theoretical_speedup", "compression_after_finetune", "keep_fraction"):
        assert first[column].notna().all(), column
    dense = first[first["compression"] == 1]
    assert (dense["test_acc_pruned"] == dense["test_acc_dense"]).all()
    # a second call reruns nothing: a grid whose training would fail still returns the cache
    broken = tiny_grid(pretrain=TrainConfig(epochs=1, lr=1e9, progress=False))
    again = run_pruning_grid(factory, tiny_split, broken, model_name="cnn", cache=cache, progress=False)
    pd.testing.assert_frame_equal(again, first)
    # a larger grid runs only the new cells
    bigger = run_pruning_grid(factory, tiny_split, tiny_grid(compressions=(1, 4, 8)), model_name="cnn",
                              cache=cache, progress=False)
    assert len(bigger) == 6 and len(pd.read_csv(cache)) == 6


def test_grid_without_fine_tuning_and_errors(tiny_split, tmp_path):
    frame = run_pruning_grid(lambda: DigitsCNN(4, 16), tiny_split, tiny_grid(finetune=None),
                             model_name="cnn", progress=False)
    assert (frame["test_acc_pruned"] == frame["test_acc_finetuned"]).all()
    with pytest.raises(ValueError, match="unknown pruning strategies"):
        PruningGrid(strategies=("magic",))
    with pytest.raises(ValueError, match=">= 1"):
        PruningGrid(compressions=(0.5,))
    bad_cache = tmp_path / "other.csv"
    pd.DataFrame({"a": [1]}).to_csv(bad_cache, index=False)
    with pytest.raises(ValueError, match="not a pruning-grid cache"):
        run_pruning_grid(lambda: DigitsCNN(4, 16), tiny_split, tiny_grid(), model_name="cnn",
                         cache=bad_cache, progress=False)


def test_layer_sensitivity_and_inference_timing(tiny_split):
    from effnotes.data import make_loaders

    model = trained_like()
    _, val, _ = make_loaders(tiny_split)
    table = layer_sensitivity(model, val, amount=0.5)
    assert list(table["layer"]) == [n for n, _ in prunable_layers(model)]
    assert table["accuracy"].between(0, 1).all()
    with pytest.raises(ValueError, match="method"):
        layer_sensitivity(model, val, method="taylor")
    pruned = copy.deepcopy(model)
    prune_model(pruned, "global_magnitude", 4)
    timing = inference_speedup(model, pruned, (1, 8, 8), batch=64, min_run_time=0.05, rounds=1,
                               repeats=1)
    assert min(timing["dense_s"], timing["pruned_s"], timing["folded_s"]) > 0
    # with one round and one repeat, the paired speedup is the plain ratio of the times
    assert timing["speedup_folded"] == pytest.approx(timing["dense_s"] / timing["folded_s"])
    repeated = inference_speedup(model, pruned, (1, 8, 8), batch=64, min_run_time=0.03,
                                 rounds=2, repeats=3)
    assert repeated["repeats"] == 3 and repeated["speedup_folded"] > 0
    with pytest.raises(ValueError, match="rounds"):
        inference_speedup(model, pruned, (1, 8, 8), rounds=0)
    with pytest.raises(ValueError, match="repeats"):
        inference_speedup(model, pruned, (1, 8, 8), repeats=0)


def test_folded_copy_computes_like_the_pruned_model():
    from effnotes.pruning.analysis import folded_copy

    dense = trained_like()
    pruned = copy.deepcopy(dense)
    prune_model(pruned, "global_magnitude", 8)
    folded = folded_copy(pruned, like=dense)
    assert not any(hasattr(m, "weight_mask") for m in folded.modules())
    x = batch()[0]
    dense.eval(), pruned.eval(), folded.eval()
    assert torch.allclose(folded(x), pruned(x), atol=1e-6)
    assert size_report(folded, (1, 8, 8)).compression == pytest.approx(8, rel=0.01)
    assert not torch.allclose(folded(x), dense(x))


def test_report_summaries():
    from effnotes.pruning.report import difference, summarise, winners

    frame = pd.DataFrame({"strategy": ["a", "a", "b", "b"] * 2, "compression": [2.0] * 4 + [4.0] * 4,
                          "seed": [0, 1] * 4, "acc": [0.9, 0.8, 0.5, 0.7, 0.6, 0.6, 0.7, 0.7]})
    table = summarise(frame, "acc")
    assert table.loc[("a", 2.0), "mean"] == pytest.approx(0.85)
    assert table.loc[("a", 2.0), "sem"] == pytest.approx(table.loc[("a", 2.0), "std"] / 2 ** 0.5)
    diff = difference(frame, "acc", "a", "b")
    assert diff.loc[2.0, "difference"] == pytest.approx(0.25)
    assert diff.loc[4.0, "difference"] == pytest.approx(-0.1)
    assert list(winners(frame, "acc")) == ["a", "b"]
    with pytest.raises(KeyError, match="lacks columns"):
        summarise(frame, "loss")
    with pytest.raises(KeyError, match="not in the frame"):
        difference(frame, "acc", "a", "c")


def test_reversals():
    from effnotes.pruning.report import reversals

    def frame(gap):
        rows = []
        for seed, noise in enumerate((-0.001, 0.0, 0.001)):
            for compression, delta in ((4.0, gap), (8.0, 0.05)):
                rows += [{"strategy": "g", "compression": compression, "seed": seed, "acc": 0.9 + delta + noise},
                         {"strategy": "l", "compression": compression, "seed": seed, "acc": 0.9 - noise}]
        return pd.DataFrame(rows)

    table, levels = reversals({"x": frame(0.05), "y": frame(-0.05)}, "acc", "g", "l")
    assert list(levels) == [4.0]
    assert table.loc[4.0, ("difference", "x")] == pytest.approx(0.05)
    assert table.loc[8.0, ("difference", "y")] == pytest.approx(0.05)
    with pytest.raises(ValueError, match="exactly two"):
        reversals({"x": frame(0.1)}, "acc", "g", "l")


def test_experiment_stores_the_smoke_profile(tmp_path, monkeypatch):
    import json

    from effnotes.pruning import experiment

    monkeypatch.setenv("EFFNOTES_RESULTS", str(tmp_path))
    assert experiment.main(["--profile", "smoke", "--store", "--quiet",
                            "--dirty-reason", "a test of --store"]) == 0
    record = json.loads((tmp_path / "pruning" / "smoke.json").read_text())
    assert record["provenance"]["profile"] == "smoke"
    assert set(record["data"]) == {"hardware", "grid", "checkpoints", "sensitivity", "timing",
                                   "literature", "gale", "n_params", "flip"}
    assert set(record["data"]["checkpoints"]) == {"adam-1e-3", "adam-1e-4"}
    assert {c["name"] for c in record["provenance"]["claims"]} >= {"masks_held",
                                                                  "compression_reached"}
