"""A reader's ECG cohort: three WFDB records written with wfdb.wrsamp plus a patient CSV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

wfdb = pytest.importorskip("wfdb")
nk = pytest.importorskip("neurokit2")

from effnotes.mil.beats import BankConfig, bank_meta, read_bank  # noqa: E402
from effnotes.mil.cohort import bag_repetition  # noqa: E402
from effnotes.mil.records import (read_patient_table, records_bags, records_bank,  # noqa: E402
                                  records_cohort)

RATE = 128


def _write_records(folder, names=("p1", "p2", "p3"), seconds=30):
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        signal = nk.ecg_simulate(duration=seconds, sampling_rate=RATE, heart_rate=60 + 10 * i,
                                 method="simple", random_state=i)
        wfdb.wrsamp(name, fs=RATE, units=["mV"], sig_name=["II"],
                    p_signal=np.asarray(signal, dtype=float)[:, None], fmt=["16"],
                    write_dir=str(folder))


def _table(path, rows):
    path.write_text("record,label,time,event\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


@pytest.fixture
def records(tmp_path):
    _write_records(tmp_path / "wfdb")
    table = _table(tmp_path / "patients.csv", [("p1", 0, 1.0, 0), ("p2", 1, 0.5, 1), ("p3", 1, 0.8, 0)])
    return tmp_path / "wfdb", table


def test_records_become_a_cached_checksummed_bank_and_a_cohort(records, tmp_path):
    folder, table = records
    cache = tmp_path / "cache"
    bank, frame, source = records_bank(folder, table, cache=cache)
    assert frame["record"].tolist() == ["p1", "p2", "p3"] and frame["event"].tolist() == [False, True, False]
    assert len(bank.runs()) == 3 and bank.window == 128
    (cached,) = cache.glob("ecg_records_*.npz")
    meta = bank_meta(cached)
    assert meta["config"] is None and meta["source"]["records"] == ["p1", "p2", "p3"]
    assert all(len(f["sha256"]) == 64 and f["size"] > 0 for f in meta["source"]["files"])
    # read_bank accepts a records bank even when the caller names the simulation config
    np.testing.assert_array_equal(read_bank(cached, BankConfig()).beats, bank.beats)
    # unchanged sources: the cache is reused; a changed table: rebuilt under a new key
    records_bank(folder, table, cache=cache)
    assert len(list(cache.glob("*.npz"))) == 1
    _table(table, [("p1", 1, 1.0, 0), ("p2", 0, 0.5, 1), ("p3", 1, 0.8, 1)])
    records_bank(folder, table, cache=cache)
    assert len(list(cache.glob("*.npz"))) == 2
    shortest = min(len(r) for r in bank.runs())
    made = records_cohort(bank, frame, n_beats=shortest - shortest % 2, seed=0)
    cohort = made.cohort
    assert cohort.n_patients == 3 and made.dropped == ()
    for p, run in enumerate(bank.runs()):  # no beat repeats inside a bag
        rows = {bank.beats[i].tobytes() for i in run}
        bag = [b.tobytes() for b in cohort.beats[p]]
        assert len(set(bag)) == len(bag) and set(bag) <= rows
    longest = max(len(r) for r in bank.runs())
    with pytest.raises(ValueError, match="only 0 record"):
        records_cohort(bank, frame, n_beats=longest + 2)
    lengths = [len(r) for r in bank.runs()]
    middle = sorted(lengths)[1] - sorted(lengths)[1] % 2
    partial = records_cohort(bank, frame, n_beats=middle)
    expected = tuple(name for name, n in zip(frame["record"], lengths) if n < middle)
    assert partial.dropped == expected and partial.cohort.n_patients == 3 - len(expected)


def test_records_bags_match_the_cohort_and_never_repeat():
    from effnotes.mil.beats import BeatBank

    bank = BeatBank(np.zeros((27, 16), np.float32), np.repeat([0, 1, 2], [5, 10, 12]),
                    np.full(27, 800.0, np.float32), RATE)
    frame = pd.DataFrame({"record": ["a", "b", "c"], "label": [0, 1, 1], "time": [1.0, 1.0, 1.0],
                          "event": [False, True, False]})
    index, kept, dropped = records_bags(bank, frame, n_beats=8, seed=3)
    assert kept == [1, 2] and dropped == ["a"]
    assert (np.diff(index, axis=1) == 1).all() and bag_repetition(index)["max_uses"] == 1
    made = records_cohort(bank, frame, n_beats=8, seed=3)
    assert np.array_equal(made.cohort.beat_index, index) and made.dropped == ("a",)


def test_patient_table_bad_inputs_name_the_problem(records, tmp_path):
    folder, _ = records
    cache = tmp_path / "cache"
    ghost = _table(tmp_path / "ghost.csv", [("p1", 0, 1, 0), ("p9", 1, 1, 1)])
    with pytest.raises(ValueError, match=r"names record\(s\) \['p9'\] with no header"):
        records_bank(folder, ghost, cache=cache)
    with pytest.raises(FileNotFoundError, match="no patient table at .*absent.csv"):
        read_patient_table(tmp_path / "absent.csv", folder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="names record"):
        read_patient_table(_table(tmp_path / "t.csv", [("p1", 0, 1, 0), ("p2", 1, 1, 0)]),
                           tmp_path / "empty")
    nolabel = tmp_path / "nolabel.csv"
    nolabel.write_text("record,outcome\np1,1\n")
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['label'\]"):
        read_patient_table(nolabel, folder)
    with pytest.raises(ValueError, match="label must be 0 or 1"):
        read_patient_table(_table(tmp_path / "l.csv", [("p1", 2, 1, 0), ("p2", 1, 1, 0)]), folder)
    with pytest.raises(ValueError, match="time must be a positive"):
        read_patient_table(_table(tmp_path / "t2.csv", [("p1", 0, -1, 0), ("p2", 1, 1, 0)]), folder)
    # a damaged signal file: a clear error and nothing written to the cache
    (folder / "p2.dat").write_bytes(b"\x00")
    good = _table(tmp_path / "good.csv", [("p1", 0, 1, 0), ("p2", 1, 1, 1)])
    with pytest.raises(ValueError, match="p2"):
        records_bank(folder, good, cache=cache)
    assert not cache.exists() or not list(cache.iterdir())


def test_mil_experiment_builds_the_cohort_from_data_path(records, tmp_path, monkeypatch):
    from effnotes.chapters import get_chapter
    from effnotes.contract import profile_with
    from effnotes.data.paths import DATA_ENV
    from effnotes.mil.experiment import bag_repetition_table, build_cohort

    folder, table = records
    (folder / "patients.csv").write_text(table.read_text())
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    monkeypatch.setenv("EFFNOTES_CACHE", str(tmp_path / "cache"))
    smoke = get_chapter("mil_ecg").profile("smoke")
    profile = profile_with(smoke, data_path="wfdb", n_beats=20,
                           sensitivity={**smoke.sensitivity, "beats": [10, 20]})
    cohort = build_cohort(profile)
    assert cohort.beats.shape == (3, 20, 128) and cohort.labels.tolist() == [0, 1, 1]
    assert np.isnan(cohort.witness_fraction).all() and not cohort.witness.any()
    repetition = bag_repetition_table(profile)
    assert repetition["n_beats"].tolist() == [10, 20]
    assert (repetition["bags_repeating"] == 0).all() and (repetition["max_uses"] == 1).all()
    assert (repetition["records_dropped"] == 0).all()
    (folder / "patients.csv").unlink()
    with pytest.raises(FileNotFoundError, match="no patient table at .*patients.csv"):
        build_cohort(profile)


def test_mil_experiment_runs_end_to_end_on_user_records(tmp_path, monkeypatch):
    from effnotes.chapters import get_chapter
    from effnotes.contract import profile_with
    from effnotes.mil.claims import auc_table, claims
    from effnotes.mil.experiment import run

    names = [f"r{i}" for i in range(8)]
    _write_records(tmp_path / "ecg", names, seconds=25)
    _table(tmp_path / "ecg" / "patients.csv",
           [(n, i % 2, 0.5 + 0.05 * i, (i // 2) % 2) for i, n in enumerate(names)])
    monkeypatch.setenv("EFFNOTES_CACHE", str(tmp_path / "cache"))
    profile = profile_with(get_chapter("mil_ecg").profile("smoke"),
                           data_path=str(tmp_path / "ecg"), n_beats=16, attention=False,
                           archs=["dense"], baselines=["mean_beat"])
    result = run(profile)
    assert result["records"] == {"n_patients": 8, "dropped": []}
    assert result["instance"]["witness_auc"].isna().all()  # real records: witnesses unknown
    assert result["sensitivity"].empty
    assert list(result["cox"]["seed"]) == [0]  # the Cox fit reads the table's time and event
    assert "dense/top20" in auc_table(result).index.get_level_values("method")
    # the claims judge a run on real records: the planted-witness claims are not enforced
    # there (they cannot be measured), the counts still are
    table = claims(result, profile).set_index("name")
    assert not table.loc[["witness_share_positive", "planted_score_auc", "witness_detection",
                          "sensitivity_richest"], "enforced"].any()
    assert table.loc[["bag_shapes", "split_by_record", "runs_complete", "perfect_score_auc"],
                     "holds"].all()
