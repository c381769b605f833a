"""FP8 operands in both memory layouts from one tiled pass (a Triton kernel).

The backward pass of an FP8 linear layer needs its operands transposed:
``torch._scaled_mm(a, b)`` wants ``a`` row-major and ``b`` column-major, so the weight
gradient ``dW = g.T @ x`` needs ``g`` (the output gradient) and ``x`` (the layer input) both
stored with the token dimension last. Written element by element, a transposed copy of a
1-byte tensor either reads or writes with a stride, and wastes most of each memory
transaction. :func:`cast_transpose` instead loads a tile, casts it to FP8 in registers,
and writes it twice, once as it is and once transposed, both writes contiguous along a
tile row; :func:`transpose` does the same for a tensor that is FP8 already.

Both are registered as PyTorch operators (``effnotes::fp8_cast_transpose`` and
``effnotes::fp8_transpose``), so ``torch.compile`` calls them as they are. They need
Triton and a CUDA tensor (or ``TRITON_INTERPRET=1`` set before import, which runs the
kernel on the CPU for testing); :func:`triton_unavailable_reason` says why not otherwise,
and :func:`cast_transpose_reference` is the same computation in plain PyTorch.
"""

from __future__ import annotations

import os

import torch

from effnotes.unit_scaling.formats import FP8Format, get_format

try:  # Triton ships with CUDA builds of PyTorch; the CPU build has none
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the installation
    triton = None

_INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"

#: tile (rows, columns) read by one program, and the warps that work on it
BLOCK = (64, 128)
NUM_WARPS = 4


def triton_unavailable_reason(x: torch.Tensor) -> str | None:
    """Why the Triton kernels cannot run on ``x`` (``None`` when they can)."""
    if triton is None:
        return "Triton is not installed"
    if not x.is_cuda and not _INTERPRET:
        return f"tensor is on {x.device}, and TRITON_INTERPRET=1 is not set"
    return None


def _check_2d(x: torch.Tensor, what: str) -> None:
    if x.dim() != 2:
        raise ValueError(f"{what} must be 2-D (rows, columns), got shape {tuple(x.shape)}")


if triton is not None:

    @triton.jit
    def _cast_transpose_kernel(src, out, out_t, n_rows, n_cols, stride_r, stride_c, limit,
                               CAST: tl.constexpr, WRITE_ROWS: tl.constexpr,
                               BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr,
                               CLAMP_WITH_WHERE: tl.constexpr = False):
        rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
        cols = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
        inside = (rows[:, None] < n_rows) & (cols[None, :] < n_cols)
        tile = tl.load(src + rows[:, None] * stride_r + cols[None, :] * stride_c, mask=inside)
        if CAST:
            wide = tile.to(tl.float32)
            if CLAMP_WITH_WHERE:  # a diagnostic variant (fp8_transpose_bench --fused-sources)
                wide = tl.where(wide > limit, limit, tl.where(wide < -limit, -limit, wide))
            else:
                wide = tl.minimum(tl.maximum(wide, -limit), limit)
            tile = wide.to(out_t.dtype.element_ty, fp_downcast_rounding="rtne")
        if WRITE_ROWS:
            tl.store(out + rows[:, None] * n_cols + cols[None, :], tile, mask=inside)
        tl.store(out_t + cols[:, None] * n_rows + rows[None, :], tl.trans(tile),
                 mask=tl.trans(inside))


def _launch(x: torch.Tensor, out: torch.Tensor | None, out_t: torch.Tensor, limit: float,
            cast: bool, block: tuple[int, int] = BLOCK, num_warps: int = NUM_WARPS) -> None:
    """Fill ``out_t`` (and ``out`` unless None) from ``x``; ``cast`` clips to ``limit`` and
    converts to ``out_t``'s dtype. ``block`` and ``num_warps`` are there for tuning."""
    n_rows, n_cols = x.shape
    if n_rows == 0 or n_cols == 0:
        return
    grid = (triton.cdiv(n_rows, block[0]), triton.cdiv(n_cols, block[1]))
    _cast_transpose_kernel[grid](x, out_t if out is None else out, out_t, n_rows, n_cols,
                                 x.stride(0), x.stride(1), limit, CAST=cast,
                                 WRITE_ROWS=out is not None, BLOCK_R=block[0],
                                 BLOCK_C=block[1], num_warps=num_warps)


#: source dtypes that the fused kernel casts itself; float32 takes the two-pass path
FUSED_SOURCE_DTYPES = (torch.float16, torch.bfloat16)


@torch.library.custom_op("effnotes::fp8_cast_transpose", mutates_args=())
def _cast_transpose_op(x: torch.Tensor, fmt: str) -> tuple[torch.Tensor, torch.Tensor]:
    spec = get_format(fmt)
    out_t = torch.empty((x.shape[1], x.shape[0]), dtype=spec.dtype, device=x.device)
    if x.dtype in FUSED_SOURCE_DTYPES:
        out = torch.empty(x.shape, dtype=spec.dtype, device=x.device)
        _launch(x, out, out_t, spec.max, cast=True)
    else:  # float32: PyTorch's clipped cast, then the FP8 transpose kernel (see cast_transpose)
        out = x.clamp(-spec.max, spec.max).to(spec.dtype, memory_format=torch.contiguous_format)
        _launch(out, None, out_t, 0.0, cast=False)
    return out, out_t


@_cast_transpose_op.register_fake
def _(x: torch.Tensor, fmt: str) -> tuple[torch.Tensor, torch.Tensor]:
    dtype = get_format(fmt).dtype
    return x.new_empty(x.shape, dtype=dtype), x.new_empty((x.shape[1], x.shape[0]), dtype=dtype)


@torch.library.custom_op("effnotes::fp8_transpose", mutates_args=())
def _transpose_op(x: torch.Tensor) -> torch.Tensor:
    out_t = torch.empty((x.shape[1], x.shape[0]), dtype=x.dtype, device=x.device)
    _launch(x, None, out_t, 0.0, cast=False)
    return out_t


@_transpose_op.register_fake
def _(x: torch.Tensor) -> torch.Tensor:
    return x.new_empty((x.shape[1], x.shape[0]))


_FP8_DTYPES = (torch.float8_e4m3fn, torch.float8_e5m2)


def cast_transpose(x: torch.Tensor, fmt: FP8Format | str) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` ``(rows, cols)`` (float16, bfloat16 or float32, any strides) clipped to
    ``fmt``'s range and cast to it, returned twice: ``(rows, cols)`` row-major and its
    transpose ``(cols, rows)`` row-major. Rounds to nearest even, as
    ``x.clamp(-max, max).to(fmt.dtype)`` does; any other dtype is a ``TypeError``.

    float16 and bfloat16 (what the backward pass sees under BF16 autocast) are read once
    by the fused kernel. float32 takes two passes: PyTorch's clipped cast, then the FP8
    :func:`transpose` kernel. The fused kernel compiled for a float32 source writes wrong
    bytes on an H200 (torch 2.11, Triton 3.6): on a shape that is a whole number of tiles
    (256 x 384) about a quarter of the *transposed* output is wrong, whether it clips with
    min/max or ``tl.where``, while its row-major output, a ragged shape (1000 x 333) and
    bfloat16 or float16 sources are exact (``results/unit_scaling/fp8_transpose_gpu_tests.log``).
    Under Triton's interpreter, which runs the kernel's indexing and masking as written,
    the same kernel is right at that shape, and its addressing does not depend on the
    element size (offsets are in elements of each pointer's own dtype); what a float32
    source changes is the compiled code (4-wide instead of 8-wide loads, and the register
    layout of the FP8 tile the transposed store reads from).
    ``python -m effnotes.unit_scaling.fp8_transpose_bench --fused-sources`` runs the fused
    kernel on every source dtype (and a variant that clips with ``tl.where`` instead of
    min/max) against PyTorch, to show where it goes wrong."""
    spec = get_format(fmt) if isinstance(fmt, str) else fmt
    _check_2d(x, "x")
    if x.dtype not in (torch.float16, torch.bfloat16, torch.float32):
        raise TypeError(f"x must be float16, bfloat16 or float32, got {x.dtype}")
    reason = triton_unavailable_reason(x)
    if reason is not None:
        raise RuntimeError(f"cast_transpose cannot run: {reason}")
    return _cast_transpose_op(x, spec.name)


def transpose(x8: torch.Tensor) -> torch.Tensor:
    """The transpose ``(cols, rows)``, row-major, of an FP8 tensor ``x8`` ``(rows, cols)``."""
    _check_2d(x8, "x8")
    if x8.dtype not in _FP8_DTYPES:
        raise TypeError(f"x8 must be float8_e4m3fn or float8_e5m2, got {x8.dtype}")
    reason = triton_unavailable_reason(x8)
    if reason is not None:
        raise RuntimeError(f"transpose cannot run: {reason}")
    return _transpose_op(x8)


def cast_transpose_reference(x: torch.Tensor, fmt: FP8Format | str
                             ) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`cast_transpose` in plain PyTorch (a cast and a transposed copy)."""
    spec = get_format(fmt) if isinstance(fmt, str) else fmt
    _check_2d(x, "x")
    out = x.clamp(-spec.max, spec.max).to(spec.dtype)
    return out, out.t().contiguous()
