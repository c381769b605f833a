"""Patient-level metrics: AUC (scikit-learn), risk stratification by score quartile, and a Cox
hazard ratio for the top-quartile indicator (lifelines, imported only when asked for)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of ``scores`` for 0/1 ``labels`` (both ``(n,)``)."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
    if labels.shape != scores.shape or labels.ndim != 1:
        raise ValueError(f"labels and scores must be 1-D of one length, got {labels.shape} "
                         f"and {scores.shape}")
    if len(np.unique(labels)) < 2:
        raise ValueError("AUC needs both classes among the labels")
    return float(roc_auc_score(labels, scores))


def instance_auc(labels: np.ndarray, instance_scores: np.ndarray) -> float:
    """AUC of instance scores ``(n_patients, n_instances)`` against each instance's inherited
    patient label."""
    instance_scores = np.asarray(instance_scores)
    if instance_scores.ndim != 2 or len(instance_scores) != len(labels):
        raise ValueError("instance_scores must be (n_patients, n_instances) with one row per label")
    return auc(np.repeat(np.asarray(labels), instance_scores.shape[1]), instance_scores.ravel())


def score_quartiles(scores: np.ndarray) -> np.ndarray:
    """Quartile of each score, 1 (lowest) to 4 (highest): ``(n,)`` ints."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 1 or len(scores) < 4:
        raise ValueError(f"scores must be 1-D with at least 4 patients, got shape {scores.shape}")
    ranks = scores.argsort(kind="stable").argsort(kind="stable")
    return 1 + (4 * ranks) // len(scores)


def top_quartile_risk_ratio(scores: np.ndarray, event: np.ndarray) -> float:
    """Event rate among patients in the top score quartile divided by the rate in the rest."""
    event = np.asarray(event, dtype=bool)
    top = score_quartiles(scores) == 4
    if event.shape != top.shape:
        raise ValueError("scores and event must have the same length")
    rest = event[~top].mean()
    if rest == 0:
        raise ValueError("no events outside the top quartile: the risk ratio is unbounded")
    return float(event[top].mean() / rest)


def cox_top_quartile(scores: np.ndarray, time: np.ndarray, event: np.ndarray) -> dict:
    """Cox proportional-hazards fit of survival on the top-quartile indicator (lifelines):
    ``{"hazard_ratio", "ci_low", "ci_high", "p"}`` (95% interval)."""
    import pandas as pd
    from lifelines import CoxPHFitter

    time = np.asarray(time, dtype=float)
    if (time <= 0).any() or not np.isfinite(time).all():
        raise ValueError("survival times must be positive and finite")
    frame = pd.DataFrame({"time": time, "event": np.asarray(event, dtype=int),
                          "top_quartile": (score_quartiles(scores) == 4).astype(int)})
    fit = CoxPHFitter().fit(frame, duration_col="time", event_col="event")
    row = fit.summary.loc["top_quartile"]
    return {"hazard_ratio": float(row["exp(coef)"]), "ci_low": float(row["exp(coef) lower 95%"]),
            "ci_high": float(row["exp(coef) upper 95%"]), "p": float(row["p"])}
