"""What each op does to the variance of a unit-variance input: predictions and Monte Carlo.

For ``x ~ N(0, 1)`` entries (independent):

- unit-scaled linear ``y = x W^T / sqrt(fan_in)``, ``W ~ N(0, 1)``: ``Var y = 1``;
- GELU: ``E[gelu(x)^2]`` (a number, computed by quadrature in :func:`gelu_second_moment`);
- fixed-τ residual of independent unit-variance inputs: ``(1 - τ) + τ = 1``;
- LayerNorm: 1 by construction (per row, up to ``eps``);
- causal softmax attention at position ``k`` with unit-variance logits and independent
  unit-variance values: ``e/k - (e - 1)/k^2`` (Prop. 2.1 of the paper,
  :func:`attention_variance`); with √softmax weights it is exactly 1.

For attention the exact value is also computed (:func:`attention_variance_exact`, a
one-dimensional integral), so a Monte Carlo check can tell sampling noise from the error of
the closed form, which is a large-``k`` approximation.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from effnotes.unit_scaling import functional as U


def attention_variance(k: int | np.ndarray) -> float | np.ndarray:
    """Prop. 2.1: the variance of ``softmax(s) . v`` over ``k`` positions, ``s`` and ``v``
    independent standard normals: ``e/k - (e - 1)/k^2``."""
    k_arr = np.asarray(k, dtype=float)
    if np.any(k_arr < 1):
        raise ValueError(f"k must be at least 1, got {k}")
    out = math.e / k_arr - (math.e - 1) / k_arr**2
    return float(out) if np.ndim(out) == 0 else out


def attention_variance_exact(k: int, *, nodes: int = 160) -> float:
    """The exact ``E[sum_i p_i^2]`` for ``p = softmax(s)``, ``s`` of ``k`` independent
    standard normals (the variance of ``p . v`` for independent unit-variance ``v``).

    With ``S = sum_j exp(s_j)`` and ``1/S^2 = int_0^inf t exp(-t S) dt`` it is
    ``k int_0^inf t E[exp(2s - t e^s)] E[exp(-t e^s)]^(k-1) dt``: expectations by
    Gauss-Hermite quadrature, the integral by the trapezoid rule in ``log t``."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    u = np.linspace(-25.0, 12.0, 4000)
    t = np.exp(u)
    es = np.exp(z)
    decay = np.exp(-t[:, None] * es[None, :])
    f = (decay * es[None, :] ** 2) @ w
    g = decay @ w
    return float(k * np.trapezoid(t * t * f * g ** (k - 1), u))


def gelu_second_moment(points: int = 200_001, limit: float = 12.0) -> float:
    """``E[gelu(x)^2]`` for ``x ~ N(0, 1)`` by the trapezoid rule on ``[-limit, limit]``."""
    x = np.linspace(-limit, limit, points)
    phi = np.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    return float(np.trapezoid((x * cdf) ** 2 * phi, x))


def monte_carlo_variances(*, n_samples: int = 200_000, fan_in: int = 256, tau: float = 0.1,
                          ks: tuple[int, ...] = (1, 2, 4, 8, 16, 64, 256),
                          seed: int = 0) -> pd.DataFrame:
    """Predicted and measured output variance of each op for unit-variance inputs.

    Columns: ``op``, ``k`` (attention position; 0 for the other ops), ``predicted`` (the
    closed form), ``exact`` (equal to ``predicted`` except for softmax attention, where it is
    :func:`attention_variance_exact`), ``measured``, ``relative_error`` (``measured / exact
    - 1``: the Monte Carlo check) and ``formula_error`` (``predicted / exact - 1``). Attention rows use
    ``n_samples`` independent draws of ``k`` logits and values at each ``k``; the other ops
    use ``n_samples`` entries."""
    if n_samples < 100:
        raise ValueError(f"n_samples must be at least 100, got {n_samples}")
    U.check_tau(tau)
    g = torch.Generator().manual_seed(seed)
    rows = []

    def add(op, k, predicted, measured, exact=None):
        rows.append({"op": op, "k": k, "predicted": float(predicted),
                     "exact": float(predicted if exact is None else exact),
                     "measured": float(measured)})

    rows_in = max(1, n_samples // fan_in)
    x = torch.randn(rows_in, fan_in, generator=g, dtype=torch.float64)
    w = torch.randn(fan_in, fan_in, generator=g, dtype=torch.float64)
    add("linear (unit-scaled)", 0, 1.0, U.scaled_linear(x, w).var())
    z = torch.randn(n_samples, generator=g, dtype=torch.float64)
    add("GELU", 0, gelu_second_moment(), U.gelu(z).pow(2).mean())
    z2 = torch.randn(n_samples, generator=g, dtype=torch.float64)
    add(f"residual (tau={tau:g})", 0, 1.0, U.residual_add(z, z2, tau).var())
    add("LayerNorm", 0, 1.0, U.layer_norm(x * 3 + 1).var(dim=-1, unbiased=False).mean())
    for k in ks:
        soft = root = 0.0
        chunk = max(1, 2_000_000 // k)  # bounded memory: at most ~2M entries per draw
        for start in range(0, n_samples, chunk):
            n = min(chunk, n_samples - start)
            s = torch.randn(n, k, generator=g, dtype=torch.float64)
            v = torch.randn(n, k, generator=g, dtype=torch.float64)
            p = torch.softmax(s, dim=-1)
            soft += float((p * v).sum(-1).pow(2).sum())
            root += float((p.sqrt() * v).sum(-1).pow(2).sum())
        add("softmax attention", k, attention_variance(k), soft / n_samples,
            attention_variance_exact(k))
        add("√softmax attention", k, 1.0, root / n_samples)
    frame = pd.DataFrame(rows)
    frame["relative_error"] = frame["measured"] / frame["exact"] - 1
    frame["formula_error"] = frame["predicted"] / frame["exact"] - 1
    return frame
