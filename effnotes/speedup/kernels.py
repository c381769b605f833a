"""Theoretical vs measured speedup of a linear layer made cheaper in two ways.

A layer ``y = x W^T`` with ``x`` of shape ``(batch, width)`` and ``W`` of shape
``(width, width)`` costs ``2 * batch * width**2`` FLOPs. Zeroing 90% of ``W`` (unstructured
sparsity) leaves 10x fewer useful FLOPs; keeping a third of its rows (a 3x-narrower layer)
leaves 3x fewer. Only the second is a saving dense kernels can use.
"""

from __future__ import annotations

import numbers
import warnings

import pandas as pd
import torch

from effnotes.timing import interleaved_times, paired_speedups


def sparse_vs_narrow(width: int = 2048, batch: int = 256, *, sparsity: float = 0.9,
                     narrow_factor: int = 3, device: torch.device | str = "cpu",
                     min_run_time: float = 0.5, rounds: int = 7, seed: int = 0) -> pd.DataFrame:
    """Time a dense layer, the same layer with ``sparsity`` of its weights zeroed (run by the
    dense kernel and by a CSR sparse kernel), and a dense layer ``narrow_factor`` times
    narrower. Each row gives useful FLOPs, theoretical speedup (FLOP ratio), median seconds
    per product, and measured speedup against the dense layer: the four are timed in
    ``rounds`` interleaved rounds of about ``min_run_time`` seconds in all per variant
    (:func:`effnotes.timing.interleaved_times`), and the speedup is the median over rounds
    of the same round's ratio (:func:`effnotes.timing.paired_speedups`)."""
    for name, value in (("width", width), ("batch", batch), ("narrow_factor", narrow_factor)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if isinstance(sparsity, bool) or not isinstance(sparsity, numbers.Real):
        raise TypeError(f"sparsity must be a real number, got {type(sparsity).__name__}")
    if width < narrow_factor or batch < 1:
        raise ValueError(f"need width >= narrow_factor and batch >= 1, got width={width}, batch={batch}")
    if not 0 <= sparsity < 1:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    device = torch.device(device)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, width, generator=generator).to(device)
    weight = torch.randn(width, width, generator=generator)
    keep = torch.rand(width, width, generator=generator) >= sparsity
    sparse_weight = (weight * keep).to(device)
    with warnings.catch_warnings():  # torch flags CSR support as beta on every conversion
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        csr_weight = sparse_weight.to_sparse_csr()
    narrow_weight = weight[: width // narrow_factor].contiguous().to(device)
    weight = weight.to(device)
    dense_flops = 2.0 * batch * width * width
    nonzero = int(keep.sum())
    variants = [
        ("dense", "x @ W.T", {"W": weight}, dense_flops),
        (f"{sparsity:.0%} sparse, dense kernel", "x @ W.T", {"W": sparse_weight}, 2.0 * batch * nonzero),
        (f"{sparsity:.0%} sparse, CSR kernel", "torch.sparse.mm(W, x.T)", {"W": csr_weight}, 2.0 * batch * nonzero),
        (f"{narrow_factor}x narrower, dense", "x @ W.T", {"W": narrow_weight},
         2.0 * batch * width * (width // narrow_factor)),
    ]
    times = interleaved_times(
        {name: (statement, {"x": x, "torch": torch, **extra})
         for name, statement, extra, _ in variants},
        min_run_time=min_run_time, rounds=rounds)
    frame = pd.DataFrame({"variant": [name for name, *_ in variants],
                          "useful_gflop": [flops / 1e9 for *_, flops in variants]})
    frame["seconds"] = times.median().to_numpy()
    frame["theoretical_speedup"] = dense_flops / 1e9 / frame["useful_gflop"]
    frame["measured_speedup"] = paired_speedups(times, "dense").to_numpy()
    return frame
