"""Reading real ECG records (WFDB format, e.g. from PhysioNet) into a beat bank.

``read_wfdb_beats("path/to/record")`` reads one lead with ``wfdb.rdrecord`` (any lead, any
sampling rate), resamples it to the bank's rate with a polyphase filter, and segments it at R
peaks exactly as the simulated bank is (:func:`effnotes.mil.beats.segment_beats`). Needs
``wfdb`` and ``neurokit2``; nothing is downloaded.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from effnotes.mil.beats import BeatBank, check_window, segment_beats
from effnotes.validation import check_real


def resample(signal: np.ndarray, rate: float, target_rate: int) -> np.ndarray:
    """Resample a 1-D ``signal`` from ``rate`` Hz to ``target_rate`` Hz (polyphase filter)."""
    check_real("rate", rate)
    check_real("target_rate", target_rate)
    if rate <= 0 or target_rate <= 0:
        raise ValueError(f"sampling rates must be positive, got {rate} and {target_rate}")
    if rate == target_rate:
        return np.asarray(signal, dtype=float)
    ratio = Fraction(target_rate) / Fraction(rate).limit_denominator(1000)
    return resample_poly(np.asarray(signal, dtype=float), ratio.numerator, ratio.denominator)


def read_wfdb_beats(record_path: str | Path, lead: int | str = 0, target_rate: int = 128,
                    window: int = 128, record: int = 0) -> BeatBank:
    """The beats of one lead of a WFDB record (``record_path`` without extension), resampled to
    ``target_rate`` Hz, ``window`` samples centred on each R peak, in the record's physical
    units (mV for ECG)."""
    import wfdb

    check_window(window)
    if isinstance(target_rate, bool) or not isinstance(target_rate, (int, np.integer)) \
            or target_rate <= 0:
        raise ValueError(f"target_rate must be a positive integer (Hz), got {target_rate!r}")
    path = Path(record_path)
    if not path.with_suffix(".hea").is_file():
        raise FileNotFoundError(f"no WFDB header at {path.with_suffix('.hea')}")
    try:
        data = wfdb.rdrecord(str(path))
    except Exception as error:  # wfdb's own errors do not say which record
        raise ValueError(f"cannot read WFDB record {path} (header or signal file corrupt or "
                         f"incomplete): {type(error).__name__}: {error}") from error
    if data.p_signal is None or data.fs is None or not data.sig_name:
        raise ValueError(f"WFDB record {path} has no physical signal or sampling rate")
    names = list(data.sig_name)
    if isinstance(lead, bool) or not isinstance(lead, (str, int, np.integer)):
        raise TypeError(f"lead must be a lead name or index, got {lead!r}")
    if isinstance(lead, str):
        if lead not in names:
            raise ValueError(f"record {path.name} has no lead {lead!r}; its leads are {names}")
        lead = names.index(lead)
    if not 0 <= lead < data.n_sig:
        raise ValueError(f"lead index {lead} out of range: record {path.name} has {data.n_sig} leads")
    signal = data.p_signal[:, lead]
    if not np.isfinite(signal).all():  # WFDB marks missing samples as NaN: fill them linearly
        good = np.isfinite(signal)
        if good.sum() < 2:
            raise ValueError(f"lead {names[lead]!r} of {path.name} has no valid samples")
        signal = np.interp(np.arange(len(signal)), np.flatnonzero(good), signal[good])
    return segment_beats(resample(signal, float(data.fs), target_rate), target_rate, window,
                         record=record)
