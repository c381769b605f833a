"""The chapter's figures (seaborn, the book's theme)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from effnotes.mil.cohort import Cohort
from effnotes.mil.metrics import score_quartiles


def first_positive(cohort: Cohort) -> int:
    """The index of the cohort's first positive patient."""
    positives = np.flatnonzero(cohort.labels == 1)
    if not len(positives):
        raise ValueError("the cohort has no positive patient")
    return int(positives[0])


def plot_beats(cohort: Cohort, patient: int | None = None, count: int = 3, axes=None):
    """A few witness and normal beats of one patient (the first positive one by default),
    side by side (time in s from R, mV)."""
    patient = first_positive(cohort) if patient is None else patient
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    window = cohort.beats.shape[2]
    t = (np.arange(window) - window // 2) / cohort.sampling_rate
    for ax, is_witness, title in ((axes[0], False, "normal beats"), (axes[1], True, "witness beats")):
        index = np.flatnonzero(cohort.witness[patient] == is_witness)[:count]
        for i in index:
            ax.plot(t, cohort.beats[patient, i], linewidth=1)
        ax.set_title(title)
        ax.set_xlabel("time from R peak (s)")
    axes[0].set_ylabel("mV")
    kind = "positive" if cohort.labels[patient] == 1 else "negative"
    axes[0].figure.suptitle(f"patient {patient} ({kind})", y=1.02)
    return axes


def plot_mean_beats(cohort: Cohort, ax=None):
    """The average beat of each class, with the pointwise 95% band of patient mean beats."""
    ax = ax or plt.gca()
    window = cohort.beats.shape[2]
    t = (np.arange(window) - window // 2) / cohort.sampling_rate
    means = cohort.mean_beats()
    frame = pd.DataFrame({"time from R peak (s)": np.tile(t, len(means)),
                          "mV": means.ravel(),
                          "class": np.repeat(np.where(cohort.labels == 1, "positive", "negative"),
                                             window)})
    sns.lineplot(frame, x="time from R peak (s)", y="mV", hue="class", errorbar=("pi", 95), ax=ax)
    ax.set_title("mean beat per class")
    return ax


def plot_aucs(aucs, ax=None, chance: float = 0.5):
    """Patient AUC of each method (one point per seed), from the ``aucs`` table (a DataFrame
    or its records: seed, method, family, auc)."""
    aucs = pd.DataFrame(aucs)
    ax = ax or plt.gca()
    order = aucs.groupby("method")["auc"].mean().sort_values(ascending=False).index
    sns.stripplot(aucs, y="method", x="auc", hue="family", order=order, ax=ax, size=6)
    ax.axvline(chance, color="0.4", linestyle=":", linewidth=1)
    ax.set_xlabel("patient AUC (held-out patients)")
    ax.set_ylabel("")
    ax.set_title("patient AUC per method (one point per seed; dotted: chance)")
    return ax


def plot_kaplan_meier(scores, ax=None, seed: int | None = None):
    """Kaplan-Meier event-free curves by score quartile (lifelines) for one seed's test
    scores (columns ``score``, ``time`` in years, ``event``; with a ``seed`` column, the
    rows of ``seed``, by default the lowest one)."""
    from lifelines import KaplanMeierFitter

    scores = pd.DataFrame(scores)
    if "seed" in scores:
        seed = int(scores["seed"].min()) if seed is None else seed
        scores = scores[scores["seed"] == seed]
    if len(scores) < 4:
        raise ValueError(f"need the scores of at least 4 patients, got {len(scores)}")
    ax = ax or plt.gca()
    quartile = score_quartiles(scores["score"].to_numpy())
    for q in (1, 2, 3, 4):
        part = scores[quartile == q]
        fitter = KaplanMeierFitter(label=f"quartile {q}").fit(part["time"], part["event"])
        fitter.plot_survival_function(ax=ax, ci_show=False)
    ax.set_xlabel("time (years)")
    ax.set_ylabel("event-free fraction")
    ax.set_title("Kaplan-Meier by MIL score quartile" + ("" if seed is None else
                                                          f" (seed {seed}'s test patients)"))
    return ax


def plot_sensitivity(table, ax=None):
    """Patient AUC against the positives' witness fraction, one line per bag size, from the
    ``sensitivity`` table (witness_positive, n_beats, auc)."""
    table = pd.DataFrame(table)
    ax = ax or plt.gca()
    sns.lineplot(table, x="witness_positive", y="auc", hue="n_beats", marker="o", ax=ax,
                 palette="colorblind")
    ax.set_xlabel("witness fraction of positive patients")
    ax.set_ylabel("patient AUC (dense, top 20%)")
    ax.legend(title="beats per patient")
    ax.set_title("sensitivity: one seed per cell")
    return ax


def plot_pooling(instance_scores: np.ndarray, labels: np.ndarray, top_percent: float,
                 ax=None):
    """Patient scores pooled as the mean of each bag's top ``top_percent``% instance scores
    (100: mean pooling; a share below one instance: max pooling), as histograms of the
    negative and positive patients, with the patient AUC in the title.
    ``instance_scores``: ``(n_patients, n_instances)``; ``labels``: ``(n_patients,)`` 0/1."""
    from effnotes.mil.metrics import auc
    from effnotes.mil.pooling import topk_pool

    instance_scores, labels = np.asarray(instance_scores), np.asarray(labels)
    if instance_scores.ndim != 2 or labels.shape != instance_scores.shape[:1]:
        raise ValueError(f"need instance_scores (n_patients, n_instances) and labels "
                         f"(n_patients,), got {instance_scores.shape} and {labels.shape}")
    pooled = topk_pool(instance_scores, top_percent / 100)
    k = int(np.ceil(top_percent / 100 * instance_scores.shape[1]))
    ax = ax or plt.gca()
    frame = pd.DataFrame({"pooled score": pooled,
                          "patient": np.where(labels == 1, "positive", "negative")})
    sns.histplot(frame, x="pooled score", hue="patient", hue_order=["negative", "positive"],
                 bins=30, element="step", stat="density", common_norm=False, ax=ax)
    ax.set_title(f"mean of the top {k} of {instance_scores.shape[1]} instance scores: "
                 f"patient AUC {auc(labels, pooled):.3f}", fontsize=10)
    return ax
