"""Unit-scaled operations as plain functions (the modules in :mod:`.modules` are thin
wrappers around these).

Shapes: ``x`` is ``(..., fan_in)`` and a weight ``(fan_out, fan_in)``, as in
:func:`torch.nn.functional.linear`; attention takes ``(batch, heads, tokens, head_dim)``.
Every op is written so that a unit-variance input gives a unit-variance output (at
initialisation), except where the derivation in the chapter says it cannot.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

from effnotes.unit_scaling.formats import (E4M3, E5M2, cast_backward, cast_backward_dynamic,
                                           cast_forward, cast_forward_dynamic)
from effnotes.validation import check_real

PRECISIONS = ("fp32", "fp8_sim", "fp8_sim_dynamic", "fp8_cuda")
ATTENTION_VARIANTS = ("softmax", "sqrt_softmax")


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")
    return precision


def _tensor(op: str, name: str, value) -> torch.Tensor:
    """``value`` if it is a tensor; else a ``TypeError`` naming ``op``'s argument ``name``."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{op}: {name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def _positive(name: str, value) -> float:
    """``value`` as a float if it is a finite real number above 0 (``TypeError`` or
    ``ValueError`` naming ``name`` otherwise)."""
    value = check_real(name, value)
    if not value > 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value


def check_tau(tau: float) -> float:
    """``tau`` must be a real number (NumPy scalars included) strictly between 0 and 1 (the
    branch's share of the variance); returned as a float."""
    if isinstance(tau, bool) or not isinstance(tau, numbers.Real):
        raise ValueError(f"tau must lie in the open interval (0, 1), got {tau!r}: a real "
                         f"number, not a {type(tau).__name__}")
    if not 0.0 < float(tau) < 1.0:
        raise ValueError(f"tau must lie in the open interval (0, 1), got {tau!r}")
    return float(tau)


class _ScaleGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, None


def scale_gradient(x: torch.Tensor, scale: float) -> torch.Tensor:
    """``x`` unchanged in the forward pass; its gradient multiplied by ``scale``."""
    _tensor("scale_gradient", "x", x)
    if not check_real("scale", scale) > 0:
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    return _ScaleGradient.apply(x, float(scale))


def scaled_linear(x: torch.Tensor, weight: torch.Tensor, *, alpha: float | None = None,
                  precision: str = "fp32") -> torch.Tensor:
    """``alpha * x @ weight.T`` with ``alpha = 1/sqrt(fan_in)`` by default: with unit-variance
    ``x`` and weight the output has unit variance.

    ``precision="fp8_sim"`` simulates an FP8 GEMM: ``x`` and ``weight`` are rounded to E4M3
    in the forward pass and the output's gradient to E5M2 before the two backward GEMMs (the
    products themselves are exact, as FP8 tensor cores accumulate in high precision).
    ``"fp8_cuda"`` runs the real FP8 GEMMs of :mod:`.fp8_cuda` (falling back to the
    simulation where they are unavailable). ``"fp8_sim_dynamic"`` simulates the usual
    recipe with per-tensor dynamic scales instead: each operand (and the output's gradient)
    is scaled by ``max / amax`` before it is rounded, and scaled back after.
    """
    check_precision(precision)
    _tensor("scaled_linear", "x", x)
    _tensor("scaled_linear", "weight", weight)
    if x.shape[-1] != weight.shape[-1] or weight.dim() != 2:
        raise ValueError(f"x (..., {x.shape[-1]}) does not match weight {tuple(weight.shape)}: "
                         "expected weight of shape (fan_out, fan_in)")
    fan_in = weight.shape[1]
    alpha = 1.0 / math.sqrt(fan_in) if alpha is None else check_real("alpha", alpha)
    if precision == "fp8_cuda":
        from effnotes.unit_scaling.fp8_cuda import fp8_linear

        return fp8_linear(x, weight, alpha)
    if precision == "fp8_sim":
        out = F.linear(cast_forward(x, E4M3), cast_forward(weight, E4M3)) * alpha
        return cast_backward(out, E5M2)
    if precision == "fp8_sim_dynamic":
        out = F.linear(cast_forward_dynamic(x, E4M3), cast_forward_dynamic(weight, E4M3)) * alpha
        return cast_backward_dynamic(out, E5M2)
    return F.linear(x, weight) * alpha


def residual_add(skip: torch.Tensor, branch: torch.Tensor, tau: float | None) -> torch.Tensor:
    """Fixed-coefficient residual ``sqrt(1 - tau) * skip + sqrt(tau) * branch``; with
    unit-variance, independent inputs the output has unit variance. ``tau=None`` is the
    standard ``skip + branch``. ``skip`` and ``branch`` must have the same shape (no
    broadcasting: a mismatch is a bug upstream)."""
    for name, value in (("skip", skip), ("branch", branch)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"residual_add: {name} must be a torch.Tensor, got "
                            f"{type(value).__name__}")
    if skip.shape != branch.shape:
        raise ValueError(f"residual_add: skip has shape {tuple(skip.shape)} but branch has "
                         f"{tuple(branch.shape)}; they must match")
    if tau is None:
        return skip + branch
    tau = check_tau(tau)
    return math.sqrt(1.0 - tau) * skip + math.sqrt(tau) * branch


def layer_norm(x: torch.Tensor, weight: torch.Tensor | None = None,
               bias: torch.Tensor | None = None, eps: float = 1e-5) -> torch.Tensor:
    """Layer normalisation over the last dimension (unit variance per row); ``weight`` and
    ``bias`` (``(x.shape[-1],)`` or None), ``eps`` a finite number above 0."""
    _tensor("layer_norm", "x", x)
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None:
            _tensor("layer_norm", name, value)
    eps = _positive("eps", eps)
    return F.layer_norm(x, x.shape[-1:], weight, bias, eps)


def gelu(x: torch.Tensor) -> torch.Tensor:
    """GELU (exact, erf form)."""
    _tensor("gelu", "x", x)
    return F.gelu(x)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, causal: bool = True,
              variant: str = "softmax") -> torch.Tensor:
    """Causal self-attention of ``(batch, heads, tokens, head_dim)`` tensors with logits
    scaled by ``1/sqrt(head_dim)`` (unit variance for unit-variance ``q`` and ``k``).

    ``variant="sqrt_softmax"`` uses the square root of the softmax probabilities as weights,
    which keeps the output at unit variance for independent values (see the chapter)."""
    if variant not in ATTENTION_VARIANTS:
        raise ValueError(f"unknown attention variant {variant!r}; choose one of {ATTENTION_VARIANTS}")
    for name, value in (("q", q), ("k", k), ("v", v)):
        _tensor("attention", name, value)
    if not isinstance(causal, bool):
        raise TypeError(f"attention: causal must be a bool, got {type(causal).__name__}")
    if q.dim() != 4 or q.shape != k.shape or k.shape[:-1] != v.shape[:-1]:
        raise ValueError(f"q, k, v must be (batch, heads, tokens, head_dim) alike; got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if variant == "softmax":
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    logits = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if causal:
        n = q.shape[-2]
        mask = torch.ones(n, n, dtype=torch.bool, device=q.device).tril()
        logits = logits.masked_fill(~mask, float("-inf"))
    return torch.softmax(logits, dim=-1).sqrt() @ v


def embedding(ids: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Token embedding (output multiplier 1, as Table 2 of the paper prescribes): ``ids``
    (any shape, int64/int32, values in ``[0, vocab)``) and ``weight`` ``(vocab, dim)`` ->
    ``(*ids.shape, dim)``.

    The id range is checked only for CPU tensors outside ``torch.compile``: on an
    accelerator a min/max would sync the device on every step, so there an out-of-range id
    is left to PyTorch's own (device-side) index check."""
    _tensor("embedding", "ids", ids)
    _tensor("embedding", "weight", weight)
    if ids.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"token ids must be int64 or int32, got {ids.dtype}")
    if weight.dim() != 2:
        raise ValueError(f"embedding: weight must be (vocab, dim), got {tuple(weight.shape)}")
    if ids.device.type == "cpu" and ids.numel() and not torch.compiler.is_compiling():
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= weight.shape[0]:
            raise ValueError(f"embedding: ids must lie in [0, {weight.shape[0]}), got "
                             f"{low}..{high}")
    return F.embedding(ids, weight)


def readout(x: torch.Tensor, weight: torch.Tensor, *, alpha: float | None = None) -> torch.Tensor:
    """The LM head ``alpha * x @ weight.T`` with ``alpha = 1/fan_in`` by default (μS's
    readout multiplier); kept in high precision. ``x`` ``(..., dim)``, ``weight``
    ``(vocab, dim)``."""
    _tensor("readout", "x", x)
    _tensor("readout", "weight", weight)
    if weight.dim() != 2 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"readout: x (..., {x.shape[-1]}) does not match weight "
                         f"{tuple(weight.shape)}: expected weight of shape (vocab, dim)")
    fan_in = weight.shape[1]
    alpha = 1.0 / fan_in if alpha is None else check_real("alpha", alpha)
    return F.linear(x, weight) * alpha


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor, *,
                  grad_scale: float = 1.0) -> torch.Tensor:
    """Mean cross-entropy (nats per token) of ``logits (..., vocab)`` against ``targets
    (...)``, whose gradient is multiplied by the fixed ``grad_scale`` in the backward pass.

    With ``grad_scale = n_tokens`` the backward pass is that of the summed loss, so the
    gradients do not shrink with the batch; μS uses ``n_tokens * d_model``, which also undoes
    the readout's ``1/d`` so that the gradient entering the last block has unit scale."""
    _tensor("cross_entropy", "logits", logits)
    _tensor("cross_entropy", "targets", targets)
    grad_scale = _positive("grad_scale", grad_scale)
    if logits.shape[:-1] != targets.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} "
                         "must agree on all but the last dimension")
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1))
    return scale_gradient(loss, grad_scale) if grad_scale != 1.0 else loss
