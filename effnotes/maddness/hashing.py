"""MADDNESS's hash function: one balanced binary tree of depth 4 per codebook (16 leaves).

All nodes on level ``t`` of a codebook's tree test the same input column ``j_t``; node ``i``
of that level has its own threshold ``v_{t,i}``, and a row moves to child
``i <- 2 i + [x_{j_t} > v_{t,i}]`` (0-indexed). A tree is stored as

- ``split_dims``: int64 array of shape ``(C, 4)``, the column (of the full input) each level
  tests;
- ``thresholds``: float32 array of shape ``(C, 15)``; level ``t``'s node ``i`` is entry
  ``2**t - 1 + i``.

Trees are learned greedily, one level at a time, with the cumulative-sum SSE of every
candidate split point (Blalock & Guttag 2021, section 4.2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DEPTH = 4
NLEAVES = 2**DEPTH
NNODES = NLEAVES - 1


def split_losses(sorted_rows: np.ndarray) -> np.ndarray:
    """SSE of every split of rows already sorted by the split column.

    ``sorted_rows``: float64 ``(n, d)``. Returns ``(n - 1,)``: entry ``s`` is
    ``SSE(rows[:s+1]) + SSE(rows[s+1:])``, each SSE summed over the ``d`` columns, computed
    with prefix sums: ``SSE(head of n) = sum_d (sum x^2 - (sum x)^2 / n)``.
    """
    n = sorted_rows.shape[0]
    if n < 2:
        return np.empty(0)
    csum = np.cumsum(sorted_rows, axis=0)
    csq = np.cumsum(sorted_rows**2, axis=0)
    counts = np.arange(1, n, dtype=np.float64)[:, None]
    head = (csq[:-1] - csum[:-1] ** 2 / counts).sum(axis=1)
    tail_sum = csum[-1] - csum[:-1]
    tail_sq = csq[-1] - csq[:-1]
    tail = (tail_sq - tail_sum**2 / (n - counts)).sum(axis=1)
    return np.maximum(head, 0.0) + np.maximum(tail, 0.0)


def bucket_sse(rows: np.ndarray) -> float:
    """Sum over columns of the squared deviations of ``rows`` (``(n, d)``) from their mean."""
    if rows.shape[0] == 0:
        return 0.0
    return float(((rows - rows.mean(axis=0)) ** 2).sum())


def best_split(rows: np.ndarray, column: int) -> tuple[float, float]:
    """The threshold on ``column`` that minimises the bucket's SSE after splitting, and that
    SSE. Only points between two different values are candidates, so every row lands on the
    side the stored threshold sends it to; a bucket that cannot be split keeps its SSE."""
    n = rows.shape[0]
    if n == 0:
        return 0.0, 0.0
    order = np.argsort(rows[:, column], kind="stable")
    ordered = rows[order]
    values = ordered[:, column]
    if n < 2 or values[0] == values[-1]:
        return float(np.float32(values[-1])), bucket_sse(rows)
    losses = split_losses(ordered)
    losses[values[:-1] == values[1:]] = np.inf
    s = int(np.argmin(losses))
    lo, hi = np.float32(values[s]), np.float32(values[s + 1])
    threshold = np.float32((float(values[s]) + float(values[s + 1])) / 2)
    if not lo <= threshold < hi:  # float32 rounding of the midpoint: fall back to the low value
        threshold = lo
    return float(threshold), float(losses[s])


@dataclass
class TreeFit:
    """One learned tree: ``split_dims`` (4,) and ``thresholds`` (15,) as in the module doc,
    the training rows' leaf ``codes`` (n,), and the total SSE after each level
    (``level_sse[0]`` is before any split, ``level_sse[t+1]`` after level ``t``)."""

    split_dims: np.ndarray
    thresholds: np.ndarray
    codes: np.ndarray
    level_sse: list[float] = field(default_factory=list)


def learn_tree(X: np.ndarray, *, try_ndims: int = 4, column_offset: int = 0) -> TreeFit:
    """Learn one depth-4 tree on ``X`` (float64 ``(n, d)``, a codebook's slice of columns).

    Each level scores every column by its within-bucket SSE summed over the current buckets,
    tries the ``try_ndims`` best, and keeps the one whose optimal per-bucket thresholds give
    the lowest total SSE (all columns counted). Split columns are reported as
    ``column_offset + j`` so they index the full input."""
    n, d = X.shape
    buckets = [np.arange(n)]
    dims = np.zeros(DEPTH, dtype=np.int64)
    thresholds = np.zeros(NNODES, dtype=np.float32)
    level_sse = [bucket_sse(X)]
    for level in range(DEPTH):
        scores = np.zeros(d)
        for idx in buckets:
            if len(idx):
                rows = X[idx]
                scores += ((rows - rows.mean(axis=0)) ** 2).sum(axis=0)
        candidates = np.argsort(-scores, kind="stable")[: max(1, min(try_ndims, d))]
        best = None
        for j in candidates:
            splits = [best_split(X[idx], int(j)) for idx in buckets]
            total = sum(loss for _, loss in splits)
            if best is None or total < best[0]:
                best = (total, int(j), [thr for thr, _ in splits])
        _, j, level_thresholds = best
        dims[level] = column_offset + j
        first = 2**level - 1
        children = []
        for i, (idx, thr) in enumerate(zip(buckets, level_thresholds)):
            thresholds[first + i] = thr
            goes_right = X[idx, j].astype(np.float32) > np.float32(thr)
            children += [idx[~goes_right], idx[goes_right]]
        buckets = children
        level_sse.append(sum(bucket_sse(X[idx]) for idx in buckets))
    codes = np.zeros(n, dtype=np.uint8)
    for leaf, idx in enumerate(buckets):
        codes[idx] = leaf
    return TreeFit(dims, thresholds, codes, level_sse)


def encode_reference(A: np.ndarray, split_dims: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Codes of ``A`` (``(N, D)``) in plain NumPy, one level at a time:
    ``i <- 2 i + [A[:, j_t] > v_{t, i}]``. Returns uint8 ``(N, C)`` with values in 0..15."""
    N = A.shape[0]
    C = split_dims.shape[0]
    codes = np.zeros((N, C), dtype=np.uint8)
    for c in range(C):
        i = np.zeros(N, dtype=np.int64)
        for level in range(DEPTH):
            x = A[:, split_dims[c, level]].astype(np.float32)
            v = thresholds[c, 2**level - 1 + i]
            i = 2 * i + (x > v)
        codes[:, c] = i
    return codes


def walk_tree(X: np.ndarray, split_dims: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """One tree walked row by row, as the equations read: ``i <- 2 i + [x_j_t > v_t,i]`` for
    ``t = 0..3``. ``X``: ``(n, D)``; ``split_dims``: ``(4,)`` column indices; ``thresholds``:
    ``(15,)`` float32, level ``t``'s nodes at ``2**t - 1 ..``. Returns int64 ``(n,)`` leaves
    in 0..15 (slow: a check on :func:`encode_reference`, not a path to use)."""
    X = np.asarray(X, dtype=np.float32)
    leaves = np.zeros(len(X), dtype=np.int64)
    for n, x in enumerate(X):
        i = 0
        for t in range(DEPTH):
            i = 2 * i + int(x[split_dims[t]] > thresholds[2**t - 1 + i])
        leaves[n] = i
    return leaves


def split_losses_brute(sorted_rows: np.ndarray) -> np.ndarray:
    """:func:`split_losses` recomputed by brute force: for every split point ``s`` of the
    ``(n, d)`` rows, the squared deviations of each half from its own mean, summed.
    Returns ``(n - 1,)``, ``O(n^2 d)`` work."""
    rows = np.asarray(sorted_rows, dtype=np.float64)
    return np.array([bucket_sse(rows[: s + 1]) + bucket_sse(rows[s + 1:])
                     for s in range(len(rows) - 1)])
