"""Bad input to effnotes.pruning: each case raises the named error type, the message names
the argument (or the layer) that is wrong, and a refused call leaves the model as it was."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from effnotes.data.digits import DigitsSplit
from effnotes.models import DigitsCNN
from effnotes.pruning import report
from effnotes.pruning.analysis import folded_copy, inference_speedup, layer_sensitivity
from effnotes.pruning.grid import PruningGrid, run_cell, train_dense
from effnotes.pruning.metrics import multiply_adds, size_report
from effnotes.training import TrainConfig
from effnotes.pruning.strategies import (LayerEmptiedWarning, keep_fraction, make_permanent,
                                         masks, prunable_layers, prune_model)


def model(seed=0):
    torch.manual_seed(seed)
    net = DigitsCNN(channels=4, hidden=16)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.01 * torch.randn_like(p))
    return net


def batch(n=16):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 1, 8, 8, generator=g), torch.randint(0, 10, (n,), generator=g)


def nan_batch():
    inputs, targets = batch()
    inputs[0, 0, 0, 0] = float("nan")
    return inputs, targets


def nan_weight_model():
    net = model()
    with torch.no_grad():
        net.features[0].weight[0, 0, 0, 0] = float("nan")
    return net


def max_compression(net):
    total = sum(p.numel() for p in net.parameters())
    prunable = sum(m.weight.numel() for _, m in prunable_layers(net))
    return total / (total - prunable)


def loader():
    return [batch()]


def tiny_split():
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(30, 1, 8, 8, generator=g), torch.arange(30) % 10
    return DigitsSplit(x[:10], y[:10], x[10:20], y[10:20], x[20:], y[20:])


def config():
    return TrainConfig(epochs=1, progress=False)


def grid_frame(rows=None):
    """A grid-shaped frame (the columns run_pruning_grid writes) with two seeds of three
    strategies at 2x and 8x."""
    rng = np.random.default_rng(0)
    records = [{"model": "m", "seed": seed, "strategy": strategy, "compression": c,
                "test_acc_dense": 0.9, "test_acc_pruned": 0.8 + 0.01 * rng.normal(),
                "test_acc_finetuned": 0.85 + 0.01 * rng.normal(), "compression_measured": c,
                "compression_after_finetune": c, "theoretical_speedup": c}
               for seed in (0, 1)
               for strategy in ("global_magnitude", "layer_magnitude", "random")
               for c in (2.0, 8.0)]
    frame = pd.DataFrame(records)
    return frame.iloc[:rows] if rows is not None else frame


def sensitivity(**changes):
    return layer_sensitivity(model(), loader(), **changes)


def speedup(**changes):
    arguments = {"dense": model(), "pruned": model(1), "input_shape": (1, 8, 8), "batch": 2,
                 "min_run_time": 0.01, "rounds": 1, "repeats": 1, **changes}
    return inference_speedup(arguments.pop("dense"), arguments.pop("pruned"),
                             arguments.pop("input_shape"), **arguments)


def cell(**changes):
    arguments = {"dense": model(), "split": tiny_split(), "grid": PruningGrid(finetune=None),
                 "strategy": "random", "compression": 2, "seed": 0, "device": "cpu",
                 "input_shape": (1, 8, 8), **changes}
    return run_cell(arguments.pop("dense"), arguments.pop("split"), arguments.pop("grid"),
                    **arguments)


def dense(**changes):
    arguments = {"model_factory": model, "split": tiny_split(), "config": config(), "seed": 0,
                 **changes}
    return train_dense(arguments.pop("model_factory"), arguments.pop("split"),
                       arguments.pop("config"), **arguments)


CASES = [
    ("strategy", lambda: prune_model(model(), "lottery", 2), ValueError, "strategy"),
    ("compression text", lambda: prune_model(model(), "random", "2"), TypeError, "compression"),
    ("compression bool", lambda: prune_model(model(), "random", True), TypeError, "compression"),
    ("compression nan", lambda: prune_model(model(), "random", float("nan")), ValueError,
     "compression"),
    ("compression < 1", lambda: prune_model(model(), "random", 0.5), ValueError, "compression"),
    ("compression unreachable", lambda: prune_model(model(), "global_magnitude", 1e6),
     ValueError, "compression"),
    ("keep_fraction inf", lambda: keep_fraction(model(), float("inf")), ValueError,
     "compression"),
    ("no batch", lambda: prune_model(model(), "layer_gradient", 2), ValueError, "batch"),
    ("batch not a pair", lambda: prune_model(model(), "global_gradient", 2, batch=batch()[0]),
     TypeError, "batch"),
    ("batch sizes differ", lambda: prune_model(model(), "global_gradient", 2,
                                               batch=(batch()[0], batch()[1][:3])),
     ValueError, "batch"),
    ("empty batch", lambda: prune_model(model(), "global_gradient", 2,
                                        batch=(batch()[0][:0], batch()[1][:0])),
     ValueError, "batch"),
    ("nan batch", lambda: prune_model(model(), "global_gradient", 4, batch=nan_batch()),
     ValueError, "batch"),
    ("nan gradients", lambda: prune_model(nan_weight_model(), "layer_gradient", 4,
                                          batch=batch()), ValueError, "features.0"),
    ("nothing to prune", lambda: prunable_layers(nn.Sequential(nn.Linear(3, 2))), ValueError,
     "model"),
    ("model not a module", lambda: prune_model("net", "random", 2), TypeError, "model"),
    ("targets float", lambda: prune_model(model(), "global_gradient", 2,
                                          batch=(batch()[0], batch()[1].float())),
     TypeError, "targets"),
    ("targets 2-D", lambda: prune_model(model(), "global_gradient", 2,
                                        batch=(batch()[0], batch()[1][:, None])),
     TypeError, "targets"),
    ("targets negative", lambda: prune_model(model(), "layer_gradient", 2,
                                             batch=(batch()[0], batch()[1] - 10)),
     ValueError, "targets"),
    ("targets past the classes", lambda: prune_model(model(), "global_gradient", 2,
                                                     batch=(batch()[0], batch()[1] + 10)),
     ValueError, "targets"),
    ("seed float", lambda: prune_model(model(), "random", 2, seed=1.5), TypeError, "seed"),
    ("seed text", lambda: prune_model(model(), "random", 2, seed="0"), TypeError, "seed"),
    ("seed negative", lambda: prune_model(model(), "random", 2, seed=-1), ValueError, "seed"),
    ("input_shape wrong", lambda: multiply_adds(model(), (3, 8, 8)), ValueError, "input_shape"),
    ("input_shape empty", lambda: size_report(model(), ()), ValueError, "input_shape"),
    ("input_shape float", lambda: size_report(model(), (1, 8.0, 8)), ValueError, "input_shape"),
    ("grid seed float", lambda: PruningGrid(seeds=(0.5,)), TypeError, "seeds"),
    ("grid seed negative", lambda: PruningGrid(seeds=(-1,)), ValueError, "seeds"),
    ("grid pretrain dict", lambda: PruningGrid(pretrain={}), TypeError, "pretrain"),
    ("grid finetune dict", lambda: PruningGrid(finetune={}), TypeError, "finetune"),
    ("grid batch_size 0", lambda: PruningGrid(batch_size=0), ValueError, "batch_size"),
    ("grid gradient_batch float", lambda: PruningGrid(gradient_batch=2.5), TypeError,
     "gradient_batch"),
    # layer_sensitivity
    ("sensitivity model", lambda: layer_sensitivity("net", loader()), TypeError, "model"),
    ("sensitivity loader int", lambda: layer_sensitivity(model(), 5), TypeError, "loader"),
    ("sensitivity loader text", lambda: layer_sensitivity(model(), "ab"), TypeError, "loader"),
    ("sensitivity amount text", lambda: sensitivity(amount="0.5"), TypeError, "amount"),
    ("sensitivity amount bool", lambda: sensitivity(amount=True), TypeError, "amount"),
    ("sensitivity amount nan", lambda: sensitivity(amount=float("nan")), ValueError, "amount"),
    ("sensitivity amount 1", lambda: sensitivity(amount=1.0), ValueError, "amount"),
    ("sensitivity method", lambda: sensitivity(method="l2"), ValueError, "method"),
    ("sensitivity seed float", lambda: sensitivity(seed=1.5), TypeError, "seed"),
    ("sensitivity seed negative", lambda: sensitivity(seed=-1), ValueError, "seed"),
    ("sensitivity device", lambda: sensitivity(device="gpu0"), ValueError, "device"),
    # folded_copy
    ("folded pruned text", lambda: folded_copy("net", model()), TypeError, "pruned"),
    ("folded like text", lambda: folded_copy(model(), "net"), TypeError, "like"),
    ("folded other architecture", lambda: folded_copy(model(), DigitsCNN(8, 16)), ValueError,
     "like's architecture"),
    # inference_speedup
    ("speedup dense text", lambda: speedup(dense="net"), TypeError, "dense"),
    ("speedup pruned text", lambda: speedup(pruned="net"), TypeError, "pruned"),
    ("speedup other architecture", lambda: speedup(pruned=DigitsCNN(8, 16)), ValueError,
     "dense's architecture"),
    ("speedup input_shape wrong", lambda: speedup(input_shape=(3, 8, 8)), ValueError,
     "input_shape"),
    ("speedup input_shape text", lambda: speedup(input_shape="188"), ValueError,
     "input_shape"),
    ("speedup batch 0", lambda: speedup(batch=0), ValueError, "batch"),
    ("speedup batch float", lambda: speedup(batch=2.5), TypeError, "batch"),
    ("speedup rounds float", lambda: speedup(rounds=1.5), TypeError, "rounds"),
    ("speedup repeats text", lambda: speedup(repeats="2"), TypeError, "repeats"),
    ("speedup repeats 0", lambda: speedup(repeats=0), ValueError, "repeats"),
    ("speedup min_run_time nan", lambda: speedup(min_run_time=float("nan")), ValueError,
     "min_run_time"),
    ("speedup min_run_time 0", lambda: speedup(min_run_time=0), ValueError, "min_run_time"),
    ("speedup min_run_time text", lambda: speedup(min_run_time="1"), TypeError,
     "min_run_time"),
    # train_dense
    ("train_dense factory text", lambda: dense(model_factory="cnn"), TypeError,
     "model_factory"),
    ("train_dense factory returns text", lambda: dense(model_factory=lambda: "cnn"), TypeError,
     "model_factory"),
    ("train_dense split", lambda: dense(split="digits"), TypeError, "split"),
    ("train_dense config", lambda: dense(config={}), TypeError, "config"),
    ("train_dense seed float", lambda: dense(seed=0.5), TypeError, "seed"),
    ("train_dense batch_size 0", lambda: dense(batch_size=0), ValueError, "batch_size"),
    ("train_dense device", lambda: dense(device=3.0), TypeError, "device"),
    # run_cell
    ("run_cell dense", lambda: cell(dense="net"), TypeError, "dense"),
    ("run_cell split", lambda: cell(split="digits"), TypeError, "split"),
    ("run_cell grid", lambda: cell(grid={}), TypeError, "grid"),
    ("run_cell strategy", lambda: cell(strategy="lottery"), ValueError, "strategy"),
    ("run_cell seed float", lambda: cell(seed=0.5), TypeError, "seed"),
    ("run_cell compression text", lambda: cell(compression="2"), TypeError, "compression"),
    ("run_cell input_shape", lambda: cell(input_shape=(8, 8.0)), ValueError, "input_shape"),
    ("run_cell device", lambda: cell(device="gpu0"), ValueError, "device"),
    # report
    ("summarise empty", lambda: report.summarise(grid_frame(0), "test_acc_pruned"),
     ValueError, "frame has no rows"),
    ("summarise list", lambda: report.summarise([], "test_acc_pruned"), TypeError, "frame"),
    ("summarise column", lambda: report.summarise(grid_frame(), "loss"), KeyError, "loss"),
    ("summarise metric int", lambda: report.summarise(grid_frame(), 3), TypeError, "metric"),
    ("summarise by text", lambda: report.summarise(grid_frame(), "test_acc_pruned",
                                                   by="strategy"), TypeError, "by"),
    ("difference empty", lambda: report.difference(grid_frame(0), "test_acc_pruned",
                                                   "global_magnitude", "layer_magnitude"),
     ValueError, "frame"),
    ("winners list", lambda: report.winners([], "test_acc_pruned"), TypeError, "frame"),
    ("reversals list", lambda: report.reversals([grid_frame(), grid_frame()], "test_acc_pruned",
                                                "global_magnitude", "layer_magnitude"),
     TypeError, "frames"),
    ("reversals frame text", lambda: report.reversals({"a": grid_frame(), "b": "grid"},
                                                      "test_acc_pruned", "global_magnitude",
                                                      "layer_magnitude"), TypeError,
     "frames['b']"),
    ("reversals frame empty", lambda: report.reversals({"a": grid_frame(), "b": grid_frame(0)},
                                                       "test_acc_pruned", "global_magnitude",
                                                       "layer_magnitude"), ValueError,
     "frames['b'] has no rows"),
    ("reversals z nan", lambda: report.reversals({"a": grid_frame(), "b": grid_frame()},
                                                 "test_acc_pruned", "global_magnitude",
                                                 "layer_magnitude", z=float("nan")),
     ValueError, "z"),
    ("reversals z negative", lambda: report.reversals({"a": grid_frame(), "b": grid_frame()},
                                                      "test_acc_pruned", "global_magnitude",
                                                      "layer_magnitude", z=-1), ValueError, "z"),
    ("speedup_table column", lambda: report.speedup_table(
        grid_frame().drop(columns="theoretical_speedup")), KeyError, "theoretical_speedup"),
    ("speedup_table empty", lambda: report.speedup_table(grid_frame(0)), ValueError, "frame"),
    ("strategy_ranking column", lambda: report.strategy_ranking(
        grid_frame().drop(columns="test_acc_pruned")), KeyError, "test_acc_pruned"),
    ("grid_findings column", lambda: report.grid_findings(
        grid_frame().drop(columns="test_acc_dense"), 0.01), KeyError, "test_acc_dense"),
    ("grid_findings empty", lambda: report.grid_findings(grid_frame(0), 0.01), ValueError,
     "frame"),
    ("grid_findings noise_floor text", lambda: report.grid_findings(grid_frame(), "0.01"),
     TypeError, "noise_floor"),
    ("grid_findings noise_floor negative", lambda: report.grid_findings(grid_frame(), -0.1),
     ValueError, "noise_floor"),
    ("flip_summary one setting", lambda: report.flip_summary({"a": grid_frame()}), ValueError,
     "two settings"),
    ("flip_summary column", lambda: report.flip_summary(
        {"a": grid_frame(), "b": grid_frame().drop(columns="test_acc_dense")}), KeyError,
     "frames['b'] lacks columns ['test_acc_dense']"),
    ("flip_summary z text", lambda: report.flip_summary({"a": grid_frame(), "b": grid_frame()},
                                                        z="2"), TypeError, "z"),
]


@pytest.mark.parametrize("call, error, name", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_named(call, error, name):
    with pytest.raises(error) as raised:
        call()
    assert name in str(raised.value), str(raised.value)


@pytest.mark.parametrize("strategy", ["layer_magnitude", "layer_gradient", "random"])
def test_a_compression_that_empties_a_layer_is_refused_per_layer(strategy):
    net = model()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    near_max = 0.999 * max_compression(net)
    with pytest.raises(ValueError, match=r"leaves layer 'features\.0' no weights"):
        prune_model(net, strategy, near_max, batch=batch())
    assert not masks(net)  # nothing was pruned
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def limit_in(message, before):
    """The number the message states right after ``before``."""
    return float(re.search(re.escape(before) + r" ([0-9.e+]+)", message).group(1))


@pytest.mark.parametrize("strategy", ["layer_magnitude", "random"])
def test_the_per_layer_limit_in_the_message_is_the_real_one(strategy):
    with pytest.raises(ValueError) as raised:
        prune_model(model(), strategy, 0.999 * max_compression(model()))
    limit = limit_in(str(raised.value), "in every layer only below")
    assert f"maximum, with no prunable weight left, is {max_compression(model()):.6g}" \
        in str(raised.value)
    net = model()
    prune_model(net, strategy, limit * (1 - 1e-4))  # just inside: every layer keeps a weight
    assert all(int(m.weight_mask.sum()) >= 1 for _, m in prunable_layers(net))
    with pytest.raises(ValueError, match="no weights"):
        prune_model(model(), strategy, limit * (1 + 1e-4))


@pytest.mark.parametrize("strategy", ["global_magnitude", "global_gradient"])
def test_a_global_target_that_keeps_no_weight_is_refused_naming_the_limit(strategy):
    net = model()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(ValueError, match="compression .* removes every prunable weight") as raised:
        prune_model(net, strategy, 0.999 * max_compression(net), batch=batch())
    assert not masks(net) and all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert f"maximum, with no prunable weight left, is {max_compression(net):.6g}" \
        in str(raised.value)
    limit = limit_in(str(raised.value), "keeps at least one below")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerEmptiedWarning)
        outcome = prune_model(net, strategy, limit * (1 - 1e-4), batch=batch())
    assert outcome.kept >= 1
    with pytest.raises(ValueError, match="removes every prunable weight"):
        prune_model(model(), strategy, limit * (1 + 1e-4), batch=batch())


def test_a_global_strategy_warns_naming_the_emptied_layers():
    net = model()
    total = sum(p.numel() for p in net.parameters())
    prunable = sum(m.weight.numel() for _, m in prunable_layers(net))
    keep_five = total / (total - prunable + 5)  # five prunable weights left in all
    with pytest.warns(LayerEmptiedWarning, match="features.*maximum compression is") as caught:
        outcome = prune_model(net, "global_magnitude", keep_five)
    assert outcome.kept == 5
    emptied = [name for name, m in prunable_layers(net) if not m.weight_mask.any()]
    assert emptied and all(repr(name) in str(caught[0].message) for name in emptied)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayerEmptiedWarning)
        prune_model(model(), "global_magnitude", 4)  # an ordinary target: no warning


def test_nan_gradients_leave_the_model_unpruned():
    net = nan_weight_model()
    with pytest.raises(ValueError, match="not finite"):
        prune_model(net, "global_gradient", 4, batch=batch())
    assert not masks(net) and all(p.grad is None for p in net.parameters())


@pytest.mark.parametrize("strategy", ["global_magnitude", "layer_magnitude", "random"])
def test_re_pruning_reaches_and_reports_the_new_target(strategy):
    net = model()
    first = prune_model(net, strategy, 2)
    assert first.compression_reached == pytest.approx(2, rel=0.01)
    second = prune_model(net, strategy, 3)
    reached = size_report(net, (1, 8, 8)).compression
    assert second.compression_reached == pytest.approx(reached, rel=1e-9)
    assert reached == pytest.approx(3, rel=0.01)
    kept = masks(net)
    with pytest.raises(ValueError, match="compression"):  # cannot restore weights
        prune_model(net, strategy, 1.5)
    assert all(torch.equal(kept[k], v) for k, v in masks(net).items())


def test_bad_targets_leave_the_model_unpruned_and_in_its_mode():
    net = model().train()
    with pytest.raises(ValueError, match="targets"):
        prune_model(net, "global_gradient", 4, batch=(batch()[0], batch()[1] + 10))
    assert net.training and not masks(net) and all(p.grad is None for p in net.parameters())


@pytest.mark.parametrize("strategy", ["global_magnitude", "layer_magnitude", "random",
                                      "global_gradient"])
def test_a_model_made_permanent_is_pruned_from_where_it_stands(strategy):
    net = model()
    prune_model(net, "global_magnitude", 3)
    make_permanent(net)  # the zeros are in the weights now, the masks are gone
    with pytest.raises(ValueError, match="cannot restore weights"):
        prune_model(net, strategy, 2, batch=batch())
    outcome = prune_model(net, strategy, 4, batch=batch())
    prunable_nonzero = sum(int(torch.count_nonzero(m.weight)) for _, m in prunable_layers(net))
    assert outcome.kept == prunable_nonzero
    total = sum(p.numel() for p in net.parameters())
    assert outcome.compression_reached == pytest.approx(
        total / (total - outcome.prunable + prunable_nonzero), rel=1e-12)
    assert outcome.compression_reached == pytest.approx(4, rel=0.01)


def test_report_keeps_its_nan_for_an_absent_subset():
    only_eight = grid_frame()[lambda f: f["compression"] == 8.0]  # no 2x cell
    found = report.grid_findings(only_eight, 0.01)
    assert np.isnan(found["worst_at_two"]) and np.isnan(found["noise_excess_at_two"])
    assert found["dense_mean"] == pytest.approx(0.9)
    random_only = grid_frame().assign(strategy="random")
    ranking = report.strategy_ranking(random_only)
    assert ranking["spread pruned"].isna().all() and ranking["spread finetuned"].isna().all()
    assert list(ranking["best without fine-tuning"]) == ["random", "random"]


def test_inference_speedup_refusals_leave_the_models_in_their_modes():
    dense_net, pruned_net = model().train(), model(1).eval()
    with pytest.raises(ValueError, match="input_shape"):
        speedup(dense=dense_net, pruned=pruned_net, input_shape=(3, 8, 8))
    assert dense_net.training and not pruned_net.training


def test_run_cell_refusals_leave_dense_as_it_was():
    net = model()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(ValueError, match="compression"):
        cell(dense=net, compression=1e6)
    assert not masks(net) and all(torch.equal(before[k], v) for k, v in net.state_dict().items())
