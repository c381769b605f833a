"""Reading the chapter's tables: precision gaps, best learning rates and their shifts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from effnotes.results import as_frame


def precision_gaps(runs, precision: str = "fp8_sim") -> pd.Series:
    """``precision / fp32 - 1`` of the final training loss per parametrisation (``fp8_sim``
    by default; ``fp8_sim_dynamic`` for the arms with dynamic scales), from a table with
    columns ``parametrisation``, ``precision`` and ``final_loss`` (NaN where a run diverged
    or an arm is missing for that parametrisation)."""
    runs = as_frame(runs)
    table = runs.pivot_table(index="parametrisation", columns="precision", values="final_loss",
                             dropna=False)
    for column in ("fp32", precision):
        if column not in table:
            raise ValueError(f"runs lack precision {column!r}; they have {list(table.columns)}")
    return table[precision] / table["fp32"] - 1


def mean_interval(values, confidence: float = 0.95) -> dict:
    """Mean of ``values`` (one per seed) and its Student-t interval at ``confidence``:
    ``mean +- t * sd / sqrt(n)``. Returns ``mean``, ``low``, ``high``, ``sd``, ``n`` and the
    values; with one value (or any NaN, e.g. a diverged run) the interval is NaN."""
    from scipy import stats

    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    array = np.asarray(list(values), dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError("values must be a non-empty sequence of numbers")
    n = int(array.size)
    mean = float(array.mean())
    if n < 2 or not np.isfinite(array).all():
        low = high = sd = float("nan")
    else:
        sd = float(array.std(ddof=1))
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / np.sqrt(n)
        low, high = mean - half, mean + half
    return {"mean": mean, "low": low, "high": high, "sd": sd, "n": n,
            "confidence": confidence, "values": array.tolist()}


def best_learning_rates(sweep) -> pd.DataFrame:
    """The best rate per (parametrisation, width) of a sweep table (columns
    ``parametrisation``, ``width``, ``lr``, ``loss``; a diverged run has loss NaN and never
    wins), with its index on the rate grid (``grid_index``)."""
    sweep = as_frame(sweep)
    grid = sorted(sweep["lr"].unique())
    rows = []
    for (param, width), group in sweep.groupby(["parametrisation", "width"]):
        finite = group.dropna(subset=["loss"])
        if finite.empty:
            rows.append({"parametrisation": param, "width": width, "best_lr": np.nan,
                         "grid_index": np.nan, "best_loss": np.nan})
            continue
        best = finite.loc[finite["loss"].idxmin()]
        rows.append({"parametrisation": param, "width": int(width), "best_lr": float(best["lr"]),
                     "grid_index": grid.index(best["lr"]), "best_loss": float(best["loss"])})
    return pd.DataFrame(rows)


def best_lr_shift(sweep) -> pd.Series:
    """How many grid steps each parametrisation's best rate moves across the widths
    (largest minus smallest grid index)."""
    best = best_learning_rates(sweep)
    return best.groupby("parametrisation")["grid_index"].agg(lambda s: s.max() - s.min())


def transfer_penalty(sweep) -> pd.Series:
    """What transferring the rate costs, per parametrisation: train the widest model at the
    rate that was best at the smallest width, and compare with the widest model's own best:
    ``loss(widest, best rate of smallest) / best loss(widest) - 1``. Infinite if that run
    diverged; NaN if the smallest width has no finite run."""
    sweep = as_frame(sweep)
    best = best_learning_rates(sweep)
    out = {}
    for param, group in best.groupby("parametrisation"):
        group = group.sort_values("width")
        base_lr, widest = group.iloc[0]["best_lr"], group.iloc[-1]
        if not np.isfinite(base_lr):
            out[param] = np.nan
            continue
        at = sweep[(sweep["parametrisation"] == param) & (sweep["width"] == widest["width"])
                   & (sweep["lr"] == base_lr)]["loss"]
        value = float(at.iloc[0]) if len(at) else np.nan
        out[param] = np.inf if not np.isfinite(value) else value / widest["best_loss"] - 1
    return pd.Series(out, dtype=float)


# --- the named numbers the chapter reports (claims and glue read these) ---------------------

#: how close (a fraction of the exact value) Prop. 2.1's closed form must come to count as
#: accurate at a position k
FORMULA_TOLERANCE = 0.05

def variance_numbers(variances) -> dict:
    """From :func:`~.variance.monte_carlo_variances`'s table: the largest Monte Carlo error
    (a fraction of the exact value) over the ops and attention at ``k >= 8``
    (``mc_max_error``) and over every row (``mc_max_error_all``), the largest √softmax
    error, the GELU second moment, Prop. 2.1's error against the exact value at each
    ``k`` (``formula_error_k<k>``, a fraction), whether that error falls with ``k`` from
    ``k = 4`` on, and the smallest ``k`` from which it stays within
    :data:`FORMULA_TOLERANCE` (-1 if none)."""
    table = as_frame(variances)
    attn = table[table["op"] == "softmax attention"].set_index("k").sort_index()
    checked = table[(table["k"] == 0) | (table["k"] >= 8)]
    roots = table[table["op"] == "√softmax attention"]
    within = attn["formula_error"].abs() <= FORMULA_TOLERANCE
    from_here_on = within[::-1].cummin()[::-1]  # within 5% here and at every larger k
    numbers = {
        "mc_max_error": float(checked["relative_error"].abs().max()),
        "mc_max_error_all": float(table["relative_error"].abs().max()),
        "sqrt_softmax_max_error": float(roots["relative_error"].abs().max()),
        "gelu_moment": float(table.loc[table["op"] == "GELU", "predicted"].iloc[0]),
        "formula_error_decreasing": bool(
            attn.loc[attn.index >= 4, "formula_error"].is_monotonic_decreasing),
        "formula_ok_k": int(from_here_on[from_here_on].index.min())
        if from_here_on.any() else -1,
    }
    for k, error in attn["formula_error"].items():
        numbers[f"formula_error_k{int(k)}"] = float(error)
    return numbers


def depth_numbers(hidden, residual) -> dict:
    """From the deep model's hidden-linear table (rows per layer and linear, columns
    ``input_rms``, ``grad_rms``, ``grad_underflow`` a fraction) and residual-stream RMS
    (``layer``, ``parametrisation``, ``rms``): the μS input-RMS range of the q/k/v and MLP
    layers and of the attention output projection, the gradient RMS ranges, the mean
    fraction of gradient entries flushed in E5M2 (a fraction), and the residual stream's
    first, last and extreme RMS per parametrisation."""
    hidden, residual = as_frame(hidden), as_frame(residual)
    mus = hidden[hidden["parametrisation"] == "mus"]
    sp = hidden[hidden["parametrisation"] == "sp"]
    main, proj = mus[mus["linear"] != "proj"], mus[mus["linear"] == "proj"]
    res = residual.pivot(index="layer", columns="parametrisation", values="rms").sort_index()
    return {
        "mus_in_min": float(main["input_rms"].min()), "mus_in_max": float(main["input_rms"].max()),
        "mus_proj_min": float(proj["input_rms"].min()),
        "mus_proj_max": float(proj["input_rms"].max()),
        "mus_grad_min": float(mus["grad_rms"].min()), "mus_grad_max": float(mus["grad_rms"].max()),
        "sp_grad_min": float(sp["grad_rms"].min()), "sp_grad_max": float(sp["grad_rms"].max()),
        "mus_under": float(mus["grad_underflow"].mean()),
        "mus_under_max": float(mus["grad_underflow"].max()),
        "sp_under": float(sp["grad_underflow"].mean()),
        "sp_under_qkv": float(sp.loc[sp["linear"] == "qkv", "grad_underflow"].mean()),
        "sp_res_first": float(res["sp"].iloc[0]), "sp_res_last": float(res["sp"].iloc[-1]),
        "sp_res_max": float(res["sp"].max()),
        "mus_res_min": float(res["mus"].min()), "mus_res_max": float(res["mus"].max()),
    }


def loss_text(value: float, spec: str) -> str:
    """A loss or a gap for the prose, formatted with ``spec``; "diverged" when it is not
    finite (a diverged run has none)."""
    return format(value, spec) if np.isfinite(value) else "diverged"


def training_numbers(runs) -> dict:
    """From the training comparison's table (one row per parametrisation and precision,
    ``final_loss`` in nats per byte, ``diverged``): each arm's final loss, the FP8 / FP32 - 1
    gaps (fractions; ``sp_dyn_gap`` with dynamic scales, NaN where that arm is missing),
    whether only SP arms diverged, and μS's FP32 loss over SP's, minus 1."""
    runs = as_frame(runs)
    final = runs.set_index(["parametrisation", "precision"])["final_loss"]
    gaps = precision_gaps(runs)
    dynamic = precision_gaps(runs, "fp8_sim_dynamic") if "fp8_sim_dynamic" in \
        set(runs["precision"]) else pd.Series(dtype=float)
    diverged = runs[runs["diverged"].astype(bool)]
    sp_fp8_diverged = bool(diverged[(diverged["parametrisation"] == "sp")
                                    & (diverged["precision"] == "fp8_sim")].shape[0])
    return {
        "mus_fp32": float(final.get(("mus", "fp32"), np.nan)),
        "mus_fp8": float(final.get(("mus", "fp8_sim"), np.nan)),
        "sp_fp32": float(final.get(("sp", "fp32"), np.nan)),
        "sp_fp8": float(final.get(("sp", "fp8_sim"), np.nan)),
        "sp_fp8_dyn": float(final.get(("sp", "fp8_sim_dynamic"), np.nan)),
        "mus_gap": float(gaps.get("mus", np.nan)),
        # a diverged SP run in FP8 is worse than any gap
        "sp_gap": np.inf if sp_fp8_diverged else float(gaps.get("sp", np.nan)),
        "sp_dyn_gap": float(dynamic.get("sp", np.nan)),
        "only_sp_diverges": bool(diverged["parametrisation"].eq("sp").all()),
        "mus_over_sp_loss": float(final.get(("mus", "fp32"), np.nan)
                                  / final.get(("sp", "fp32"), np.nan) - 1),
    }


def sweep_numbers(sweep) -> dict:
    """From the width sweep's table: the widths, each parametrisation's best-rate shift (grid
    steps), transfer penalty (a fraction; inf where the transferred run diverged), best loss
    at the widest width (nats per byte), and μS's best widest loss over SP's, minus 1."""
    sweep = as_frame(sweep)
    best = best_learning_rates(sweep)
    shifts, penalty = best_lr_shift(sweep), transfer_penalty(sweep)
    widest = best[best["width"] == best["width"].max()].set_index("parametrisation")
    loss = widest["best_loss"]
    return {
        "narrowest": int(sweep["width"].min()), "widest": int(sweep["width"].max()),
        "mus_shift": float(shifts.get("mus", np.nan)), "sp_shift": float(shifts.get("sp", np.nan)),
        "mus_penalty": float(penalty.get("mus", np.nan)),
        "sp_penalty": float(penalty.get("sp", np.nan)),
        "mus_widest_loss": float(loss.get("mus", np.nan)),
        "sp_widest_loss": float(loss.get("sp", np.nan)),
        "mus_over_sp_widest": float(loss.get("mus", np.nan) / loss.get("sp", np.nan) - 1),
    }
