"""Theoretical vs measured speedup of a linear layer made cheaper in two ways.

A layer ``y = x W^T`` with ``x`` of shape ``(batch, width)`` and ``W`` of shape
``(width, width)`` costs ``2 * batch * width**2`` FLOPs. Zeroing 90% of ``W`` (unstructured
sparsity) leaves 10x fewer useful FLOPs; keeping a third of its rows (a 3x-narrower layer)
leaves 3x fewer. Only the second is a saving dense kernels can use.
"""

from __future__ import annotations

import warnings

import pandas as pd
import torch
from torch.utils import benchmark


def _median_seconds(statement: str, variables: dict, min_run_time: float) -> float:
    timer = benchmark.Timer(stmt=statement, globals=variables, num_threads=torch.get_num_threads())
    return float(timer.blocked_autorange(min_run_time=min_run_time).median)


def sparse_vs_narrow(width: int = 2048, batch: int = 256, *, sparsity: float = 0.9,
                     narrow_factor: int = 3, device: torch.device | str = "cpu",
                     min_run_time: float = 0.5, seed: int = 0) -> pd.DataFrame:
    """Time a dense layer, the same layer with ``sparsity`` of its weights zeroed (run by the
    dense kernel and by a CSR sparse kernel), and a dense layer ``narrow_factor`` times
    narrower. Each row gives useful FLOPs, theoretical speedup (FLOP ratio), median seconds
    per product (``torch.utils.benchmark``) and measured speedup against the dense layer."""
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
    rows = []
    for name, statement, extra, flops in variants:
        seconds = _median_seconds(statement, {"x": x, "torch": torch, **extra}, min_run_time)
        rows.append({"variant": name, "useful_gflop": flops / 1e9, "seconds": seconds})
    frame = pd.DataFrame(rows)
    frame["theoretical_speedup"] = dense_flops / 1e9 / frame["useful_gflop"]
    frame["measured_speedup"] = frame.loc[0, "seconds"] / frame["seconds"]
    return frame
