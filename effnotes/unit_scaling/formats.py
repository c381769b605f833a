"""FP8 formats and their simulation on any device.

Two 8-bit floating-point formats matter for training (both as PyTorch implements them):

- **E4M3** (``torch.float8_e4m3fn``): 4 exponent and 3 mantissa bits, largest value 448,
  smallest normal 2^-6, smallest subnormal 2^-9. Used for weights and activations.
- **E5M2** (``torch.float8_e5m2``): 5 exponent and 2 mantissa bits, largest value 57344,
  smallest normal 2^-14 (about 6.1e-5), smallest subnormal 2^-16. Used for gradients.

:func:`quantize` rounds a tensor to a format and returns it in its original dtype, so the
rest of the computation runs in high precision on values an FP8 tensor can hold. Values
beyond the format's range are **clipped** to its largest value (no inf or NaN), as unit
scaling prescribes. :func:`cast_forward` and :func:`cast_backward` put such a rounding on
the forward or the backward pass of an autograd graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class FP8Format:
    """An FP8 format: its ``name``, the torch ``dtype``, largest finite value ``max``,
    smallest normal ``min_normal`` and smallest subnormal ``min_subnormal``."""

    name: str
    dtype: torch.dtype
    max: float
    min_normal: float
    min_subnormal: float


E4M3 = FP8Format("e4m3", torch.float8_e4m3fn, 448.0, 2.0**-6, 2.0**-9)
E5M2 = FP8Format("e5m2", torch.float8_e5m2, 57344.0, 2.0**-14, 2.0**-16)
FORMATS = {"e4m3": E4M3, "e5m2": E5M2}


def get_format(fmt: str | FP8Format) -> FP8Format:
    """The :class:`FP8Format` called ``fmt`` ("e4m3" or "e5m2"); a clear error otherwise."""
    if isinstance(fmt, FP8Format):
        return fmt
    if not isinstance(fmt, str) or fmt.lower() not in FORMATS:
        raise ValueError(f"unknown FP8 format {fmt!r}; choose one of {sorted(FORMATS)}")
    return FORMATS[fmt.lower()]


def _check_float(x: torch.Tensor, what: str = "x") -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point() or x.dtype in (torch.float8_e4m3fn, torch.float8_e5m2):
        raise TypeError(f"{what} must be a float16/bfloat16/float32/float64 tensor, got {x.dtype}")


def to_fp8(x: torch.Tensor, fmt: str | FP8Format) -> torch.Tensor:
    """``x`` clipped to the format's range and cast to its FP8 dtype (same shape)."""
    fmt = get_format(fmt)
    _check_float(x)
    return x.clamp(-fmt.max, fmt.max).to(fmt.dtype)


def quantize(x: torch.Tensor, fmt: str | FP8Format) -> torch.Tensor:
    """``x`` rounded to the nearest value of ``fmt`` (clipped to its range), returned in
    ``x``'s own dtype and shape. Not differentiable by itself: see :func:`cast_forward`."""
    return to_fp8(x, fmt).to(x.dtype)


def underflow_fraction(x: torch.Tensor, fmt: str | FP8Format) -> float:
    """Fraction of the **non-zero** entries of ``x`` that round to zero in ``fmt``
    (0.0 for a tensor with no non-zero entries)."""
    fmt = get_format(fmt)
    _check_float(x)
    nonzero = x != 0
    count = int(nonzero.sum())
    if count == 0:
        return 0.0
    flushed = nonzero & (to_fp8(x.detach(), fmt).to(torch.float32) == 0)
    return float(flushed.sum()) / count


def saturation_fraction(x: torch.Tensor, fmt: str | FP8Format) -> float:
    """Fraction of the entries of ``x`` whose magnitude exceeds the format's largest value
    (they are clipped to it)."""
    fmt = get_format(fmt)
    _check_float(x)
    if x.numel() == 0:
        return 0.0
    return float((x.detach().abs() > fmt.max).float().mean())


class _CastForward(torch.autograd.Function):
    """Round to a format in the forward pass; pass the gradient through unchanged."""

    @staticmethod
    def forward(ctx, x, fmt):  # noqa: D401 - autograd signature
        return quantize(x, fmt)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class _CastBackward(torch.autograd.Function):
    """Identity in the forward pass; round the incoming gradient to a format."""

    @staticmethod
    def forward(ctx, x, fmt):
        ctx.fmt = fmt
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return quantize(grad, ctx.fmt), None


def cast_forward(x: torch.Tensor, fmt: str | FP8Format = "e4m3") -> torch.Tensor:
    """``x`` rounded to ``fmt`` in the forward pass (straight-through gradient)."""
    fmt = get_format(fmt)
    _check_float(x)
    return _CastForward.apply(x, fmt)


def cast_backward(x: torch.Tensor, fmt: str | FP8Format = "e5m2") -> torch.Tensor:
    """``x`` unchanged in the forward pass; the gradient flowing back through it is rounded
    to ``fmt``."""
    fmt = get_format(fmt)
    _check_float(x)
    return _CastBackward.apply(x, fmt)


def cast_fp8(x: torch.Tensor, forward: str | FP8Format = "e4m3",
             backward: str | FP8Format = "e5m2") -> torch.Tensor:
    """The FP8 training cast of a matmul operand: ``forward`` format on the way in,
    ``backward`` format for the gradient that comes back."""
    return cast_backward(cast_forward(x, forward), backward)


def dynamic_scale(x: torch.Tensor, fmt: str | FP8Format) -> torch.Tensor:
    """The per-tensor scale of dynamic FP8 scaling: ``fmt.max / amax(|x|)`` as a float32
    0-d tensor (1 for an all-zero tensor), so that ``x * scale`` fills the format's range."""
    fmt = get_format(fmt)
    _check_float(x)
    amax = x.detach().abs().amax().float()
    return torch.where(amax > 0, fmt.max / amax.clamp_min(torch.finfo(torch.float32).tiny),
                       torch.ones_like(amax))


def quantize_dynamic(x: torch.Tensor, fmt: str | FP8Format) -> torch.Tensor:
    """``x`` as an FP8 cast with a per-tensor dynamic scale leaves it: scaled so that its
    largest magnitude maps to the format's largest value, rounded, and scaled back (in
    ``x``'s dtype). This is what recipes with amax-based scales (TransformerEngine,
    torchao's tensorwise float8) do to each operand."""
    scale = dynamic_scale(x, fmt)
    return (quantize((x.float() * scale), fmt) / scale).to(x.dtype)


class _CastForwardDynamic(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, fmt):
        return quantize_dynamic(x, fmt)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class _CastBackwardDynamic(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, fmt):
        ctx.fmt = fmt
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return quantize_dynamic(grad, ctx.fmt), None


def cast_forward_dynamic(x: torch.Tensor, fmt: str | FP8Format = "e4m3") -> torch.Tensor:
    """:func:`quantize_dynamic` in the forward pass (straight-through gradient)."""
    fmt = get_format(fmt)
    _check_float(x)
    return _CastForwardDynamic.apply(x, fmt)


def cast_backward_dynamic(x: torch.Tensor, fmt: str | FP8Format = "e5m2") -> torch.Tensor:
    """Identity in the forward pass; the gradient flowing back is cast with its own
    per-tensor dynamic scale (:func:`quantize_dynamic`)."""
    fmt = get_format(fmt)
    _check_float(x)
    return _CastBackwardDynamic.apply(x, fmt)
