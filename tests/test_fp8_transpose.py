"""The tiled FP8 cast-and-transpose kernels (effnotes.unit_scaling.fp8_transpose).

Argument checks run everywhere. The kernels themselves run where Triton is installed: on a
CUDA device (bit for bit against PyTorch), and on the CPU through Triton's interpreter in a
subprocess (TRITON_INTERPRET=1 must be set before Triton is imported). The interpreter's
own FP8 rounding differs from the hardware's, so there the inputs are values that every
rounding mode leaves alone, which checks the layouts, the masking of ragged tiles and the
clipping."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from conftest import cpu_scaled_mm_works

from effnotes.unit_scaling import fp8_transpose as ft

HAS_TRITON = importlib.util.find_spec("triton") is not None
HAS_CUDA = torch.cuda.is_available() and HAS_TRITON


def test_arguments_are_checked_before_anything_runs():
    with pytest.raises(ValueError, match="2-D"):
        ft.cast_transpose(torch.zeros(4), "e4m3")
    with pytest.raises(TypeError, match="float16, bfloat16 or float32"):
        ft.cast_transpose(torch.zeros(4, 4, dtype=torch.int32), "e4m3")
    with pytest.raises(TypeError, match="float16, bfloat16 or float32"):
        ft.cast_transpose(torch.zeros(4, 4).to(torch.float8_e4m3fn), "e4m3")
    with pytest.raises(ValueError, match="unknown FP8 format"):
        ft.cast_transpose(torch.zeros(4, 4), "e3m4")
    with pytest.raises(TypeError, match="float8_e4m3fn or float8_e5m2"):
        ft.transpose(torch.zeros(4, 4))
    with pytest.raises(ValueError, match="2-D"):
        ft.transpose(torch.zeros(2, 2, 2).to(torch.float8_e5m2))


def test_without_triton_or_a_device_it_says_why(monkeypatch):
    monkeypatch.setattr(ft, "triton", None)
    with pytest.raises(RuntimeError, match="Triton is not installed"):
        ft.cast_transpose(torch.zeros(4, 4), "e4m3")
    monkeypatch.undo()
    if HAS_TRITON and not ft._INTERPRET:
        with pytest.raises(RuntimeError, match="TRITON_INTERPRET"):
            ft.transpose(torch.zeros(4, 4).to(torch.float8_e4m3fn))


def test_reference_is_a_clipped_cast_and_its_transpose():
    x = torch.tensor([[1.0, -1000.0, 3.0], [500.0, 0.5, -2.0]])
    out, out_t = ft.cast_transpose_reference(x, "e4m3")
    assert out.dtype == torch.float8_e4m3fn and out_t.shape == (3, 2)
    assert out.float().tolist() == [[1.0, -448.0, 3.0], [448.0, 0.5, -2.0]]
    assert torch.equal(out_t.float(), out.float().t())


_INTERPRETED = textwrap.dedent("""
    import torch
    from effnotes.unit_scaling import fp8_cuda
    from effnotes.unit_scaling import fp8_transpose as ft

    def same(a, b):
        return a.shape == b.shape and torch.equal(a.view(torch.uint8), b.view(torch.uint8))

    g = torch.Generator().manual_seed(0)
    launches = []
    launch = ft._launch
    ft._launch = lambda x, *args, **kw: launches.append(x.dtype) or launch(x, *args, **kw)
    cases = [(fmt, dtype) for fmt in ("e4m3", "e5m2")
             for dtype in (torch.float32, torch.bfloat16, torch.float16)]
    for fmt, dtype in cases:
        spec = ft.get_format(fmt)
        # one tile, ragged tiles, and a grid of several tiles in both directions
        for shape in ((64, 64), (100, 70), (3, 130), (256, 384), (130, 200)):
            # FP8 values, exact in the source dtype: any rounding leaves them alone
            x = (torch.randn(shape, generator=g) * 8).to(spec.dtype).to(dtype)
            x[0, 0], x[-1, -1] = 10 * spec.max, -10 * spec.max   # clipped to +-max
            want, want_t = ft.cast_transpose_reference(x, fmt)
            got, got_t = ft.cast_transpose(x, fmt)
            assert same(got, want) and same(got_t, want_t), (fmt, shape)
            assert float(got[0, 0]) == spec.max and float(got_t[-1, -1]) == -spec.max
            strided = x.t().contiguous().t()                   # column-major input
            assert all(map(same, ft.cast_transpose(strided, fmt), (want, want_t)))
            assert same(ft.transpose(want), want_t)
    # the fused kernel reads only 16-bit sources; float32 is cast first, then transposed
    assert torch.float32 not in launches and set(launches) >= {torch.bfloat16, torch.float16}
    ft._launch = launch

    # the FP8 linear layer's backward gives the same gradients with either transpose path
    x = (torch.randn(32, 64, generator=g)).to(torch.float8_e4m3fn).float().requires_grad_()
    w = (torch.randn(48, 64, generator=g)).to(torch.float8_e4m3fn).float().requires_grad_()
    grad = torch.randn(32, 48, generator=g).to(torch.float8_e5m2).bfloat16()
    scale, one = torch.tensor(1 / 8.0), torch.tensor(1.0)
    grads = {}
    for kernels in ("triton", "torch"):
        fp8_cuda.TRANSPOSE_KERNELS = kernels
        x.grad = w.grad = None
        fp8_cuda.FP8LinearFunction.apply(x, w, scale, one).backward(grad)
        grads[kernels] = (x.grad.clone(), w.grad.clone())
    assert all(torch.equal(a, b) for a, b in zip(grads["triton"], grads["torch"]))
    print("interpreted kernels agree")
""")


@pytest.mark.skipif(not HAS_TRITON, reason="Triton is not installed")
def test_kernels_under_the_triton_interpreter():
    if not cpu_scaled_mm_works():
        pytest.skip("this torch has no FP8 GEMM on the CPU")
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    done = subprocess.run([sys.executable, "-c", _INTERPRETED], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "interpreted kernels agree" in done.stdout



@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device and Triton")
@pytest.mark.parametrize("fmt", ["e4m3", "e5m2"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_kernels_match_pytorch_bit_for_bit_on_the_gpu(fmt, dtype):
    g = torch.Generator(device="cuda").manual_seed(1)
    for shape in ((256, 384), (1000, 333), (16, 4096)):
        x = (torch.randn(shape, device="cuda", generator=g) * 300).to(dtype)
        want = ft.cast_transpose_reference(x, fmt)
        got = ft.cast_transpose(x, fmt)
        for a, b in zip(got, want):
            assert torch.equal(a.view(torch.uint8), b.view(torch.uint8)), (fmt, dtype, shape)
        assert torch.equal(ft.transpose(want[0]).view(torch.uint8), want[1].view(torch.uint8))


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device and Triton")
def test_fp8_layer_gradients_do_not_depend_on_the_transpose_path(monkeypatch):
    from effnotes.unit_scaling import fp8_cuda

    if not fp8_cuda.fp8_available("cuda"):
        pytest.skip(fp8_cuda.fp8_unavailable_reason("cuda"))
    g = torch.Generator(device="cuda").manual_seed(2)
    x = torch.randn(512, 256, device="cuda", generator=g).bfloat16().requires_grad_()
    w = torch.randn(384, 256, device="cuda", generator=g).requires_grad_()
    grad = torch.randn(512, 384, device="cuda", generator=g).bfloat16()
    scale = torch.tensor(1 / 16.0, device="cuda")
    one = torch.tensor(1.0, device="cuda")
    grads = {}
    for kernels in ("triton", "torch"):
        monkeypatch.setattr(fp8_cuda, "TRANSPOSE_KERNELS", kernels)
        x.grad = w.grad = None
        fp8_cuda.FP8LinearFunction.apply(x, w, scale, one).backward(grad)
        grads[kernels] = (x.grad.clone(), w.grad.clone())
    assert all(torch.equal(a, b) for a, b in zip(grads["triton"], grads["torch"]))
