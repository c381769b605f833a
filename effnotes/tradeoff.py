r"""Tradeoff curves and algorithmic speedup.

A *tradeoff curve* is a set of (cost, quality) points for one training recipe, each point a
run with its own budget. The cost to reach quality :math:`q` is the least cost at which the
recipe reaches it,

.. math:: C_r(q) = \min_b \{ C(r, b) : Q(r, b) \ge q \},

read off the curve's Pareto frontier with linear interpolation of quality in log-cost. The
speedup of a method over a baseline at quality :math:`q` is :math:`S(q) = C_{base}(q) /
C_{method}(q)`. Over seeds, :func:`bootstrap_speedup` resamples seeds to give a confidence
interval on :math:`S(q)`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd


def _as_1d_float(name: str, values) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real numbers, got dtype {array.dtype}")
    array = array.astype(float)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _as_2d_float(name: str, values) -> np.ndarray:
    array = np.asarray(values)
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real numbers, got dtype {array.dtype}")
    return array.astype(float)


def _finite_real(name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return float(value)


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _check_labels(label, cost_unit) -> None:
    if not isinstance(label, str):
        raise TypeError(f"label must be a string, got {type(label).__name__}")
    if not isinstance(cost_unit, str) or not cost_unit:
        raise TypeError(f"cost_unit must be a non-empty string naming the unit, got {cost_unit!r}")


def pareto_mask(cost, quality) -> np.ndarray:
    """Boolean mask of the Pareto-optimal points: no other point is at most as costly and
    strictly better, or strictly cheaper and at least as good. Ties keep the first point."""
    cost = _as_1d_float("cost", cost)
    quality = _as_1d_float("quality", quality)
    if cost.shape != quality.shape:
        raise ValueError(f"cost and quality differ in length: {cost.size} vs {quality.size}")
    order = np.lexsort((-quality, cost))  # by cost, best quality first among equal costs
    mask = np.zeros(cost.size, dtype=bool)
    best = -np.inf
    for index in order:
        if quality[index] > best:
            mask[index] = True
            best = quality[index]
    return mask


@dataclass(frozen=True)
class TradeoffCurve:
    """Points (cost, quality) of one recipe, sorted by cost.

    ``cost`` must be positive (seconds, epochs, FLOPs: say which in ``cost_unit``); higher
    ``quality`` is better (accuracy, negative loss).
    """

    cost: np.ndarray
    quality: np.ndarray
    label: str = ""
    cost_unit: str = "s"

    def __post_init__(self) -> None:
        _check_labels(self.label, self.cost_unit)
        cost = _as_1d_float("cost", self.cost)
        quality = _as_1d_float("quality", self.quality)
        if cost.shape != quality.shape:
            raise ValueError(f"cost and quality differ in length: {cost.size} vs {quality.size}")
        if cost.size == 0:
            raise ValueError("a tradeoff curve needs at least one point")
        if np.any(cost <= 0):
            raise ValueError("costs must be positive (they are interpolated in log-cost)")
        order = np.argsort(cost, kind="stable")
        object.__setattr__(self, "cost", cost[order])
        object.__setattr__(self, "quality", quality[order])

    def frontier(self) -> TradeoffCurve:
        """The Pareto frontier: points that no cheaper-or-equal point matches in quality."""
        mask = pareto_mask(self.cost, self.quality)
        return TradeoffCurve(self.cost[mask], self.quality[mask], self.label, self.cost_unit)

    def cost_to_reach(self, target: float) -> float:
        """Least cost to reach quality ``target``, interpolating quality linearly in log-cost
        between frontier points; ``inf`` if the curve never reaches it. If even the cheapest
        point reaches it, that point's cost is returned (no extrapolation below the data)."""
        if isinstance(target, (bool, np.bool_)) or not isinstance(target, numbers.Real):
            raise TypeError(f"target quality must be a real number, got "
                            f"{type(target).__name__} {target!r}")
        if not np.isfinite(target):
            raise ValueError(f"target quality must be finite, got {target}")
        front = self.frontier()
        reached = np.nonzero(front.quality >= target)[0]
        if reached.size == 0:
            return float("inf")
        j = int(reached[0])
        if j == 0:
            return float(front.cost[0])
        q0, q1 = front.quality[j - 1], front.quality[j]
        c0, c1 = np.log(front.cost[j - 1]), np.log(front.cost[j])
        fraction = (target - q0) / (q1 - q0)
        return float(np.exp(c0 + fraction * (c1 - c0)))

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({"cost": self.cost, "quality": self.quality})
        frame["label"] = self.label
        frame["on_frontier"] = pareto_mask(self.cost, self.quality)
        return frame


def speedup_at(baseline: TradeoffCurve, method: TradeoffCurve, target: float) -> float:
    """:math:`S(q) = C_{base}(q) / C_{method}(q)`; NaN if either curve never reaches ``target``."""
    for name, curve in (("baseline", baseline), ("method", method)):
        if not isinstance(curve, TradeoffCurve):
            raise TypeError(f"{name} must be a TradeoffCurve, got {type(curve).__name__}")
    if baseline.cost_unit != method.cost_unit:
        raise ValueError(f"cost units differ: {baseline.cost_unit!r} vs {method.cost_unit!r}")
    base_cost = baseline.cost_to_reach(target)
    method_cost = method.cost_to_reach(target)
    if not (np.isfinite(base_cost) and np.isfinite(method_cost)):
        return float("nan")
    return base_cost / method_cost


@dataclass(frozen=True)
class SeedSweep:
    """A recipe run at several budgets with several seeds.

    ``cost`` and ``quality`` have shape ``(n_seeds, n_budgets)``; ``budgets`` has shape
    ``(n_budgets,)``. Each (seed, budget) cell is one complete run.
    """

    budgets: np.ndarray
    cost: np.ndarray
    quality: np.ndarray
    label: str = ""
    cost_unit: str = "s"

    def __post_init__(self) -> None:
        _check_labels(self.label, self.cost_unit)
        budgets = _as_1d_float("budgets", self.budgets)
        if budgets.size == 0:
            raise ValueError("budgets is empty: a sweep needs at least one budget")
        cost = _as_2d_float("cost", self.cost)
        quality = _as_2d_float("quality", self.quality)
        expected = (cost.shape[0] if cost.ndim == 2 else -1, budgets.size)
        if cost.ndim != 2 or cost.shape != expected or quality.shape != cost.shape:
            raise ValueError(
                "cost and quality must both have shape (n_seeds, n_budgets) with n_budgets="
                f"{budgets.size}; got {cost.shape} and {quality.shape}")
        if cost.shape[0] < 1:
            raise ValueError("a sweep needs at least one seed")
        if not (np.all(np.isfinite(cost)) and np.all(np.isfinite(quality))):
            raise ValueError("cost and quality must be finite")
        if np.any(cost <= 0):
            raise ValueError("cost must be positive (it is interpolated in log-cost)")
        object.__setattr__(self, "budgets", budgets)
        object.__setattr__(self, "cost", cost)
        object.__setattr__(self, "quality", quality)

    @property
    def n_seeds(self) -> int:
        return int(self.cost.shape[0])

    def mean_curve(self, seeds: np.ndarray | None = None) -> TradeoffCurve:
        """The curve of seed-averaged cost and quality at each budget (over ``seeds`` rows)."""
        rows = slice(None) if seeds is None else self._seed_rows(seeds)
        return TradeoffCurve(self.cost[rows].mean(axis=0), self.quality[rows].mean(axis=0),
                             self.label, self.cost_unit)

    def _seed_rows(self, seeds) -> np.ndarray:
        rows = np.asarray(seeds)
        if rows.ndim != 1 or rows.size == 0:
            raise ValueError(f"seeds must be a non-empty 1-D array of row indices, got shape "
                             f"{rows.shape}")
        if not np.issubdtype(rows.dtype, np.integer):
            raise TypeError(f"seeds must be integer row indices, got dtype {rows.dtype}")
        if rows.min() < 0 or rows.max() >= self.n_seeds:
            raise ValueError(f"seeds must be row indices in [0, {self.n_seeds}), got "
                             f"{rows.min()}..{rows.max()}")
        return rows

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, budget: str = "budget", seed: str = "seed",
                   cost: str = "cost", quality: str = "quality", label: str = "",
                   cost_unit: str = "s") -> SeedSweep:
        """Build from a tidy frame with one row per (seed, budget) run; every seed must
        have every budget."""
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
        missing = [c for c in (budget, seed, cost, quality) if c not in frame.columns]
        if missing:
            raise KeyError(f"frame lacks columns {missing}; it has {list(frame.columns)}")
        if frame.empty:
            raise ValueError("frame has no rows: a sweep needs at least one run")
        for column in (budget, cost, quality):
            if not pd.api.types.is_numeric_dtype(frame[column]) or \
                    pd.api.types.is_bool_dtype(frame[column]):
                raise TypeError(f"frame column {column!r} must be numeric, got dtype "
                                f"{frame[column].dtype}")
        cost_table = frame.pivot_table(index=seed, columns=budget, values=cost, aggfunc="mean")
        quality_table = frame.pivot_table(index=seed, columns=budget, values=quality, aggfunc="mean")
        if cost_table.isna().any().any():
            raise ValueError("every seed must have a run at every budget")
        return cls(cost_table.columns.to_numpy(dtype=float), cost_table.to_numpy(),
                   quality_table.to_numpy(), label, cost_unit)


@dataclass(frozen=True)
class SpeedupEstimate:
    """A speedup at a target quality with a percentile bootstrap interval over seeds.

    ``fraction_defined`` is the share of bootstrap resamples in which both recipes reached the
    target; the interval is taken over those resamples only.
    """

    target: float
    speedup: float
    low: float
    high: float
    confidence: float
    n_boot: int
    fraction_defined: float

    def __str__(self) -> str:
        percent = round(100 * self.confidence)
        return (f"{self.speedup:.2f}x at quality {self.target:g} "
                f"({percent}% CI {self.low:.2f}-{self.high:.2f})")

    def prose(self, interval: bool = True) -> str:
        """The speedup for a sentence: "1.48× (95% interval 1.44–1.52)" (without the
        parenthesis when ``interval`` is False), or a note that it is undefined because the
        method's curve never reached the target."""
        if not np.isfinite(self.speedup):
            return "undefined (it never reached the target)"
        if not interval:
            return f"{self.speedup:.2f}×"
        percent = round(100 * self.confidence)
        return f"{self.speedup:.2f}× ({percent}% interval {self.low:.2f}–{self.high:.2f})"


def bootstrap_speedup(baseline: SeedSweep, method: SeedSweep, target: float, *,
                      n_boot: int = 2000, confidence: float = 0.95,
                      seed: int = 0) -> SpeedupEstimate:
    """Speedup of ``method`` over ``baseline`` at quality ``target``, with a bootstrap CI.

    Each resample draws seeds with replacement, independently for the two recipes, averages
    their runs budget by budget, and computes :func:`speedup_at` on the averaged curves.
    """
    for name, sweep in (("baseline", baseline), ("method", method)):
        if not isinstance(sweep, SeedSweep):
            raise TypeError(f"{name} must be a SeedSweep, got {type(sweep).__name__}")
    if not _is_int(n_boot):
        raise TypeError(f"n_boot must be an integer, got {type(n_boot).__name__} {n_boot!r}")
    if not _is_int(seed):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__} {seed!r}")
    confidence = _finite_real("confidence", confidence)
    target = _finite_real("target", target)
    if n_boot < 100:
        raise ValueError(f"n_boot must be at least 100 for a percentile interval, got {n_boot}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    point = speedup_at(baseline.mean_curve(), method.mean_curve(), target)
    rng = np.random.default_rng(seed)
    samples = np.empty(n_boot)
    for b in range(n_boot):
        base_rows = rng.integers(0, baseline.n_seeds, baseline.n_seeds)
        method_rows = rng.integers(0, method.n_seeds, method.n_seeds)
        samples[b] = speedup_at(baseline.mean_curve(base_rows), method.mean_curve(method_rows), target)
    defined = samples[np.isfinite(samples)]
    if defined.size == 0:
        low = high = float("nan")
    else:
        tail = 100 * (1 - confidence) / 2
        low, high = (float(v) for v in np.percentile(defined, [tail, 100 - tail]))
    return SpeedupEstimate(target=float(target), speedup=float(point), low=low, high=high,
                           confidence=confidence, n_boot=n_boot,
                           fraction_defined=defined.size / n_boot)


def amdahl_speedup(fraction: float, factor: float) -> float:
    """Whole-step speedup when a ``fraction`` of the step time is made ``factor`` times faster:
    :math:`S = 1 / ((1 - p) + p / s)`."""
    fraction = _finite_real("fraction", fraction)
    if isinstance(factor, (bool, np.bool_)) or not isinstance(factor, numbers.Real):
        raise TypeError(f"factor must be a real number, got {type(factor).__name__} {factor!r}")
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    if not factor > 0:
        raise ValueError(f"factor must be positive, got {factor}")
    return 1.0 / ((1.0 - fraction) + fraction / factor)
