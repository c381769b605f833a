"""Prototypes, lookup tables, their 8-bit quantisation and the averaging aggregation.

Shapes: ``C`` codebooks of ``K = 16`` prototypes over ``D`` input columns, ``M`` output
columns. Prototypes ``P`` are ``(C, K, D)``; float tables ``L[c, k, m] = <P[c, k], B[:, m]>``
are ``(C, K, M)``; codes are uint8 ``(N, C)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

K = 16
AGGREGATIONS = ("average", "sum")


def one_hot_codes(codes: np.ndarray, k: int = K) -> sp.csr_matrix:
    """``G`` of the paper: a sparse ``(N, C*k)`` 0/1 matrix, one 1 per (row, codebook)."""
    N, C = codes.shape
    cols = (np.arange(C)[None, :] * k + codes).ravel()
    rows = np.repeat(np.arange(N), C)
    return sp.csr_matrix((np.ones(N * C), (rows, cols)), shape=(N, C * k))


def ridge_prototypes(codes: np.ndarray, targets: np.ndarray, lam: float, k: int = K) -> np.ndarray:
    """``(G^T G + lam I)^{-1} G^T targets`` reshaped to ``(C, k, D)``: the prototypes whose
    sum over codebooks best reconstructs ``targets`` (``(N, D)``) with a ridge penalty."""
    if lam < 0:
        raise ValueError(f"the ridge penalty must be >= 0, got {lam}")
    G = one_hot_codes(codes, k)
    gram = (G.T @ G).toarray() + lam * np.eye(G.shape[1])
    rhs = np.asarray(G.T @ targets)
    solution = np.linalg.lstsq(gram, rhs, rcond=None)[0] if lam == 0 else np.linalg.solve(gram, rhs)
    return solution.reshape(codes.shape[1], k, targets.shape[1])


def reconstruct(prototypes: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``sum_c P[c, codes[:, c]]``: the ``(N, D)`` approximation of the encoded rows."""
    C = prototypes.shape[0]
    return sum(prototypes[c, codes[:, c]] for c in range(C))


def float_tables(prototypes: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``L[c, k, m] = <P[c, k], B[:, m]>``, float64 ``(C, K, M)``."""
    return np.einsum("ckd,dm->ckm", prototypes, B)


@dataclass(frozen=True)
class QuantizedTables:
    """8-bit tables: ``L ~ lut / scale + offsets[c]`` with ``lut`` uint8 ``(C, K, M)``,
    per-codebook float ``offsets`` ``(C,)`` and one power-of-two-based ``scale`` (alpha)."""

    lut: np.ndarray
    offsets: np.ndarray
    scale: float


def quantize_tables(tables: np.ndarray) -> QuantizedTables:
    """Offset each codebook's table by its minimum and scale all of them by one
    ``alpha = 2**-ceil(log2(max range)) * 255.5``; round to nearest into 0..255."""
    if tables.size == 0:  # no output columns: nothing to quantise
        return QuantizedTables(np.zeros(tables.shape, np.uint8), np.zeros(tables.shape[0]), 1.0)
    offsets = tables.min(axis=(1, 2))
    spans = tables.max(axis=(1, 2)) - offsets
    span = float(spans.max())
    exponent = np.ceil(np.log2(span)) if span > 0 else 0.0
    scale = float(2.0 ** (-exponent) * (255.5 - 1e-6))
    q = np.floor(scale * (tables - offsets[:, None, None]) + 0.5)
    return QuantizedTables(np.clip(q, 0, 255).astype(np.uint8), offsets, scale)


def group_size(ncodebooks: int) -> int:
    """U: the largest power of two <= 16 dividing ``ncodebooks`` (codebooks averaged together)."""
    u = 16
    while ncodebooks % u:
        u //= 2
    return u


def averaging_bias(ncodebooks: int) -> float:
    """Expected excess of ``U * sum of round-up averages`` over the exact sum, in table units:
    each of the log2(U) levels of ``avg(a, b) = (a + b + 1) >> 1`` adds 1/4 on average, so
    ``(C / U) * U * log2(U) / 4 = C log2(U) / 4``."""
    return ncodebooks * np.log2(group_size(ncodebooks)) / 4


def aggregate_reference(codes: np.ndarray, q: QuantizedTables, aggregation: str = "average",
                        bias_correction: bool = True) -> np.ndarray:
    """Approximate products from codes and 8-bit tables, in plain NumPy.

    ``"average"``: in groups of ``U`` codebooks, average the table entries pairwise with
    round-up, ``log2 U`` times (the paper's ``vpavgb`` tree), sum the groups in 16 bits and
    return ``(U * total - bias) / alpha + sum_c o_c`` (``bias = C log2(U) / 4`` when
    ``bias_correction``). ``"sum"``: the exact integer sum, ``total / alpha + sum_c o_c``.
    Returns float32 ``(N, M)``."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
    N, C = codes.shape
    entries = np.stack([q.lut[c, codes[:, c]] for c in range(C)], axis=1).astype(np.uint16)
    if aggregation == "sum":
        total = entries.sum(axis=1, dtype=np.uint16).astype(np.float64)
        return (total / q.scale + q.offsets.sum()).astype(np.float32)
    U = group_size(C)
    level = entries.reshape(N, C // U, U, q.lut.shape[2])
    while level.shape[2] > 1:
        level = (level[:, :, 0::2] + level[:, :, 1::2] + 1) >> 1
    total = level[:, :, 0].sum(axis=1, dtype=np.uint16).astype(np.float64)
    bias = averaging_bias(C) if bias_correction else 0.0
    return ((U * total - bias) / q.scale + q.offsets.sum()).astype(np.float32)
