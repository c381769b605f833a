"""Real FP8 matmuls on a GPU with static scales (no amax, no delayed scaling).

:class:`FP8LinearFunction` runs the forward GEMM and both backward GEMMs of
``y = alpha * x @ W.T`` through ``torch._scaled_mm``:

- forward:  ``y  = alpha * x8 @ W8.T``   (x8, W8 in E4M3)
- backward: ``dx = alpha * g8 @ W8``     (g8 = dy in E5M2, W8 in E4M3)
            ``dW = alpha * g8.T @ x8``   (g8 in E5M2, x8 in E4M3)

The scale is the μS output multiplier ``alpha = 1/sqrt(fan_in)``, passed as ``scale_a``;
``scale_b`` is 1. Casts clip to the format's range (no inf). ``torch._scaled_mm(a, b)``
needs ``a`` row-major and ``b`` column-major, every dimension of ``b`` and the shared one a
multiple of 16, float32 scalar scales on the device, and it rejects E5M2 x E5M2 (here the
gradient is always paired with an E4M3 operand). Outputs are BF16; gradients are returned
in their parameters' dtypes.

The backward's transposed FP8 operands (``g8.T``, and ``W8`` and ``x8`` column-major) come
from the tiled Triton kernels of :mod:`.fp8_transpose` where Triton runs, or from a cast and
PyTorch's transposed copies otherwise (or with ``EFFNOTES_FP8_TRANSPOSE=torch``); both give
the same bytes. The backward makes only what the requested gradients need: the weight's
transpose for ``dx``, the gradient's and the input's transposes for ``dW``.

:class:`FP8Linear` wraps it as a module that works under ``torch.compile`` (the forward casts
fuse into the surrounding kernels). Where FP8 GEMMs are unavailable (no CUDA,
a GPU older than compute capability 8.9, a torch without ``_scaled_mm``, or shapes not
multiples of 16) it warns once, naming the reason, and falls back to the CPU simulation of
:mod:`.formats`, which rounds the same operands to the same formats.
"""

from __future__ import annotations

import math
import os
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from effnotes.unit_scaling.formats import E4M3, E5M2, cast_backward, cast_forward
from effnotes.unit_scaling.fp8_transpose import cast_transpose, transpose, triton_unavailable_reason

#: how the backward makes its transposed FP8 operands: "triton" (tiled kernels, where
#: Triton can run) or "torch" (cast, then transposed copies); set by EFFNOTES_FP8_TRANSPOSE
TRANSPOSE_KERNELS = os.environ.get("EFFNOTES_FP8_TRANSPOSE", "triton")
if TRANSPOSE_KERNELS not in ("triton", "torch"):
    raise ValueError("EFFNOTES_FP8_TRANSPOSE must be 'triton' or 'torch', "
                     f"got {TRANSPOSE_KERNELS!r}")

_warned: set[str] = set()


def _warn_once(reason: str) -> None:
    if reason not in _warned:
        _warned.add(reason)
        warnings.warn(f"real FP8 GEMMs unavailable ({reason}); using the FP8 simulation "
                      "(same formats, high-precision matmuls)", RuntimeWarning, stacklevel=3)


#: CUDA device index -> why FP8 GEMMs cannot run there (None: they can). Filled eagerly, so
#: that code compiled with torch.compile reads it as a constant.
_REASONS: dict[int, str | None] = {}


def fp8_unavailable_reason(device: str | torch.device = "cuda") -> str | None:
    """Why real FP8 GEMMs cannot run on ``device`` (``None`` when they can). Checks for
    CUDA, compute capability >= 8.9 (Ada, Hopper, Blackwell), ``torch._scaled_mm``, and
    runs one tiny FP8 GEMM; the answer is cached per device. Call it (or
    :func:`fp8_available`) once before compiling a model that uses FP8 layers."""
    dev = torch.device(device)
    if dev.type != "cuda":
        return f"device {dev} is not a CUDA device"
    if not torch.cuda.is_available():
        return "no CUDA device"
    index = dev.index if dev.index is not None else torch.cuda.current_device()
    if index not in _REASONS:
        _REASONS[index] = _probe(torch.device("cuda", index))
    return _REASONS[index]


def _reason_for(x: torch.Tensor) -> str | None:
    """The cached answer for ``x``'s device, read without calling into CUDA (so that
    torch.compile sees a constant); probes eagerly the first time."""
    if not x.is_cuda:
        return "tensor is not on a CUDA device"
    index = x.device.index
    if index in _REASONS:
        return _REASONS[index]
    return fp8_unavailable_reason(x.device)


@torch.compiler.disable
def _probe(dev: torch.device) -> str | None:
    if not hasattr(torch, "_scaled_mm"):
        return f"torch {torch.__version__} has no torch._scaled_mm"
    major, minor = torch.cuda.get_device_capability(dev)
    if (major, minor) < (8, 9):
        return f"compute capability {major}.{minor} < 8.9 has no FP8 tensor cores"
    try:
        a = torch.ones(16, 32, device=dev).to(torch.float8_e4m3fn)
        b = torch.ones(16, 32, device=dev).to(torch.float8_e4m3fn).t()
        one = torch.ones((), device=dev, dtype=torch.float32)
        out = torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
        if float(out[0, 0]) != 32.0:
            return f"a test FP8 GEMM returned {float(out[0, 0])} instead of 32"
    except (RuntimeError, TypeError) as error:  # pragma: no cover - depends on the GPU
        return f"a test FP8 GEMM failed: {error}"
    return None


def fp8_available(device: str | torch.device = "cuda") -> bool:
    """Whether :class:`FP8LinearFunction` can run on ``device``."""
    return fp8_unavailable_reason(device) is None


def _fp8(x: torch.Tensor, fmt) -> torch.Tensor:
    return x.clamp(-fmt.max, fmt.max).to(fmt.dtype)


def _column_major(t: torch.Tensor) -> torch.Tensor:
    """The same matrix stored column-major (a transposed contiguous copy, viewed back)."""
    return t.t().contiguous().t()


def _tiled_transposes(t: torch.Tensor) -> bool:
    """Whether the backward makes its transposed FP8 operands with the tiled Triton kernels
    of :mod:`.fp8_transpose` (where they can run and ``EFFNOTES_FP8_TRANSPOSE`` is not
    ``"torch"``) rather than with a cast and PyTorch's transposed copies."""
    return TRANSPOSE_KERNELS == "triton" and triton_unavailable_reason(t) is None


def _mm(a: torch.Tensor, b: torch.Tensor, scale_a: torch.Tensor,
        scale_b: torch.Tensor) -> torch.Tensor:
    return torch._scaled_mm(a, b, scale_a=scale_a, scale_b=scale_b, out_dtype=torch.bfloat16)


class FP8LinearFunction(torch.autograd.Function):
    """``alpha * x @ weight.T`` with all three GEMMs in FP8 (see the module docstring).

    ``x``: ``(M, K)``; ``weight``: ``(N, K)``; ``scale``: a float32 scalar tensor holding
    ``alpha`` on the same device; ``one``: a float32 scalar 1. Returns ``(M, N)`` BF16.
    M, K and N must be multiples of 16."""

    @staticmethod
    def forward(ctx, x, weight, scale, one):
        x8 = _fp8(x, E4M3)                       # (M, K) row-major
        w8 = _fp8(weight, E4M3)                  # (N, K) row-major; w8.t() is column-major
        out = _mm(x8, w8.t(), scale, one)        # (M, N)
        ctx.save_for_backward(x8, w8, scale, one)
        ctx.x_dtype, ctx.w_dtype = x.dtype, weight.dtype
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x8, w8, scale, one = ctx.saved_tensors
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_x = grad_w = None
        if _tiled_transposes(grad_out):
            if need_w:                                     # (M, N) and (N, M), one read
                g8, g8_t = cast_transpose(grad_out, E5M2)
            else:
                g8 = _fp8(grad_out.contiguous(), E5M2)
            if need_x:
                # (M, N) @ (N, K): b = w8 (N, K) must be column-major
                grad_x = _mm(g8, transpose(w8).t(), scale, one).to(ctx.x_dtype)
            if need_w:
                # (N, M) @ (M, K): a = g8.T row-major, b = x8 (M, K) column-major
                grad_w = _mm(g8_t, transpose(x8).t(), scale, one).to(ctx.w_dtype)
        else:
            g8 = _fp8(grad_out.contiguous(), E5M2)         # (M, N) row-major
            if need_x:
                grad_x = _mm(g8, _column_major(w8), scale, one).to(ctx.x_dtype)
            if need_w:
                grad_w = _mm(g8.t().contiguous(), _column_major(x8), scale, one).to(ctx.w_dtype)
        return grad_x, grad_w, None, None


def _shape_problem(x2d: torch.Tensor, weight: torch.Tensor) -> str | None:
    m, k = x2d.shape
    n = weight.shape[0]
    if m % 16 or k % 16 or n % 16:
        return f"FP8 GEMMs need every dimension a multiple of 16, got M={m}, K={k}, N={n}"
    return None


def _simulated(x: torch.Tensor, weight: torch.Tensor, alpha: float) -> torch.Tensor:
    out = F.linear(cast_forward(x, E4M3), cast_forward(weight, E4M3).to(x.dtype)) * alpha
    return cast_backward(out, E5M2)


def fp8_linear(x: torch.Tensor, weight: torch.Tensor, alpha: float,
               scale: torch.Tensor | None = None, one: torch.Tensor | None = None) -> torch.Tensor:
    """``alpha * x @ weight.T`` for ``x (..., K)`` and ``weight (N, K)`` through real FP8
    GEMMs, or the simulation (with a one-time warning saying why) where they cannot run.
    ``scale``/``one`` may be given as float32 device scalars to avoid making them per call."""
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(f"x (..., {x.shape[-1]}) does not match weight {tuple(weight.shape)}")
    reason = _reason_for(x)
    x2d = x.reshape(-1, x.shape[-1])
    if reason is None:
        reason = _shape_problem(x2d, weight)
    if reason is not None:
        _warn_once(reason)
        return _simulated(x, weight, alpha)
    if scale is None:
        scale = torch.full((), alpha, device=x.device, dtype=torch.float32)
    if one is None:
        one = torch.ones((), device=x.device, dtype=torch.float32)
    out = FP8LinearFunction.apply(x2d, weight, scale.float(), one.float())
    return out.reshape(*x.shape[:-1], weight.shape[0])


class FP8Linear(nn.Module):
    """A μS linear layer (unit-variance weight, static ``1/sqrt(in_features)`` scale) whose
    GEMMs run in FP8 on a capable GPU; elsewhere it uses the simulation (warning once).
    Input ``(..., in_features)``, output ``(..., out_features)`` in BF16 on the FP8 path."""

    def __init__(self, in_features: int, out_features: int, *, alpha: float | None = None) -> None:
        super().__init__()
        self.alpha = 1.0 / math.sqrt(in_features) if alpha is None else float(alpha)
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        # scales as buffers: they move with the module and are graph constants under compile
        self.register_buffer("scale", torch.tensor(self.alpha, dtype=torch.float32), persistent=False)
        self.register_buffer("one", torch.tensor(1.0, dtype=torch.float32), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fp8_linear(x, self.weight, self.alpha, self.scale, self.one)

    def extra_repr(self) -> str:
        out_f, in_f = self.weight.shape
        return f"{in_f} -> {out_f}, alpha={self.alpha:.4g}"
