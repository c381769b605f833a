"""Pooling instance scores into a patient score: each pooling is an assumption about how many
instances carry the risk.

- ``mean``: risk is spread over all instances (every instance counts equally);
- ``max``: one instance is enough (a single abnormal instance makes the patient positive);
- ``topk``: risk sits in a minority of instances, a fraction ``k`` of them (the mean of the
  highest ``k``; the paper's final choice is ``k = 0.2``).

All take scores of shape ``(n_patients, n_instances)`` and return ``(n_patients,)``.
"""

from __future__ import annotations

import numpy as np

from effnotes.validation import check_real

POOLINGS = ("mean", "max", "top20")


def _check(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (n_patients, n_instances), got shape {scores.shape}")
    if scores.shape[1] == 0:
        raise ValueError("a bag with no instances cannot be pooled")
    if not np.isfinite(scores).all():
        raise ValueError("scores must be finite")
    return scores


def mean_pool(scores: np.ndarray) -> np.ndarray:
    return _check(scores).mean(axis=1)


def max_pool(scores: np.ndarray) -> np.ndarray:
    return _check(scores).max(axis=1)


def topk_pool(scores: np.ndarray, k: float = 0.2) -> np.ndarray:
    """Mean of the highest ``ceil(k * n_instances)`` scores of each bag (``0 < k <= 1``)."""
    k = check_real("k", k)
    if not 0 < k <= 1:
        raise ValueError(f"k must be a fraction in (0, 1], got {k}")
    scores = _check(scores)
    count = int(np.ceil(k * scores.shape[1]))
    return np.sort(scores, axis=1)[:, -count:].mean(axis=1)


def pool(scores: np.ndarray, how: str) -> np.ndarray:
    """Pool by name: ``"mean"``, ``"max"`` or ``"topNN"`` (the top NN% mean, e.g. ``top20``)."""
    if not isinstance(how, str):
        raise TypeError(f"pooling must be a name ('mean', 'max' or 'topNN'), got "
                        f"{type(how).__name__} {how!r}")
    if how == "mean":
        return mean_pool(scores)
    if how == "max":
        return max_pool(scores)
    if how.startswith("top") and how[3:].isdigit() and 0 < int(how[3:]) <= 100:
        return topk_pool(scores, int(how[3:]) / 100)
    raise ValueError(f"unknown pooling {how!r}; use 'mean', 'max' or 'topNN' (e.g. 'top20')")
