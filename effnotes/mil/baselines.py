"""Patient-level baselines that do not look for rare beats.

- :func:`hrv_features`: heart-rate variability from the RR intervals, computed by neurokit2
  (``hrv_time`` and ``hrv_frequency``: mean NN, SDNN, RMSSD, pNN50, LF/HF);
- :func:`mean_beat_features`: the patient's average beat (a template);
- :func:`morphologic_variability`: a morphologic-variability-style summary, the energy of
  beat-to-beat differences in the ST/T segment (upper decile, median and mean over the bag).

Each returns a feature matrix ``(n_patients, n_features)``; :func:`fit_baseline` fits a
standardised logistic regression (scikit-learn) on the training patients and scores the rest.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HRV_COLUMNS = ("HRV_MeanNN", "HRV_SDNN", "HRV_RMSSD", "HRV_pNN50", "HRV_LFHF")


def _check_2d(name: str, values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_patients, n_beats), got shape {values.shape}")
    if values.shape[1] == 0:
        raise ValueError(f"{name}: a bag with no beats")
    if not np.isfinite(values).all():
        raise ValueError(f"{name} must be finite")
    return values


def hrv_features(rr_ms: np.ndarray, sampling_rate: int = 128) -> np.ndarray:
    """HRV features of each patient's RR series ``(n_patients, n_beats)`` (ms), computed with
    neurokit2 from the R-peak positions: ``(n_patients, len(HRV_COLUMNS))``."""
    import neurokit2 as nk

    rr_ms = _check_2d("rr_ms", rr_ms)
    if rr_ms.shape[1] < 10:
        raise ValueError(f"HRV needs at least 10 beats per patient, got {rr_ms.shape[1]}")
    rows = []
    for rr in rr_ms:
        peaks = np.round(np.concatenate([[0.0], np.cumsum(rr)]) * sampling_rate / 1000).astype(int)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            time_domain = nk.hrv_time(peaks, sampling_rate=sampling_rate)
            frequency = nk.hrv_frequency(peaks, sampling_rate=sampling_rate)
        row = {**time_domain.iloc[0].to_dict(), **frequency.iloc[0].to_dict()}
        rows.append([row.get(c, np.nan) for c in HRV_COLUMNS])
    features = np.asarray(rows, dtype=float)
    features[:, -1] = np.log(np.clip(features[:, -1], 1e-6, None))  # log LF/HF
    # a column neurokit2 could not compute for a patient takes the column's median
    bad = ~np.isfinite(features)
    if bad.any():
        medians = np.nanmedian(np.where(bad, np.nan, features), axis=0)
        features[bad] = np.take(medians, np.nonzero(bad)[1])
    return features


def mean_beat_features(beats: np.ndarray) -> np.ndarray:
    """Each patient's average beat: beats ``(n_patients, n_beats, window)`` ->
    ``(n_patients, window)``."""
    beats = np.asarray(beats)
    if beats.ndim != 3:
        raise ValueError(f"beats must be 3-D (n_patients, n_beats, window), got {beats.shape}")
    if beats.shape[1] == 0:
        raise ValueError("a bag with no beats has no mean beat")
    return beats.mean(axis=1)


def morphologic_variability(beats: np.ndarray, sampling_rate: int = 128,
                            segment_s: tuple[float, float] = (0.1, 0.4)) -> np.ndarray:
    """Energy of successive-beat differences in the repolarisation (ST/T) segment,
    ``segment_s`` seconds after the R peak (beats centred on R): ``mean((b[t+1] - b[t])**2)``
    per pair of adjacent beats, summarised per patient by its 90th percentile, median and mean
    (log scale): ``(n_patients, 3)``. Like morphologic variability it measures how much the
    shape changes from beat to beat; unlike it, there is no time warping and no spectral band."""
    beats = np.asarray(beats, dtype=np.float32)
    if beats.ndim != 3:
        raise ValueError(f"beats must be 3-D (n_patients, n_beats, window), got {beats.shape}")
    if beats.shape[1] < 2:
        raise ValueError("morphologic variability needs at least two beats per patient")
    centre = beats.shape[2] // 2
    start, stop = (centre + int(round(s * sampling_rate)) for s in segment_s)
    if not 0 <= start < stop <= beats.shape[2]:
        raise ValueError(f"segment {segment_s} s does not fit in beats of {beats.shape[2]} "
                         f"samples at {sampling_rate} Hz")
    part = beats[:, :, start:stop]
    energy = ((part[:, 1:] - part[:, :-1]) ** 2).mean(axis=2)
    summary = [np.percentile(energy, 90, axis=1), np.median(energy, axis=1), energy.mean(axis=1)]
    return np.log(np.stack(summary, axis=1) + 1e-12)


def fit_baseline(features: np.ndarray, labels: np.ndarray, train: np.ndarray,
                 test: np.ndarray, C: float = 1.0) -> np.ndarray:
    """Fit a standardised L2 logistic regression on ``features[train]`` and return the
    probability of the positive class for ``features[test]``."""
    features = np.asarray(features, dtype=float)
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(f"features must be (n_patients, n_features) with n_patients = "
                         f"{len(labels)}, got shape {features.shape}")
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    model.fit(features[train], np.asarray(labels)[train])
    return model.predict_proba(features[test])[:, 1]
