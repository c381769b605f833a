"""Bad input to effnotes.pruning: each case raises the named error type, the message names
the argument (or the layer) that is wrong, and a refused call leaves the model as it was."""

import warnings

import pytest
import torch
from torch import nn

from effnotes.models import DigitsCNN
from effnotes.pruning.grid import PruningGrid
from effnotes.pruning.metrics import multiply_adds, size_report
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


def test_a_global_strategy_warns_naming_the_emptied_layers():
    net = model()
    with pytest.warns(LayerEmptiedWarning, match="features"):
        prune_model(net, "global_magnitude", 0.999 * max_compression(net))
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
