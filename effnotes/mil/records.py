"""A reader's own ECG cohort: a folder of WFDB records and a patient table.

The table is a CSV with one row per patient: ``record`` (the record's name in the folder,
without extension), ``label`` (0 or 1) and, optionally, ``time`` (follow-up, years, > 0) and
``event`` (0 or 1). Each record is read with :func:`~effnotes.mil.wfdb_io.read_wfdb_beats`
(R peaks from neurokit2) into one :class:`~effnotes.mil.beats.BeatBank`, which is cached with
the source files' sizes and SHA-256 hashes and rebuilt when any of them changes.

Bags never repeat a beat: each patient's bag is ``n_beats`` consecutive beats of their record
from a seeded start (:func:`~effnotes.mil.cohort.contiguous_bag`, as in the synthetic cohort);
a record with fewer beats than the bag is dropped, and the drop is reported
(:class:`RecordsCohort`).
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from effnotes.mil.beats import BeatBank, bank_meta, combine_banks, read_bank, save_bank
from effnotes.mil.cohort import Cohort, contiguous_bag

TABLE_COLUMNS = ("record", "label")
OPTIONAL_COLUMNS = ("time", "event")
LAYOUT = ("a folder of WFDB records (<record>.hea and its signal files) and a CSV with "
          "columns record,label[,time,event]")


def read_patient_table(table: str | Path, folder: str | Path) -> pd.DataFrame:
    """The patient table at ``table``, checked against the records in ``folder``: columns
    ``record`` (str), ``label`` (int 0/1), ``time`` (float years, NaN if absent) and ``event``
    (bool, False if absent)."""
    table, folder = Path(table), Path(folder)
    if not table.is_file():
        raise FileNotFoundError(f"no patient table at {table}; expected {LAYOUT}")
    if not folder.is_dir():
        raise NotADirectoryError(f"the WFDB folder {folder} is not a folder; expected {LAYOUT}")
    with open(table, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        rows = list(reader)
    missing = [c for c in TABLE_COLUMNS if c not in columns]
    if missing:
        raise ValueError(f"patient table {table} lacks column(s) {missing}; it has {columns}")
    if not rows:
        raise ValueError(f"patient table {table} has no rows")
    frame = pd.DataFrame(rows)
    frame["record"] = frame["record"].astype(str).str.strip()
    duplicated = frame["record"][frame["record"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"patient table {table} lists record(s) {duplicated[:3]} twice")
    unknown = [r for r in frame["record"] if not (folder / f"{r}.hea").is_file()]
    if unknown:
        raise ValueError(f"patient table {table} names record(s) {unknown[:3]} with no header "
                         f"in {folder} (looked for {folder / (unknown[0] + '.hea')})")
    labels = pd.to_numeric(frame["label"], errors="coerce")
    if not labels.isin([0, 1]).all():
        raise ValueError(f"patient table {table}: label must be 0 or 1, got "
                         f"{frame['label'][~labels.isin([0, 1])].tolist()[:3]}")
    frame["label"] = labels.astype(int)
    if "time" in columns:
        time = pd.to_numeric(frame["time"], errors="coerce")
        if not (time > 0).all():
            raise ValueError(f"patient table {table}: time must be a positive number (years)")
        frame["time"] = time.astype(float)
    else:
        frame["time"] = np.nan
    if "event" in columns:
        event = pd.to_numeric(frame["event"], errors="coerce")
        if not event.isin([0, 1]).all():
            raise ValueError(f"patient table {table}: event must be 0 or 1")
        frame["event"] = event.astype(bool)
    else:
        frame["event"] = False
    if frame["label"].nunique() < 2:
        raise ValueError(f"patient table {table} holds one label only; a cohort needs both")
    return frame[["record", "label", "time", "event"]]


def record_files(folder: Path, records: list[str]) -> list[Path]:
    """Every file of the named records (``<record>.*``) in ``folder``, sorted."""
    return sorted(f for r in records for f in folder.glob(f"{r}.*") if f.is_file())


def records_bank(folder: str | Path, table: str | Path, *, lead: int | str = 0,
                 target_rate: int = 128, window: int = 128,
                 cache: Path | None = None) -> tuple[BeatBank, pd.DataFrame, dict]:
    """The beats of every record the table names (record ``i`` of the bank is row ``i`` of the
    table), the table, and the bank's ``source`` (folder, settings, each file's size and
    SHA-256). Cached as an ``.npz`` bank that records that source; it is reused only while
    the files' sizes and hashes are unchanged."""
    from effnotes.data.paths import cache_dir, fingerprint
    from effnotes.mil.wfdb_io import read_wfdb_beats

    folder = Path(folder)
    frame = read_patient_table(table, folder)
    files = record_files(folder, frame["record"].tolist()) + [Path(table)]
    source = {"folder": str(folder.resolve()), "records": frame["record"].tolist(),
              "lead": lead, "target_rate": target_rate, "window": window,
              "files": fingerprint(files)}
    key = hashlib.sha256(json.dumps(source, sort_keys=True).encode()).hexdigest()[:16]
    cached = Path(cache or cache_dir()) / f"ecg_records_{key}.npz"
    if cached.is_file():
        try:
            if bank_meta(cached).get("source") == json.loads(json.dumps(source)):
                return read_bank(cached), frame, source
        except ValueError:
            pass  # damaged: rebuilt below
    banks = [read_wfdb_beats(folder / r, lead=lead, target_rate=target_rate, window=window,
                             record=i) for i, r in enumerate(frame["record"])]
    bank = combine_banks(banks)
    save_bank(bank, cached, source=source)
    return bank, frame, source


@dataclass(frozen=True)
class RecordsCohort:
    """A cohort from records, the table rows it kept (``kept``: positions in the table) and
    the records it ``dropped`` because they hold fewer beats than one bag."""

    cohort: Cohort
    kept: np.ndarray
    dropped: tuple[str, ...]


def records_bags(bank: BeatBank, frame: pd.DataFrame, *, n_beats: int, instance_beats: int = 2,
                 seed: int = 0) -> tuple[np.ndarray, list[int], list[str]]:
    """The bags of :func:`records_cohort` without their beats: the bank beat indices int
    ``(n_kept, n_beats)``, the kept table rows (positions) and the dropped records' names."""
    if n_beats < instance_beats or n_beats % instance_beats:
        raise ValueError(f"n_beats ({n_beats}) must be a positive multiple of instance_beats "
                         f"({instance_beats})")
    runs = bank.runs()
    if len(runs) != len(frame):
        raise ValueError(f"the bank has {len(runs)} records but the table {len(frame)} rows")
    rng = np.random.default_rng(seed)
    kept, dropped, bags = [], [], []
    for i, run in enumerate(runs):
        if len(run) < n_beats:
            dropped.append(str(frame["record"].iloc[i]))
            continue
        bags.append(contiguous_bag(run, n_beats, rng))
        kept.append(i)
    if len(kept) < 2:
        raise ValueError(f"only {len(kept)} record(s) hold at least n_beats={n_beats} beats "
                         f"(dropped: {dropped[:5]}); use shorter bags")
    return np.stack(bags), kept, dropped


def records_cohort(bank: BeatBank, frame: pd.DataFrame, *, n_beats: int, instance_beats: int = 2,
                   seed: int = 0) -> RecordsCohort:
    """One patient per table row, each a bag of ``n_beats`` consecutive, never repeated beats
    of their record from a seeded random start (:func:`records_bags`); records with fewer
    beats are dropped. Witnesses are unknown for real records: ``witness`` is all False and
    ``witness_fraction`` NaN."""
    index, kept, dropped = records_bags(bank, frame, n_beats=n_beats,
                                        instance_beats=instance_beats, seed=seed)
    rows = frame.iloc[kept]
    cohort = Cohort(beats=bank.beats[index].astype(np.float32),
                    witness=np.zeros(index.shape, dtype=bool),
                    rr_ms=bank.rr_ms[index].astype(np.float32),
                    labels=rows["label"].to_numpy(int),
                    witness_fraction=np.full(len(kept), np.nan),
                    time=rows["time"].to_numpy(float), event=rows["event"].to_numpy(bool),
                    record=np.asarray(kept), sampling_rate=bank.sampling_rate,
                    instance_beats=instance_beats, beat_index=index)
    return RecordsCohort(cohort, np.asarray(kept), tuple(dropped))
