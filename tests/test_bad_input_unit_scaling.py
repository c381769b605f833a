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
