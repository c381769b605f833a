"""Thin modules around :mod:`.functional`, one op each, so that scale tracking
(:mod:`~effnotes.unit_scaling.analysis`) can hook every op of a model by its module name."""

from __future__ import annotations

import math

import torch
from torch import nn

from effnotes.unit_scaling import functional as U
from effnotes.validation import check_integer, check_real


def _size(name: str, value) -> int:
    """A module size: a positive integer (NumPy integers accepted, ``bool`` refused)."""
    return check_integer(name, value, minimum=1)


def _alpha(alpha) -> float | None:
    return None if alpha is None else check_real("alpha", alpha)


class Linear(nn.Module):
    """A bias-free linear layer ``alpha * x @ W.T`` with ``W ~ N(0, init_std^2)``.

    Unit scaling: ``init_std=1`` and ``alpha=1/sqrt(in_features)`` (the default). The
    standard parametrisation: ``init_std=0.02, alpha=1``. ``precision`` is ``"fp32"``,
    ``"fp8_sim"``, ``"fp8_sim_dynamic"`` or ``"fp8_cuda"`` (see
    :func:`~effnotes.unit_scaling.functional.scaled_linear`).
    Input ``(..., in_features)``, output ``(..., out_features)``."""

    def __init__(self, in_features: int, out_features: int, *, init_std: float = 1.0,
                 alpha: float | None = None, precision: str = "fp32") -> None:
        super().__init__()
        in_features = _size("in_features", in_features)
        out_features = _size("out_features", out_features)
        init_std = U._positive("init_std", init_std)
        alpha = _alpha(alpha)
        self.precision = U.check_precision(precision)
        self.alpha = 1.0 / math.sqrt(in_features) if alpha is None else alpha
        self.weight = nn.Parameter(torch.randn(out_features, in_features) * init_std)
        if precision == "fp8_cuda":  # static scales as device scalars for torch._scaled_mm
            self.register_buffer("scale", torch.tensor(self.alpha), persistent=False)
            self.register_buffer("one", torch.tensor(1.0), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.precision == "fp8_cuda":
            from effnotes.unit_scaling.fp8_cuda import fp8_linear

            return fp8_linear(x, self.weight, self.alpha, self.scale, self.one)
        return U.scaled_linear(x, self.weight, alpha=self.alpha, precision=self.precision)

    def extra_repr(self) -> str:
        out_f, in_f = self.weight.shape
        return f"{in_f} -> {out_f}, alpha={self.alpha:.4g}, precision={self.precision}"


class ResidualAdd(nn.Module):
    """``sqrt(1 - tau) * skip + sqrt(tau) * branch`` (``tau=None``: ``skip + branch``)."""

    def __init__(self, tau: float | None) -> None:
        super().__init__()
        self.tau = None if tau is None else U.check_tau(tau)

    def forward(self, skip: torch.Tensor, branch: torch.Tensor) -> torch.Tensor:
        return U.residual_add(skip, branch, self.tau)


class Gelu(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return U.gelu(x)


class Attention(nn.Module):
    """The attention core (no parameters): ``(B, H, T, Dh)`` q, k, v -> ``(B, H, T, Dh)``."""

    def __init__(self, variant: str = "softmax") -> None:
        super().__init__()
        if variant not in U.ATTENTION_VARIANTS:
            raise ValueError(f"unknown attention variant {variant!r}; choose one of "
                             f"{U.ATTENTION_VARIANTS}")
        self.variant = variant

    def forward(self, q, k, v):
        return U.attention(q, k, v, variant=self.variant)


class Embedding(nn.Module):
    """Token embedding, ``(batch, tokens)`` ids -> ``(batch, tokens, dim)``."""

    def __init__(self, vocab_size: int, dim: int, *, init_std: float = 1.0) -> None:
        super().__init__()
        vocab_size, dim = _size("vocab_size", vocab_size), _size("dim", dim)
        init_std = U._positive("init_std", init_std)
        self.weight = nn.Parameter(torch.randn(vocab_size, dim) * init_std)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return U.embedding(ids, self.weight)


class Readout(nn.Module):
    """The LM head ``alpha * x @ W.T``: μS uses ``init_std=1, alpha=1/dim``; the standard
    parametrisation ``init_std=0.02, alpha=1``."""

    def __init__(self, dim: int, vocab_size: int, *, init_std: float = 1.0,
                 alpha: float | None = None) -> None:
        super().__init__()
        dim, vocab_size = _size("dim", dim), _size("vocab_size", vocab_size)
        init_std = U._positive("init_std", init_std)
        alpha = _alpha(alpha)
        self.alpha = 1.0 / dim if alpha is None else alpha
        self.weight = nn.Parameter(torch.randn(vocab_size, dim) * init_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return U.readout(x, self.weight, alpha=self.alpha)
