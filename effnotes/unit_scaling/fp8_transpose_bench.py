"""Benchmark: the tiled FP8 cast-and-transpose kernels against PyTorch's way of doing it.

For the operand shapes of the throughput model's backward pass (16k tokens, width 2048), it
times, with ``triton.testing.do_bench`` on one CUDA device:

- *cast + transpose* of a BF16 gradient to E5M2 in both layouts: PyTorch eager (a clipped
  cast, then ``.t().contiguous()``), the same compiled with ``torch.compile``, and
  :func:`.fp8_transpose.cast_transpose` at a few tile sizes;
- *transpose* of an E4M3 tensor: eager, compiled, and :func:`.fp8_transpose.transpose`.

It checks that every variant gives the same bytes as eager PyTorch, and prints each time
with its effective bandwidth (bytes read and written over time) and its speed relative to
compiled PyTorch, measured in the same run. Needs CUDA and Triton::

    python -m effnotes.unit_scaling.fp8_transpose_bench
"""

from __future__ import annotations

import pandas as pd
import torch

from effnotes.unit_scaling.formats import E4M3, E5M2
from effnotes.unit_scaling.fp8_transpose import _launch, cast_transpose_reference

#: (rows, columns) of the operands: tokens x width for the q/k/v, projection, MLP-up and
#: MLP-down gradients and inputs of one block at the throughput model's defaults
SHAPES = ((16384, 6144), (16384, 2048), (16384, 8192))
#: (tile rows, tile columns, warps) tried for the Triton kernel
TILES = ((64, 64, 4), (64, 128, 4), (128, 64, 4), (128, 128, 8), (32, 128, 4), (128, 32, 4))


def _same_bytes(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.equal(a.view(torch.uint8), b.view(torch.uint8))


def _triton_cast(x, fmt, tile):
    out = torch.empty(x.shape, dtype=fmt.dtype, device=x.device)
    out_t = torch.empty((x.shape[1], x.shape[0]), dtype=fmt.dtype, device=x.device)
    _launch(x, out, out_t, fmt.max, cast=True, block=tile[:2], num_warps=tile[2])
    return out, out_t


def _triton_transpose(x8, tile):
    out_t = torch.empty((x8.shape[1], x8.shape[0]), dtype=x8.dtype, device=x8.device)
    _launch(x8, None, out_t, 0.0, cast=False, block=tile[:2], num_warps=tile[2])
    return out_t


def bench_cast_transpose(shape: tuple[int, int], device: torch.device) -> list[dict]:
    """One row per variant for a BF16 ``shape`` cast to E5M2 in both layouts."""
    from triton.testing import do_bench

    x = torch.randn(shape, device=device, dtype=torch.bfloat16) * 1000
    compiled = torch.compile(lambda t: cast_transpose_reference(t, E5M2))
    want = cast_transpose_reference(x, E5M2)
    variants = {"torch eager": lambda: cast_transpose_reference(x, E5M2),
                "torch compiled": lambda: compiled(x)}
    for tile in TILES:
        variants[f"triton {tile[0]}x{tile[1]}/{tile[2]}w"] = (lambda t=tile: _triton_cast(x, E5M2, t))
    moved = x.numel() * (2 + 1 + 1)
    return _time(variants, want, moved, "cast+transpose", shape, do_bench)


def bench_transpose(shape: tuple[int, int], device: torch.device) -> list[dict]:
    """One row per variant for transposing an E4M3 ``shape``."""
    from triton.testing import do_bench

    x8 = (torch.randn(shape, device=device) * 10).to(E4M3.dtype)
    compiled = torch.compile(lambda t: t.t().contiguous())
    want = x8.t().contiguous()
    variants = {"torch eager": lambda: x8.t().contiguous(), "torch compiled": lambda: compiled(x8)}
    for tile in TILES:
        variants[f"triton {tile[0]}x{tile[1]}/{tile[2]}w"] = (lambda t=tile: _triton_transpose(x8, t))
    return _time(variants, want, 2 * x8.numel(), "transpose", shape, do_bench)


def _time(variants, want, moved_bytes, task, shape, do_bench) -> list[dict]:
    rows = []
    for name, fn in variants.items():
        got = fn()
        same = all(_same_bytes(g, w) for g, w in zip(got, want)) if isinstance(want, tuple) \
            else _same_bytes(got, want)
        ms = do_bench(fn, warmup=25, rep=100)
        rows.append({"task": task, "shape": f"{shape[0]}x{shape[1]}", "variant": name,
                     "ms": ms, "GB/s": moved_bytes / ms / 1e6, "same bytes": same})
    table = pd.DataFrame(rows)
    base = table.loc[table["variant"] == "torch compiled", "ms"].iloc[0]
    table["x vs compiled"] = base / table["ms"]
    return table.to_dict("records")


def fused_source_check(device: torch.device, dump: str | None = None) -> pd.DataFrame:
    """The fused cast-and-transpose kernel run directly (bypassing
    :func:`~effnotes.unit_scaling.fp8_transpose.cast_transpose`'s
    routing of float32 to the two-pass path) on each source dtype, format and tile, with
    the clip written as min/max (as used) and, at 64x128, as ``tl.where`` (a variant that
    avoids min/max instructions, which a known Triton FP8-store miscompile involves),
    against PyTorch: mismatching bytes in each output and the first mismatching row. With ``dump``
    (a folder), also writes the 64x128 variants' Triton GPU IR and PTX there, for
    reading the layouts the compiler chose."""
    from pathlib import Path

    from effnotes.unit_scaling.fp8_transpose import _cast_transpose_kernel, triton

    rows = []
    g = torch.Generator(device=device).manual_seed(1)
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        for fmt in (E4M3, E5M2):
            for tile, where in (((64, 128, 4), False), ((64, 64, 4), False),
                                ((32, 128, 4), False), ((64, 128, 4), True)):
                for shape in ((256, 384), (1000, 333)):
                    x = (torch.randn(shape, device=device, generator=g) * 300).to(dtype)
                    want, want_t = cast_transpose_reference(x, fmt)
                    out = torch.full(x.shape, 0x22, dtype=torch.uint8, device=device).view(fmt.dtype)
                    out_t = torch.full(want_t.shape, 0x22, dtype=torch.uint8,
                                       device=device).view(fmt.dtype)
                    grid = (triton.cdiv(shape[0], tile[0]), triton.cdiv(shape[1], tile[1]))
                    handle = _cast_transpose_kernel[grid](
                        x, out, out_t, shape[0], shape[1], x.stride(0), x.stride(1), fmt.max,
                        CAST=True, WRITE_ROWS=True, BLOCK_R=tile[0], BLOCK_C=tile[1],
                        num_warps=tile[2], CLAMP_WITH_WHERE=where)
                    bad = out.view(torch.uint8) != want.view(torch.uint8)
                    bad_t = out_t.view(torch.uint8) != want_t.view(torch.uint8)
                    first = bad.any(1).nonzero()
                    rows.append({"dtype": str(dtype).replace("torch.", ""), "fmt": fmt.name,
                                 "tile": f"{tile[0]}x{tile[1]}/{tile[2]}w",
                                 "clamp": "tl.where" if where else "min/max", "shape": shape,
                                 "bad_bytes": int(bad.sum()), "bad_bytes_t": int(bad_t.sum()),
                                 "first_bad_row": int(first[0]) if len(first) else -1})
                    if dump and shape == (256, 384) and tile == (64, 128, 4):
                        folder = Path(dump)
                        folder.mkdir(parents=True, exist_ok=True)
                        stem = (f"{rows[-1]['dtype']}_{fmt.name}_{tile[0]}x{tile[1]}"
                                f"{'_where' if where else ''}")
                        for kind in ("ttgir", "ptx"):
                            if kind in handle.asm:
                                (folder / f"{stem}.{kind}").write_text(str(handle.asm[kind]))
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    """Command line: run the benchmark on the first CUDA device and print its table."""
    import argparse

    from effnotes.unit_scaling.fp8_transpose import triton

    parser = argparse.ArgumentParser(prog="python -m effnotes.unit_scaling.fp8_transpose_bench",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fused-sources", action="store_true",
                        help="only check the fused kernel on each source dtype (no timing)")
    parser.add_argument("--dump", help="with --fused-sources: write Triton IR and PTX here")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available() or triton is None:
        raise SystemExit("this benchmark needs a CUDA device and Triton "
                         f"(CUDA available: {torch.cuda.is_available()}, "
                         f"Triton installed: {triton is not None})")
    device = torch.device("cuda")
    if args.fused_sources:
        print(f"fused cast+transpose kernel by source dtype on {torch.cuda.get_device_name()} "
              f"(torch {torch.__version__}, triton {triton.__version__})")
        print(fused_source_check(device, args.dump).to_string(index=False))
        return 0
    rows = []
    for shape in SHAPES:
        rows += bench_cast_transpose(shape, device)
        rows += bench_transpose(shape, device)
    table = pd.DataFrame(rows)
    print(f"FP8 cast+transpose and transpose on {torch.cuda.get_device_name(device)} "
          f"(torch {torch.__version__}); 'x vs compiled' is torch.compile's time over this one")
    print(table.round(3).to_string(index=False))
    if not table["same bytes"].all():
        print("MISMATCH: some variant's bytes differ from eager PyTorch's")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
