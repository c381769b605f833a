"""A bank of ECG beats: segmentation at R peaks, simulation with ECGSYN, and a safe disk cache.

A *beat* is a window of ``window`` samples centred on an R peak (at 128 Hz, 128 samples is
one second: half a second before the peak, half after), in millivolts. A :class:`BeatBank`
holds beats from several records in their original order, with the RR interval that precedes
each beat, so that a run of consecutive beats keeps its record's heart rhythm.

Simulating the bank needs ``neurokit2`` (imported lazily); reading a bank back needs NumPy
only. The cache is an ``.npz`` file read with ``allow_pickle=False`` whose arrays carry a
SHA-256 checksum that is verified before the bank is trusted. ``python -m effnotes.mil.beats
--out FILE`` builds the bank file once, for a machine without neurokit2, which then reads it
through ``$EFFNOTES_ECG_BANK``.

A bag of consecutive beats must fit inside one record: :func:`bank_for_bags` sizes the records
(``BankConfig.duration_s``) so that even the slowest heart of the bank holds the longest bag.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

CACHE_ENV = "EFFNOTES_CACHE"
BANK_ENV = "EFFNOTES_ECG_BANK"
BANK_FORMAT = 1
#: how much longer than strictly needed :func:`bank_for_bags` simulates a record (a fraction:
#: 0.1 is 10%), so that a record at the slowest heart rate still holds the longest bag when its
#: heart-rate variability slows it further
DURATION_MARGIN = 0.1
#: beats a record loses to segmentation: the first (it has no preceding RR interval) and one
#: at the end that a full window no longer fits
EDGE_BEATS = 2


@dataclass(frozen=True)
class BankConfig:
    """How to simulate a beat bank: ``n_records`` ECGSYN records of ``duration_s`` seconds at
    ``sampling_rate`` Hz, each with a heart rate (beats per minute) drawn uniformly from
    ``heart_rate``, a heart-rate standard deviation from ``heart_rate_std`` and an additive
    noise level (mV) from ``noise``; beats are ``window`` samples centred on the R peak.
    :func:`bank_for_bags` chooses ``duration_s`` for a given longest bag."""

    n_records: int = 64
    duration_s: float = 120.0
    sampling_rate: int = 128
    window: int = 128
    heart_rate: tuple[float, float] = (55.0, 95.0)
    heart_rate_std: tuple[float, float] = (1.0, 6.0)
    noise: tuple[float, float] = (0.0, 0.02)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_records < 1:
            raise ValueError(f"n_records must be at least 1, got {self.n_records}")
        if self.window < 16 or self.window % 2:
            raise ValueError(f"window must be an even number of samples >= 16, got {self.window}")
        if self.duration_s * self.sampling_rate < 4 * self.window:
            raise ValueError(f"a record of {self.duration_s} s at {self.sampling_rate} Hz is too "
                             f"short for beats of {self.window} samples")
        for name in ("heart_rate", "heart_rate_std", "noise"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"{name} must be a range (low, high) with 0 <= low <= high")

    def key(self) -> str:
        """A short hash naming this configuration (the cache file's name)."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class BeatBank:
    """Beats in record order: ``beats`` float32 ``(n_beats, window)`` in mV, ``record`` int
    ``(n_beats,)`` (which record each beat came from), ``rr_ms`` float32 ``(n_beats,)`` (the
    RR interval ending at the beat, ms) and the ``sampling_rate`` in Hz."""

    beats: np.ndarray
    record: np.ndarray
    rr_ms: np.ndarray
    sampling_rate: int

    def __post_init__(self) -> None:
        if self.beats.ndim != 2:
            raise ValueError(f"beats must be 2-D (n_beats, window), got shape {self.beats.shape}")
        n = len(self.beats)
        if n == 0:
            raise ValueError("a beat bank needs at least one beat")
        if self.record.shape != (n,) or self.rr_ms.shape != (n,):
            raise ValueError(f"record and rr_ms must have shape ({n},), got {self.record.shape} "
                             f"and {self.rr_ms.shape}")
        if not np.isfinite(self.beats).all() or not np.isfinite(self.rr_ms).all():
            raise ValueError("beats and rr_ms must be finite")
        if (self.rr_ms <= 0).any():
            raise ValueError("RR intervals must be positive")

    @property
    def window(self) -> int:
        return self.beats.shape[1]

    @property
    def n_beats(self) -> int:
        return len(self.beats)

    def runs(self) -> list[np.ndarray]:
        """The beat indices of each record, in order (a list of int arrays)."""
        return [np.flatnonzero(self.record == r) for r in np.unique(self.record)]

    def checksum(self) -> str:
        """SHA-256 of the arrays' bytes and the sampling rate."""
        digest = hashlib.sha256()
        for array in (self.beats.astype(np.float32), self.record.astype(np.int32),
                      self.rr_ms.astype(np.float32)):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update(str(int(self.sampling_rate)).encode())
        return digest.hexdigest()


def bank_for_bags(longest_bag: int, base: BankConfig = BankConfig(),
                  margin: float = DURATION_MARGIN) -> BankConfig:
    """``base`` with records long enough for bags of ``longest_bag`` consecutive beats:
    ``duration_s = ceil((1 + margin) * (longest_bag + EDGE_BEATS) * 60 / heart_rate[0])``
    seconds, so that a record at the slowest heart rate of ``base.heart_rate`` (beats per
    minute) holds the bag, the beats segmentation loses (:data:`EDGE_BEATS`) and ``margin``
    (a fraction) to spare."""
    if isinstance(longest_bag, bool) or not isinstance(longest_bag, (int, np.integer)) \
            or longest_bag < 1:
        raise ValueError(f"longest_bag must be a positive number of beats, got {longest_bag!r}")
    if not 0 <= margin <= 10:
        raise ValueError(f"margin must be a fraction between 0 and 10, got {margin!r}")
    slowest = base.heart_rate[0]
    if slowest <= 0:
        raise ValueError(f"the bank's slowest heart rate must be positive to size its records, "
                         f"got heart_rate={base.heart_rate}")
    seconds = (1 + margin) * (int(longest_bag) + EDGE_BEATS) * 60.0 / slowest
    return replace(base, duration_s=float(np.ceil(seconds - 1e-9)))


def combine_banks(banks: list[BeatBank]) -> BeatBank:
    """One bank from several (record ids renumbered); their sampling rates and windows must
    agree."""
    if not banks:
        raise ValueError("no banks to combine")
    rates = {b.sampling_rate for b in banks}
    if len(rates) > 1:
        raise ValueError(f"mismatched sampling rates {sorted(rates)} Hz: resample the records "
                         "to one rate before combining")
    windows = {b.window for b in banks}
    if len(windows) > 1:
        raise ValueError(f"mismatched beat windows {sorted(windows)} samples")
    records, offset = [], 0
    for bank in banks:
        _, ids = np.unique(bank.record, return_inverse=True)
        records.append(ids + offset)
        offset += ids.max() + 1
    return BeatBank(np.concatenate([b.beats for b in banks]), np.concatenate(records),
                    np.concatenate([b.rr_ms for b in banks]), banks[0].sampling_rate)


def check_window(window) -> int:
    """``window`` (samples per beat) as an int; a clear error unless it is an even integer of
    at least 2 (a beat is centred on its R peak, ``window // 2`` samples either side)."""
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)):
        raise TypeError(f"window must be an integer number of samples, got {window!r}")
    if window < 2 or window % 2:
        raise ValueError(f"window must be an even number of samples >= 2, got {window}")
    return int(window)


def segment_beats(signal: np.ndarray, sampling_rate: int, window: int = 128,
                  record: int = 0) -> BeatBank:
    """Find the R peaks of a single-lead ECG ``signal`` (1-D, mV, at ``sampling_rate`` Hz)
    with neurokit2 and cut a ``window``-sample beat centred on each; the first beat (which has
    no preceding RR interval) and beats too close to the ends are dropped."""
    signal = np.asarray(signal)
    if signal.ndim != 1:
        raise ValueError(f"signal must be 1-D (one lead), got shape {signal.shape}")
    if not np.issubdtype(signal.dtype, np.floating):
        raise TypeError(f"signal must hold floats (mV), got dtype {signal.dtype}")
    if not np.isfinite(signal).all():
        raise ValueError("signal has NaN or infinite samples")
    if not isinstance(sampling_rate, (int, np.integer)) or sampling_rate <= 0:
        raise ValueError(f"sampling_rate must be a positive integer (Hz), got {sampling_rate!r}")
    check_window(window)
    min_seconds = 5.0
    if len(signal) < max(min_seconds * sampling_rate, 3 * window):
        raise ValueError(f"record too short: {len(signal)} samples at {sampling_rate} Hz "
                         f"({len(signal) / sampling_rate:.1f} s); at least {min_seconds:.0f} s "
                         f"and {3 * window} samples are needed")
    import neurokit2 as nk

    cleaned = nk.ecg_clean(signal, sampling_rate=int(sampling_rate))
    _, info = nk.ecg_peaks(cleaned, sampling_rate=int(sampling_rate))
    peaks = np.asarray(info["ECG_R_Peaks"], dtype=int)
    half = window // 2
    rr_ms = np.diff(peaks) * 1000.0 / sampling_rate
    keep = [i for i in range(1, len(peaks)) if peaks[i] - half >= 0 and peaks[i] + half <= len(signal)]
    if len(keep) < 2:
        raise ValueError(f"found {len(keep)} usable beats in the record: too short or no ECG")
    beats = np.stack([signal[peaks[i] - half: peaks[i] + half] for i in keep]).astype(np.float32)
    return BeatBank(beats, np.full(len(keep), record, dtype=np.int32),
                    rr_ms[np.array(keep) - 1].astype(np.float32), int(sampling_rate))


def simulate_beat_bank(config: BankConfig = BankConfig(), progress: bool = False) -> BeatBank:
    """Simulate ``config.n_records`` records with ``neurokit2.ecg_simulate(method="ecgsyn")``
    and segment them (seeded: the same config gives the same bank)."""
    import neurokit2 as nk
    from tqdm.auto import tqdm

    rng = np.random.default_rng(config.seed)
    banks = []
    for r in tqdm(range(config.n_records), desc="simulating ECG records", disable=not progress):
        hr, hr_std, noise = (rng.uniform(*getattr(config, k)) for k in
                             ("heart_rate", "heart_rate_std", "noise"))
        signal = nk.ecg_simulate(duration=config.duration_s, sampling_rate=config.sampling_rate,
                                 heart_rate=hr, heart_rate_std=hr_std, noise=noise,
                                 method="ecgsyn", random_state=int(rng.integers(2**31)))
        banks.append(segment_beats(np.asarray(signal, dtype=float), config.sampling_rate,
                                   config.window, record=r))
    return combine_banks(banks)


def save_bank(bank: BeatBank, path: Path, config: BankConfig | None = None, *,
              source: dict | None = None) -> Path:
    """Write ``bank`` to an ``.npz`` file with its checksum and either the simulation
    ``config`` or, for a bank read from records, its ``source`` (where the records were and
    each file's size and SHA-256; see :mod:`effnotes.mil.records`)."""
    if config is not None and source is not None:
        raise ValueError("a bank is either simulated (config) or read from records (source)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": BANK_FORMAT, "config": asdict(config) if config else None,
            "checksum": bank.checksum()}
    if source is not None:
        meta["source"] = source
    meta = json.dumps(meta, sort_keys=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, beats=bank.beats.astype(np.float32),
                        record=bank.record.astype(np.int32), rr_ms=bank.rr_ms.astype(np.float32),
                        sampling_rate=np.int64(bank.sampling_rate), meta=np.array(meta))
    os.replace(tmp, path)
    return path


def bank_meta(path: Path) -> dict:
    """The metadata stored with a bank file (format, checksum, config or source)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no beat bank at {path}")
    with np.load(path, allow_pickle=False) as data:
        if "meta" not in data.files:
            raise ValueError(f"{path} is not a beat bank (it lacks ['meta'])")
        return json.loads(str(data["meta"]))


def read_bank(path: Path, config: BankConfig | None = None) -> BeatBank:
    """Read a bank written by :func:`save_bank` (no pickles), verify its checksum and, if
    ``config`` is given and the bank was simulated, that it was simulated with that
    configuration. A bank read from records (its metadata has a ``source``, no config) is
    accepted whatever ``config`` says: it was not simulated."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no beat bank at {path}")
    with np.load(path, allow_pickle=False) as data:
        missing = {"beats", "record", "rr_ms", "sampling_rate", "meta"} - set(data.files)
        if missing:
            raise ValueError(f"{path} is not a beat bank (it lacks {sorted(missing)})")
        meta = json.loads(str(data["meta"]))
        bank = BeatBank(data["beats"], data["record"], data["rr_ms"], int(data["sampling_rate"]))
    if meta.get("format") != BANK_FORMAT:
        raise ValueError(f"{path} has beat-bank format {meta.get('format')}, expected {BANK_FORMAT}")
    if bank.checksum() != meta.get("checksum"):
        raise ValueError(f"{path} fails its checksum: the file is damaged or was edited")
    from_records = meta.get("config") is None and isinstance(meta.get("source"), dict)
    if config is not None and not from_records \
            and meta.get("config") != json.loads(json.dumps(asdict(config))):
        raise ValueError(f"{path} was simulated with {meta.get('config')}, not with the "
                         f"requested {asdict(config)}")
    return bank


def importable(name: str) -> bool:
    """Whether the module ``name`` can be imported here."""
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def cache_dir() -> Path:
    """Where simulated banks are cached: ``$EFFNOTES_CACHE`` if set, else
    ``$XDG_CACHE_HOME/effnotes`` (``~/.cache/effnotes`` by default)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "effnotes"


def load_beat_bank(config: BankConfig = BankConfig(), path: Path | str | None = None,
                   progress: bool = False) -> BeatBank:
    """The bank for ``config``: read from ``path`` (or ``$EFFNOTES_ECG_BANK``) if given, else
    from the cache, simulating and caching it on first use (which needs neurokit2)."""
    path = path or os.environ.get(BANK_ENV)
    if path:
        return read_bank(Path(path), config)
    cached = cache_dir() / f"ecg_beat_bank_{config.key()}.npz"
    if cached.is_file():
        return read_bank(cached, config)
    if not importable("neurokit2"):
        raise RuntimeError("simulating the beat bank needs neurokit2; build the bank where it is "
                           "installed (python -m effnotes.mil.beats --out FILE) and point "
                           f"${BANK_ENV} at FILE")
    bank = simulate_beat_bank(config, progress=progress)
    save_bank(bank, cached, config)
    return bank


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m effnotes.mil.beats",
        description="Build the beat bank that a profile of the mil_ecg chapter needs (records "
                    "long enough for its longest bag) into a file, for a machine without "
                    "neurokit2 that reads it through $EFFNOTES_ECG_BANK.")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--profile", default="gpu", choices=("smoke", "ci", "gpu"),
                        help="the chapter profile whose bank to build (default: gpu, the one "
                             "run where neurokit2 is missing)")
    args = parser.parse_args(argv)
    from effnotes.chapters import get_chapter
    from effnotes.mil.experiment import bank_config

    config = bank_config(get_chapter("mil_ecg").profile(args.profile))
    bank = simulate_beat_bank(config, progress=True)
    save_bank(bank, args.out, config)
    read_bank(args.out, config)
    shortest = min(len(run) for run in bank.runs())
    print(f"wrote {args.out} ({args.out.stat().st_size / 2**20:.1f} MiB) for the "
          f"{args.profile} profile: {bank.n_beats} beats from {config.n_records} records of "
          f"{config.duration_s:.0f} s (the shortest holds {shortest} beats), checksum "
          f"{bank.checksum()[:16]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
