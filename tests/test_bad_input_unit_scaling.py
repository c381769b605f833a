"""Bad input to effnotes.unit_scaling's residual_add (and its tau check): each case raises
the named error type and the message names the argument; NumPy scalars are valid tau."""

import math

import numpy as np
import pytest
import torch

from effnotes.unit_scaling import functional as U
from effnotes.unit_scaling.model import DecoderConfig

CASES = [
    ("shapes differ", lambda: U.residual_add(torch.ones(2, 3), torch.ones(3), 0.5), "branch"),
    ("shapes differ, no tau", lambda: U.residual_add(torch.ones(4, 1), torch.ones(4, 3), None),
     "skip"),
    ("tau text", lambda: U.residual_add(torch.ones(2), torch.ones(2), "0.5"), "tau"),
    ("tau nan", lambda: U.residual_add(torch.ones(2), torch.ones(2), float("nan")), "tau"),
    ("tau 1", lambda: U.residual_add(torch.ones(2), torch.ones(2), np.float32(1.0)), "tau"),
    ("tau tensor", lambda: U.residual_add(torch.ones(2), torch.ones(2), torch.tensor(0.5)),
     "tau"),
]


@pytest.mark.parametrize("call, name", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_named(call, name):
    with pytest.raises(ValueError) as raised:
        call()
    assert name in str(raised.value), str(raised.value)


@pytest.mark.parametrize("tau", [np.float32(0.5), np.float64(0.5), 0.5])
def test_numpy_scalar_tau_is_accepted(tau):
    skip, branch = torch.full((3,), 2.0), torch.full((3,), 4.0)
    expected = math.sqrt(0.5) * 2.0 + math.sqrt(0.5) * 4.0
    assert torch.allclose(U.residual_add(skip, branch, tau), torch.full((3,), expected))


@pytest.mark.parametrize("skip, branch, name", [([1.0], torch.ones(1), "skip"),
                                                (torch.ones(2), np.ones(2), "branch")])
def test_residual_add_refuses_what_is_not_a_tensor(skip, branch, name):
    with pytest.raises(TypeError, match=f"{name} must be a torch.Tensor"):
        U.residual_add(skip, branch, 0.5)


@pytest.mark.parametrize("name, value, error", [("d_model", 64.0, TypeError),
                                                ("n_heads", "4", TypeError),
                                                ("n_layers", True, TypeError),
                                                ("seq_len", -8, ValueError)])
def test_decoder_config_sizes_are_named(name, value, error):
    with pytest.raises(error, match=f"^{name} must be a positive integer"):
        DecoderConfig(**{name: value})


def test_decoder_config_accepts_numpy_integers_and_tau():
    config = DecoderConfig(d_model=np.int64(32), n_heads=np.int32(4), n_layers=np.int64(2),
                           tau=np.float32(0.5))
    assert config == DecoderConfig(d_model=32, n_heads=4, n_layers=2, tau=0.5)
    assert type(config.d_model) is int and config.residual_tau == 0.5


@pytest.mark.parametrize("call, error, name", [
    (lambda: U.scaled_linear(torch.ones(2, 4), torch.ones(3, 4), alpha=float("nan")),
     ValueError, "alpha"),
    (lambda: U.scaled_linear(torch.ones(2, 4), torch.ones(3, 4), alpha="1"), TypeError, "alpha"),
    (lambda: U.readout(torch.ones(2, 4), torch.ones(3, 4), alpha=float("inf")), ValueError,
     "alpha"),
    (lambda: U.scale_gradient(torch.ones(2), "2"), TypeError, "scale"),
    (lambda: U.scale_gradient(torch.ones(2), 0.0), ValueError, "scale"),
    (lambda: U.cross_entropy(torch.ones(4, 5), torch.zeros(4, dtype=torch.long),
                             grad_scale=float("nan")), ValueError, "scale"),
], ids=["linear alpha nan", "linear alpha text", "readout alpha inf", "scale text", "scale 0",
        "grad_scale nan"])
def test_bad_multipliers_are_named(call, error, name):
    with pytest.raises(error, match=name):
        call()


# --- functional ops, modules, Decoder, optimizer groups and Lion (issue 13) ----------------

from effnotes.unit_scaling.lion import Lion  # noqa: E402
from effnotes.unit_scaling.model import Decoder, optimizer_groups  # noqa: E402
from effnotes.unit_scaling.modules import Embedding, Linear, Readout  # noqa: E402

X, W = torch.ones(2, 4), torch.ones(3, 4)
IDS = torch.tensor([[0, 2], [1, 2]])


def tiny():
    torch.manual_seed(0)
    return Decoder(DecoderConfig(vocab_size=16, d_model=8, n_layers=1, n_heads=2, seq_len=4))


MORE = [
    ("linear x list", lambda: U.scaled_linear([[1.0] * 4], W), TypeError, "x"),
    ("linear weight array", lambda: U.scaled_linear(X, np.ones((3, 4))), TypeError, "weight"),
    ("scale_gradient x list", lambda: U.scale_gradient([1.0], 2.0), TypeError, "x"),
    ("layer_norm x list", lambda: U.layer_norm([1.0, 2.0]), TypeError, "x"),
    ("layer_norm weight list", lambda: U.layer_norm(X, [1.0] * 4), TypeError, "weight"),
    ("layer_norm eps 0", lambda: U.layer_norm(X, eps=0.0), ValueError, "eps"),
    ("layer_norm eps -1", lambda: U.layer_norm(X, eps=-1e-5), ValueError, "eps"),
    ("layer_norm eps nan", lambda: U.layer_norm(X, eps=float("nan")), ValueError, "eps"),
    ("layer_norm eps text", lambda: U.layer_norm(X, eps="1e-5"), TypeError, "eps"),
    ("gelu x array", lambda: U.gelu(np.ones(3)), TypeError, "x"),
    ("attention q list", lambda: U.attention([1.0], torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2)),
     TypeError, "q"),
    ("attention causal int", lambda: U.attention(*(torch.ones(1, 1, 2, 2),) * 3, causal=1),
     TypeError, "causal"),
    ("embedding ids list", lambda: U.embedding([[0, 1]], W), TypeError, "ids"),
    ("embedding weight array", lambda: U.embedding(IDS, np.ones((3, 4))), TypeError, "weight"),
    ("embedding id too large", lambda: U.embedding(IDS + 1, W), ValueError, "[0, 3)"),
    ("embedding id negative", lambda: U.embedding(-IDS, W), ValueError, "[0, 3)"),
    ("embedding weight 1-d", lambda: U.embedding(IDS, torch.ones(4)), ValueError, "weight"),
    ("readout x list", lambda: U.readout([1.0] * 4, W), TypeError, "x"),
    ("readout shapes", lambda: U.readout(torch.ones(2, 5), W), ValueError, "weight"),
    ("cross_entropy logits list", lambda: U.cross_entropy([[0.0, 1.0]], torch.zeros(1,
                                                                               dtype=torch.long)),
     TypeError, "logits"),
    ("cross_entropy targets list", lambda: U.cross_entropy(torch.ones(1, 2), [0]), TypeError,
     "targets"),
    ("cross_entropy grad_scale 0", lambda: U.cross_entropy(torch.ones(1, 2), torch.zeros(
        1, dtype=torch.long), grad_scale=0.0), ValueError, "grad_scale"),
    ("Linear in 0", lambda: Linear(0, 4), ValueError, "in_features"),
    ("Linear out float", lambda: Linear(4, 4.0), TypeError, "out_features"),
    ("Linear in bool", lambda: Linear(True, 4), TypeError, "in_features"),
    ("Linear init_std 0", lambda: Linear(4, 4, init_std=0.0), ValueError, "init_std"),
    ("Linear init_std inf", lambda: Linear(4, 4, init_std=float("inf")), ValueError, "init_std"),
    ("Linear alpha text", lambda: Linear(4, 4, alpha="1"), TypeError, "alpha"),
    ("Embedding vocab 0", lambda: Embedding(0, 4), ValueError, "vocab_size"),
    ("Embedding dim text", lambda: Embedding(4, "4"), TypeError, "dim"),
    ("Embedding init_std -1", lambda: Embedding(4, 4, init_std=-1.0), ValueError, "init_std"),
    ("Readout dim 0", lambda: Readout(0, 4), ValueError, "dim"),
    ("Readout vocab float", lambda: Readout(4, 4.5), TypeError, "vocab_size"),
    ("Readout init_std nan", lambda: Readout(4, 4, init_std=float("nan")), ValueError,
     "init_std"),
    ("Readout alpha nan", lambda: Readout(4, 4, alpha=float("nan")), ValueError, "alpha"),
    ("Decoder ids list", lambda: tiny()([[0, 1]]), TypeError, "ids"),
    ("Decoder ids float", lambda: tiny()(IDS.float()), TypeError, "ids"),
    ("Decoder ids out of vocab", lambda: tiny()(IDS + 15), ValueError, "ids"),
    ("Decoder loss targets list", lambda: tiny().loss(IDS, [[0, 1], [1, 0]]), TypeError,
     "targets"),
    ("loss_grad_scale 0", lambda: tiny().loss_grad_scale(0), ValueError, "n_tokens"),
    ("loss_grad_scale float", lambda: tiny().loss_grad_scale(8.0), TypeError, "n_tokens"),
    ("groups model", lambda: optimizer_groups(torch.nn.Linear(2, 2), 0.01), TypeError, "model"),
    ("groups lr nan", lambda: optimizer_groups(tiny(), float("nan")), ValueError, "lr"),
    ("groups lr text", lambda: optimizer_groups(tiny(), "0.01"), TypeError, "lr"),
    ("groups weight_decay inf", lambda: optimizer_groups(tiny(), 0.01, float("inf")),
     ValueError, "weight_decay"),
    ("groups weight_decay -1", lambda: optimizer_groups(tiny(), 0.01, -1.0), ValueError,
     "weight_decay"),
    ("groups base_width float", lambda: optimizer_groups(tiny(), 0.01, base_width=16.5),
     TypeError, "base_width"),
    ("groups base_width 0", lambda: optimizer_groups(tiny(), 0.01, base_width=0), ValueError,
     "base_width"),
    ("groups sp_lr_rule text", lambda: optimizer_groups(tiny(), 0.01, sp_lr_rule="yes"),
     TypeError, "sp_lr_rule"),
    ("Lion lr 0", lambda: Lion(tiny().parameters(), lr=0.0), ValueError, "lr"),
    ("Lion lr bool", lambda: Lion(tiny().parameters(), lr=True), TypeError, "lr"),
    ("Lion lr inf", lambda: Lion(tiny().parameters(), lr=float("inf")), ValueError, "lr"),
    ("Lion betas 1", lambda: Lion(tiny().parameters(), betas=(0.9, 1.0)), ValueError, "betas"),
    ("Lion betas -0.1", lambda: Lion(tiny().parameters(), betas=(-0.1, 0.9)), ValueError,
     "betas"),
    ("Lion betas three", lambda: Lion(tiny().parameters(), betas=(0.9, 0.9, 0.9)), ValueError,
     "betas"),
    ("Lion betas number", lambda: Lion(tiny().parameters(), betas=0.9), ValueError, "betas"),
    ("Lion betas text", lambda: Lion(tiny().parameters(), betas=("a", "b")), TypeError,
     "betas"),
    ("Lion betas nan", lambda: Lion(tiny().parameters(), betas=(float("nan"), 0.9)),
     ValueError, "betas"),
    ("Lion weight_decay -1", lambda: Lion(tiny().parameters(), weight_decay=-1.0), ValueError,
     "weight_decay"),
    ("Lion weight_decay text", lambda: Lion(tiny().parameters(), weight_decay="0"), TypeError,
     "weight_decay"),
    ("Lion weight_decay inf", lambda: Lion(tiny().parameters(), weight_decay=float("inf")),
     ValueError, "weight_decay"),
]


@pytest.mark.parametrize("call, error, name", [c[1:] for c in MORE], ids=[c[0] for c in MORE])
def test_more_bad_input_is_named(call, error, name):
    with pytest.raises(error) as raised:
        call()
    assert name in str(raised.value), str(raised.value)


def test_valid_input_gives_the_numbers_it_gave_before_the_checks():
    torch.manual_seed(0)
    x, w = torch.randn(3, 4), torch.randn(5, 4)
    assert torch.equal(U.layer_norm(x, eps=np.float32(1e-5)),
                       torch.nn.functional.layer_norm(x, (4,), None, None, np.float32(1e-5)))
    assert torch.equal(U.embedding(torch.tensor([[0, 4]]), w), w[[0, 4]][None])
    assert torch.equal(U.readout(x, w), torch.nn.functional.linear(x, w) / 4)
    model = tiny()
    assert model.loss_grad_scale(np.int64(8)) == 64.0
    groups = optimizer_groups(model, np.float32(0.01), base_width=np.int64(4))
    assert groups[0]["lr"] == pytest.approx(0.01 * math.sqrt(4 / 8))
    lion = Lion(model.parameters(), lr=np.float64(1e-3), betas=[np.float32(0.9), 0.99])
    assert lion.param_groups[0]["betas"] == (pytest.approx(0.9), 0.99)
    assert Linear(np.int64(4), 3).weight.shape == (3, 4)
