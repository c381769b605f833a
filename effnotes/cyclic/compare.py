"""Comparing the cyclic curve with the standard one, as Portes et al. (2022) do: the gap
between them at each budget, the correlation of each method's effect (method minus baseline)
as the two curves measure it, and what the single cyclic run saved.

Every function takes the tidy frames of :func:`effnotes.cyclic.runs.run_comparison`
(``points`` with ``method, seed, kind, budget_epochs, train_time_s, val_accuracy``; ``runs``
with ``method, seed, kind, train_time_s``). Accuracies are fractions in [0, 1].
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binom

from effnotes.validation import check_frame, check_integer, check_real

#: The two kinds of run a points or runs frame holds: one cyclic run, and standard runs at
#: each trough budget.
KINDS = ("standard", "cyclic")

#: The numeric columns a points or runs frame may hold: column -> (lowest allowed value,
#: whether that value itself is allowed, highest allowed value or None).
NUMERIC_COLUMNS = {"val_accuracy": (0.0, True, 1.0), "train_time_s": (0.0, True, None),
            "budget_epochs": (0.0, False, None), "seed": (0.0, True, None)}


def check_numeric_columns(frame: pd.DataFrame, columns, name: str) -> None:
    """Each of ``columns`` of ``frame`` must hold finite numbers in its range (accuracies in
    [0, 1], seconds and seeds >= 0, budgets > 0, as in :data:`NUMERIC_COLUMNS`, else only finite):
    a ``TypeError`` or ``ValueError`` naming the column and the first row that breaks it."""
    for column in columns:
        values = frame[column]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            raise TypeError(f"{name}[{column!r}] must hold numbers, got dtype {values.dtype}")
        array = values.to_numpy(dtype=float)
        low, inclusive, high = NUMERIC_COLUMNS.get(column, (-np.inf, True, None))
        bad = ~np.isfinite(array) | (array < low if inclusive else array <= low)
        if high is not None:
            bad |= array > high
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            bound = "finite" if column not in NUMERIC_COLUMNS else (
                f"finite and {'>=' if inclusive else '>'} {low:g}"
                + (f" and <= {high:g}" if high is not None else ""))
            raise ValueError(f"{name}[{column!r}] must be {bound}: row {frame.index[first]!r} "
                             f"holds {array[first]}")


def check_tidy(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    """A points or runs frame: :func:`~effnotes.validation.check_frame`, its numeric ``columns`` in range
    (:func:`check_numeric_columns`) and, if it has a ``kind`` column, both :data:`KINDS`."""
    check_frame(frame, columns, name)
    check_numeric_columns(frame, [c for c in columns if c in NUMERIC_COLUMNS], name)
    kinds = set(frame["kind"]) if "kind" in frame.columns else set()
    if kinds and kinds != set(KINDS):
        raise ValueError(f"{name} must hold both kinds {KINDS}, got {sorted(kinds, key=str)}")


def _check_baseline(points: pd.DataFrame, baseline: str) -> None:
    if not isinstance(baseline, str):
        raise TypeError(f"baseline must be a method name, got {type(baseline).__name__}")
    if baseline not in set(points["method"]):
        raise ValueError(f"the points hold no baseline method {baseline!r}")


def _check_complete(points: pd.DataFrame) -> None:
    """Every method needs both kinds at every budget of the points."""
    have = set(zip(points["method"], points["kind"], points["budget_epochs"]))
    for method in dict.fromkeys(points["method"]):
        for kind in KINDS:
            for budget in sorted(set(points["budget_epochs"])):
                if (method, kind, budget) not in have:
                    raise ValueError(f"points has no {kind} point of method {method!r} at "
                                     f"budget {budget}: every method needs both curves at "
                                     "every budget")


def _table(points: pd.DataFrame, value: str = "val_accuracy") -> pd.DataFrame:
    """Rows (method, seed, budget_epochs), columns the two kinds."""
    return points.pivot_table(index=["method", "seed", "budget_epochs"], columns="kind",
                              values=value, aggfunc="mean")


def curve_gaps(points: pd.DataFrame) -> pd.DataFrame:
    """Per method and budget: each curve's seed mean and standard deviation, the gap
    ``cyclic - standard`` and that gap in units of the pooled seed SD
    ``sqrt((sd_standard^2 + sd_cyclic^2) / 2)``; ``first_budget`` marks the first trough,
    where the cyclic and standard schedules are the same one."""
    check_tidy(points, ("method", "seed", "kind", "budget_epochs", "val_accuracy", "train_time_s"),
           "points")
    grouped = points.groupby(["method", "budget_epochs", "kind"])
    stats = grouped["val_accuracy"].agg(["mean", "std"]).unstack("kind")
    cost = grouped["train_time_s"].mean().unstack("kind")
    frame = pd.DataFrame({
        "standard_mean": stats[("mean", "standard")], "standard_sd": stats[("std", "standard")],
        "cyclic_mean": stats[("mean", "cyclic")], "cyclic_sd": stats[("std", "cyclic")],
        "standard_cost_s": cost["standard"], "cyclic_cost_s": cost["cyclic"]})
    frame["gap"] = frame["cyclic_mean"] - frame["standard_mean"]
    frame["pooled_sd"] = np.sqrt((frame["standard_sd"] ** 2 + frame["cyclic_sd"] ** 2) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(frame["gap"]) / frame["pooled_sd"]
    frame["gap_in_sd"] = np.where(frame["gap"] == 0, 0.0, ratio)
    first = frame.reset_index().groupby("method")["budget_epochs"].transform("min").to_numpy()
    frame["first_budget"] = frame.index.get_level_values("budget_epochs").to_numpy() == first
    return frame


def method_differences(points: pd.DataFrame, *, baseline: str = "baseline",
                       skip_first: bool = True) -> pd.DataFrame:
    """Per method (not the baseline) and budget: the seed-mean accuracy difference
    ``method - baseline`` on the standard curve and on the cyclic curve. With
    ``skip_first`` the first budget, where both schedules coincide, is left out."""
    check_tidy(points, ("method", "seed", "kind", "budget_epochs", "val_accuracy"), "points")
    _check_baseline(points, baseline)
    if not isinstance(skip_first, (bool, np.bool_)):
        raise TypeError(f"skip_first must be True or False, got {skip_first!r}")
    _check_complete(points)
    means = points.groupby(["method", "kind", "budget_epochs"])["val_accuracy"].mean()
    means = means.unstack("kind")
    budgets = sorted(set(points["budget_epochs"]))
    if skip_first:
        budgets = budgets[1:]
    rows = []
    for method in dict.fromkeys(points["method"]):
        if method == baseline:
            continue
        for budget in budgets:
            diff = means.loc[(method, budget)] - means.loc[(baseline, budget)]
            rows.append({"method": method, "budget_epochs": budget,
                         "standard_diff": diff["standard"], "cyclic_diff": diff["cyclic"]})
    return pd.DataFrame(rows)


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r, NaN with fewer than 3 points or a constant side (r is undefined)."""
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def effect_summary(points: pd.DataFrame, *, baseline: str = "baseline",
                   skip_first: bool = True) -> pd.DataFrame:
    """Per method: its effect on the standard curve (``method - baseline``, averaged over the
    budgets), the standard error of that effect over seeds (the two recipes' per-seed
    budget-averaged accuracies, as independent samples), ``z = effect / se``, the same effect
    read off the cyclic curves, ``mean_gap`` (standard effect minus cyclic effect: how much the
    cyclic curve under-rates the method) and ``correlation``, Pearson's r across budgets of the
    two curves' differences (NaN with fewer than 3 budgets)."""
    diffs = method_differences(points, baseline=baseline, skip_first=skip_first)
    budgets = sorted(set(diffs["budget_epochs"]))
    standard = points[(points["kind"] == "standard") & points["budget_epochs"].isin(budgets)]
    per_seed = standard.groupby(["method", "seed"])["val_accuracy"].mean()
    base = per_seed.loc[baseline]
    seeds = per_seed.groupby(level="method").size()
    if seeds.min() < 2:
        raise ValueError(f"points has one seed of method {seeds.idxmin()!r}: a standard error "
                         "over seeds needs at least two")
    rows = []
    for method, group in diffs.groupby("method", sort=False):
        mine = per_seed.loc[method]
        se = float(np.sqrt(mine.var(ddof=1) / mine.size + base.var(ddof=1) / base.size))
        effect = float(group["standard_diff"].mean())
        z = 0.0 if effect == 0 else (abs(effect) / se if se > 0 else float("inf"))
        rows.append({"method": method, "standard_effect": effect, "se": se, "z": z,
                     "cyclic_effect": float(group["cyclic_diff"].mean()),
                     "mean_gap": float((group["standard_diff"] - group["cyclic_diff"]).mean()),
                     "correlation": _correlation(group["standard_diff"].to_numpy(),
                                                 group["cyclic_diff"].to_numpy()),
                     "n_budgets": int(len(group))})
    return pd.DataFrame(rows).set_index("method")


def pooled_correlation(points: pd.DataFrame, *, baseline: str = "baseline",
                       skip_first: bool = True) -> float:
    """Pearson's r of the two curves' ``method - baseline`` differences over every (method,
    budget) pair together (the paper's "all methods" figure)."""
    diffs = method_differences(points, baseline=baseline, skip_first=skip_first)
    return _correlation(diffs["standard_diff"].to_numpy(), diffs["cyclic_diff"].to_numpy())


def cost_saving(runs: pd.DataFrame) -> pd.Series:
    """Training time of all standard runs over that of the cyclic runs, per method and
    ``"all"`` methods together (evaluation excluded from both)."""
    check_tidy(runs, ("method", "kind", "train_time_s"), "runs")
    totals = runs.groupby(["method", "kind"], sort=False)["train_time_s"].sum().unstack("kind")
    _check_totals(totals, "method")
    saving = totals["standard"] / totals["cyclic"]
    overall = runs.groupby("kind")["train_time_s"].sum()
    saving.loc["all"] = overall["standard"] / overall["cyclic"]
    saving.name = "saving"
    return saving


def _check_totals(totals: pd.DataFrame, what: str) -> None:
    """Every row of ``totals`` (kinds as columns) needs both kinds and cyclic time > 0."""
    if totals.isna().any().any():
        raise ValueError(f"runs: every {what} needs a cyclic run and standard runs")
    if not (totals["cyclic"] > 0).all():
        which = totals.index[~(totals["cyclic"] > 0)][0]
        raise ValueError(f"runs: the cyclic runs of {what} {which!r} took 0 s of training, so "
                         "no saving can be computed")


def pair_savings(runs: pd.DataFrame) -> pd.Series:
    """The saving of each (method, seed) pair on its own: the training time of its standard
    runs over that of its cyclic run. Their median resists a burst of load from another
    process that slows a single run, which a ratio of totals does not."""
    check_tidy(runs, ("method", "seed", "kind", "train_time_s"), "runs")
    totals = runs.groupby(["method", "seed", "kind"], sort=False)["train_time_s"].sum()
    totals = totals.unstack("kind")
    _check_totals(totals, "(method, seed) pair")
    saving = totals["standard"] / totals["cyclic"]
    saving.name = "saving"
    return saving


def _accuracy_array(points: pd.DataFrame, methods: list[str],
                    budgets: list[int]) -> np.ndarray:
    """Accuracies as an array of shape ``(n_methods, 2 kinds, n_seeds, n_budgets)``."""
    table = points.pivot_table(index=["method", "kind", "seed"], columns="budget_epochs",
                               values="val_accuracy", aggfunc="mean")[budgets]
    seeds = sorted(set(points["seed"]))
    index = pd.MultiIndex.from_product([methods, KINDS, seeds])
    table = table.reindex(index)
    if table.isna().any().any():
        raise ValueError("every method, kind and seed needs a point at every budget")
    return table.to_numpy().reshape(len(methods), len(KINDS), len(seeds), len(budgets))


def bootstrap_correlation(points: pd.DataFrame, *, baseline: str = "baseline",
                          skip_first: bool = True, n_boot: int = 2000,
                          confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Percentile bootstrap interval of each method's :func:`effect_summary` correlation.

    Seeds are resampled with replacement, the same draw for every method and both curves
    (a seed's runs share their initialisation and data order, so they are paired). Returns
    ``correlation, low, high, fraction_defined`` per method (resamples in which r is undefined
    are left out of the interval).
    """
    check_integer("n_boot", n_boot)
    if n_boot < 100:
        raise ValueError(f"n_boot must be at least 100 for a percentile interval, got {n_boot}")
    if not 0 < check_real("confidence", confidence) < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    seed = check_integer("seed", seed, 0)
    check_tidy(points, ("method", "seed", "kind", "budget_epochs", "val_accuracy"), "points")
    _check_baseline(points, baseline)
    methods = list(dict.fromkeys(points["method"]))
    methods.remove(baseline)
    methods.insert(0, baseline)
    budgets = sorted(set(points["budget_epochs"]))[1 if skip_first else 0:]
    accuracy = _accuracy_array(points, methods, budgets)
    n_seeds = accuracy.shape[2]
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    tail = 100 * (1 - confidence) / 2
    rows = []
    for m, method in enumerate(methods[1:], start=1):
        def r_of(rows_: np.ndarray) -> float:
            means = accuracy[:, :, rows_, :].mean(axis=2)  # (methods, kinds, budgets)
            diff = means[m] - means[0]
            return _correlation(diff[0], diff[1])

        samples = np.array([r_of(d) for d in draws])
        defined = samples[np.isfinite(samples)]
        low, high = (np.percentile(defined, [tail, 100 - tail]) if defined.size
                     else (np.nan, np.nan))
        rows.append({"method": method, "correlation": r_of(np.arange(n_seeds)),
                     "low": float(low), "high": float(high),
                     "fraction_defined": defined.size / n_boot})
    return pd.DataFrame(rows).set_index("method")


def chance_of_exceeding(n_seeds: int, threshold: float = 2.0, *, n_sim: int = 200_000,
                        seed: int = 0) -> float:
    """Probability that the gap between two curves' seed means exceeds ``threshold`` pooled
    seed SDs (as :func:`curve_gaps` measures it) when both curves have the same mean and
    spread, with ``n_seeds`` normally distributed seeds each (Monte Carlo, ``n_sim`` draws).

    A check "within 2 SD at every budget" fails this often per budget by chance alone.
    """
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, (int, np.integer)) or n_seeds < 2:
        raise ValueError(f"n_seeds must be an integer >= 2 (a seed SD needs two), got {n_seeds!r}")
    if not check_real("threshold", threshold) > 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    check_integer("n_sim", n_sim, 1)
    seed = check_integer("seed", seed, 0)
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n_sim, n_seeds))
    b = rng.standard_normal((n_sim, n_seeds))
    gap = np.abs(a.mean(axis=1) - b.mean(axis=1))
    pooled = np.sqrt((a.var(axis=1, ddof=1) + b.var(axis=1, ddof=1)) / 2)
    return float(np.mean(gap > threshold * pooled))


def agreement_checks(points: pd.DataFrame, *, threshold_sd: float = 2.0,
                     strong_z: float = 2.0, level: float = 0.95,
                     baseline: str = "baseline") -> dict:
    """The chapter's agreement checks for one experiment's ``points``, live or stored.

    Returns a dict with:

    - ``n_later``: (method, budget) pairs after the first budget;
    - ``n_beyond``: those whose gap exceeds ``threshold_sd`` pooled seed SDs;
    - ``allowed_beyond``: the count that chance alone stays within with probability
      ``level`` when the curves truly agree (binomial over pairs, with the per-pair chance
      from :func:`chance_of_exceeding` at this run's seed count);
    - ``strong``: methods whose effect on the standard curve exceeds ``strong_z`` standard
      errors, with ``signs_agree`` (the cyclic curve puts each on the same side of the
      baseline) and ``effects_agree`` (the two effects differ by at most two standard errors);
    - ``strong_correlations``: the paper's across-budget correlation for each strong method.
    """
    if not 0 < check_real("level", level) < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    if not check_real("threshold_sd", threshold_sd) > 0:
        raise ValueError(f"threshold_sd must be positive, got {threshold_sd}")
    check_real("strong_z", strong_z)
    gaps = curve_gaps(points)
    later = gaps[~gaps["first_budget"]]
    n_seeds = int(points.groupby(["method", "kind", "budget_epochs"])["seed"].nunique().min())
    p_chance = chance_of_exceeding(n_seeds, threshold_sd)
    effects = effect_summary(points, baseline=baseline)
    strong = effects[effects["z"] > strong_z]
    difference = (strong["standard_effect"] - strong["cyclic_effect"]).abs()
    return {
        "n_later": int(len(later)),
        "n_beyond": int((later["gap_in_sd"] > threshold_sd).sum()),
        "p_chance": p_chance,
        "allowed_beyond": int(binom.ppf(level, len(later), p_chance)),
        "strong": list(strong.index),
        "signs_agree": bool((np.sign(strong["standard_effect"])
                             == np.sign(strong["cyclic_effect"])).all()),
        "effects_agree": bool((difference <= 2 * strong["se"]).all()),
        "strong_correlations": {m: float(r) for m, r in strong["correlation"].items()},
    }


def describe_agreement(checks: dict) -> str:
    """One sentence for the prose from an :func:`agreement_checks` result: gaps beyond two
    seed SDs against what chance allows, the strong methods with their correlations, whether
    the cyclic curve agrees with the standard one on their effects, and whether the
    paper's correlation check (r >= 0.8 for each strong method) holds."""
    if not isinstance(checks, dict):
        raise TypeError(f"checks must be the dict of agreement_checks, got "
                        f"{type(checks).__name__}")
    missing = [k for k in ("strong_correlations", "signs_agree", "effects_agree", "n_beyond",
                           "n_later", "allowed_beyond") if k not in checks]
    if missing:
        raise KeyError(f"checks lacks {missing}: pass the dict of agreement_checks")
    correlations = checks["strong_correlations"]
    strong = ", ".join(f"{method.replace('_', ' ')} (r = {r:.2f})"
                       for method, r in correlations.items())
    agrees = "agrees" if checks["signs_agree"] and checks["effects_agree"] else "does not agree"
    paper = "holds" if all(r >= 0.8 for r in correlations.values()) else "fails"
    return (f"{checks['n_beyond']} of {checks['n_later']} (method, budget) pairs after the "
            f"first budget lie beyond two seed SDs, where chance allows up to "
            f"{checks['allowed_beyond']}; the methods with an effect above two standard "
            f"errors are {strong or 'none'}, and for them the cyclic curve {agrees} with the "
            f"standard curve on the sign and size of the effect; the paper's correlation "
            f"check (r ≥ 0.8 for each) {paper}")
