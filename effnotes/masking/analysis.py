r"""The chapter's success criterion and the downstream comparison, with intervals over seeds.

**Speedup.** Let :math:`\bar L_a(t)` be arm :math:`a`'s held-out loss at step :math:`t`,
averaged over seeds. The target is the baseline's own final loss,
:math:`L^* = \bar L_{base}(T)`. Each arm's steps to reach :math:`L^*` are read off its
curve as a :class:`~effnotes.tradeoff.TradeoffCurve` (cost = steps, quality = −loss;
interpolated in log-steps on the frontier), and the speedup is
:math:`S = t_{base}(L^*) / t_{arm}(L^*)`. An arm that never reaches :math:`L^*` has no
finite speedup; in the bootstrap such a resample counts as a speedup of 0 (below any
reached value), so it lowers the interval rather than being dropped.

**Bootstrap.** Arms with the same seed share data order, initial weights and masking draws,
so seeds are resampled *jointly* (a paired bootstrap); the target is recomputed in each
resample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from effnotes.tradeoff import SpeedupEstimate, TradeoffCurve
from effnotes.validation import check_frame, check_integer, check_real


def _check_confidence(confidence) -> float:
    confidence = check_real("confidence", confidence)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    return confidence


def _curves(curves: pd.DataFrame) -> pd.DataFrame:
    check_frame(curves, ("arm", "seed", "step", "heldout_loss"), "curves")
    for column in ("step", "heldout_loss"):
        if not pd.api.types.is_numeric_dtype(curves[column]) or curves[column].dtype == bool:
            raise TypeError(f"curves column {column!r} must be numeric, got {curves[column].dtype}")
        if not np.isfinite(curves[column].to_numpy(float)).all():
            raise ValueError(f"curves column {column!r} holds NaN or infinite values")
    if curves.duplicated(["arm", "seed", "step"]).any():
        raise ValueError("curves has more than one row for some (arm, seed, step)")
    return curves.pivot_table(index=["arm", "seed"], columns="step", values="heldout_loss")


def steps_to_reach(steps: np.ndarray, losses: np.ndarray, target: float) -> float:
    """Steps a loss curve needs to reach ``target`` (``inf`` if it never does)."""
    return TradeoffCurve(np.asarray(steps, float), -np.asarray(losses, float),
                         cost_unit="steps").cost_to_reach(-target)


def _speedup(table: pd.DataFrame, baseline: str, arm: str, rows: np.ndarray) -> float:
    steps = table.columns.to_numpy(float)
    base = table.loc[baseline].to_numpy()[rows].mean(axis=0)
    other = table.loc[arm].to_numpy()[rows].mean(axis=0)
    target = base[-1]
    base_steps = steps_to_reach(steps, base, target)
    arm_steps = steps_to_reach(steps, other, target)
    return base_steps / arm_steps if np.isfinite(arm_steps) else 0.0


def schedule_speedup(curves: pd.DataFrame, baseline: str, arm: str, *, n_boot: int = 2000,
                     confidence: float = 0.95, seed: int = 0) -> SpeedupEstimate:
    """Speedup of ``arm`` over ``baseline`` to the baseline's final held-out loss, with a
    paired percentile-bootstrap interval over seeds. ``curves`` has one row per
    (arm, seed, step) with column ``heldout_loss``; every (arm, seed) needs the same steps."""
    n_boot = check_integer("n_boot", n_boot, minimum=100)
    confidence = _check_confidence(confidence)
    seed = check_integer("seed", seed, minimum=0)
    table = _curves(curves)
    if table.isna().any().any():
        raise ValueError("every (arm, seed) must be evaluated at the same steps")
    for name in (baseline, arm):
        if name not in table.index.get_level_values("arm"):
            raise KeyError(f"no arm named {name!r} in the curves")
    seeds_base = table.loc[baseline].index.tolist()
    if seeds_base != table.loc[arm].index.tolist():
        raise ValueError("the two arms must be run with the same seeds (the bootstrap is paired)")
    n = len(seeds_base)
    point = _speedup(table, baseline, arm, np.arange(n))
    rng = np.random.default_rng(seed)
    samples = np.array([_speedup(table, baseline, arm, rng.integers(0, n, n)) for _ in range(n_boot)])
    tail = 100 * (1 - confidence) / 2
    low, high = (float(v) for v in np.percentile(samples, [tail, 100 - tail]))
    return SpeedupEstimate(target=float(table.loc[baseline].to_numpy().mean(0)[-1]),
                           speedup=float(point) if point > 0 else float("nan"), low=low,
                           high=high, confidence=confidence, n_boot=n_boot,
                           fraction_defined=float(np.mean(samples > 0)))


def mean_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``values`` (1-d, at least 2 real numbers) with a Student-t interval at
    ``confidence`` in (0, 1): ``(mean, low, high)``. NaN values are not refused (they give a
    NaN interval, which the experiment's summaries rely on for missing probe runs)."""
    confidence = _check_confidence(confidence)
    try:
        values = np.asarray(values, float)
    except (TypeError, ValueError) as error:
        raise TypeError(f"values must be real numbers: {error}") from None
    if values.ndim != 1 or values.size < 2:
        raise ValueError(f"values must be a 1-d array of at least 2 values, got shape "
                         f"{values.shape}")
    if np.isinf(values).any():
        raise ValueError("values holds infinite numbers")
    mean = float(values.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2, values.size - 1) * values.std(ddof=1)
                 / np.sqrt(values.size))
    return mean, mean - half, mean + half


def arm_summary(table: pd.DataFrame, value: str, baseline: str, *,
                confidence: float = 0.95) -> pd.DataFrame:
    """Per arm: mean of ``value`` over seeds with a t interval, and the paired difference from
    ``baseline`` (same seed) with its t interval. ``table`` has columns arm, seed, ``value``."""
    wide = table.pivot_table(index="seed", columns="arm", values=value, sort=False)
    if baseline not in wide.columns:
        raise KeyError(f"no arm named {baseline!r}")
    rows = {}
    for arm in wide.columns:
        mean, low, high = mean_interval(wide[arm], confidence)
        if arm == baseline:
            diff = (0.0, 0.0, 0.0)
        else:
            diff = mean_interval(wide[arm] - wide[baseline], confidence)
        rows[arm] = {"mean": mean, "low": low, "high": high, "diff": diff[0],
                     "diff_low": diff[1], "diff_high": diff[2]}
    return pd.DataFrame.from_dict(rows, orient="index")


def verdict(speedup: SpeedupEstimate, decreasing_minus_increasing: tuple[float, float, float], *,
            min_speedup: float = 1.1) -> dict:
    """The criterion fixed before the run: the paper's effect is reproduced if the speedup is
    at least ``min_speedup`` with the interval's lower end above 1, *and* the decreasing
    schedule ends with a lower held-out loss than the increasing one (the paired difference
    decreasing − increasing has its interval below 0).

    ``decreasing_minus_increasing`` is ``(mean, low, high)`` as :func:`mean_interval` gives it."""
    if not isinstance(speedup, SpeedupEstimate):
        raise TypeError(f"speedup must be a SpeedupEstimate, got {type(speedup).__name__}")
    if (isinstance(decreasing_minus_increasing, (str, bytes))
            or not hasattr(decreasing_minus_increasing, "__len__")
            or len(decreasing_minus_increasing) != 3):
        raise ValueError(f"decreasing_minus_increasing must be (mean, low, high), got "
                         f"{decreasing_minus_increasing!r}")
    mean, low, high = (check_real(f"decreasing_minus_increasing[{i}]", v)
                       for i, v in enumerate(decreasing_minus_increasing))
    if not low <= high:
        raise ValueError(f"decreasing_minus_increasing has low {low} above high {high}")
    min_speedup = check_real("min_speedup", min_speedup)
    if not min_speedup > 0:
        raise ValueError(f"min_speedup must be positive, got {min_speedup}")
    fast = bool(np.isfinite(speedup.speedup) and speedup.speedup >= min_speedup and speedup.low > 1)
    order = bool(decreasing_minus_increasing[2] < 0)
    return {"speedup_holds": fast, "direction_holds": order, "reproduced": fast and order}
