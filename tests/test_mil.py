"""The MIL-for-ECG package: beat bank, WFDB reader, cohort, pooling, models, baselines, metrics."""

import numpy as np
import pytest

from effnotes.mil import (BankConfig, BeatBank, CohortConfig, InstanceMIL, TrainConfig,
                          combine_banks, make_cohort, pool, segment_beats, topk_pool)
from effnotes.mil.baselines import mean_beat_features, morphologic_variability
from effnotes.mil.beats import (DURATION_MARGIN, EDGE_BEATS, bank_for_bags, load_beat_bank,
                                read_bank, save_bank)
from effnotes.mil.cohort import bag_repetition, contiguous_bag, draw_bags
from effnotes.mil.experiment import split_patients
from effnotes.mil.metrics import (cox_top_quartile, instance_auc, score_quartiles,
                                  top_quartile_risk_ratio)
from effnotes.mil.models import AttentionMIL, check_bags

RATE = 128


@pytest.fixture(scope="module")
def ecg():
    nk = pytest.importorskip("neurokit2")
    return np.asarray(nk.ecg_simulate(duration=30, sampling_rate=RATE, heart_rate=70,
                                      method="ecgsyn", random_state=3), dtype=float)


def small_bank(n_records=4, beats=50, window=128, seed=0):
    rng = np.random.default_rng(seed)
    t = (np.arange(window) - window // 2) / RATE
    template = np.exp(-0.5 * (t / 0.02) ** 2) + 0.3 * np.exp(-0.5 * ((t - 0.25) / 0.05) ** 2)
    n = n_records * beats
    return BeatBank((template + rng.normal(0, 0.01, (n, window))).astype(np.float32),
                    np.repeat(np.arange(n_records), beats).astype(np.int32),
                    rng.uniform(700, 900, n).astype(np.float32), RATE)


def test_segmentation_finds_every_beat(ecg):
    bank = segment_beats(ecg, RATE)
    assert bank.beats.shape[1] == 128 and 30 <= bank.n_beats <= 36
    assert np.allclose(bank.rr_ms.mean(), 60000 / 70, rtol=0.1)
    assert np.abs(bank.beats[:, 64]).mean() > np.abs(bank.beats[:, 20]).mean()  # R at the centre


def test_segmentation_rejects_bad_records(ecg):
    with pytest.raises(ValueError, match="record too short"):
        segment_beats(ecg[: 2 * RATE], RATE)
    with pytest.raises(ValueError, match="1-D"):
        segment_beats(ecg.reshape(-1, 2), RATE)
    with pytest.raises(TypeError, match="floats"):
        segment_beats(ecg.astype(int), RATE)
    with pytest.raises(ValueError, match="NaN"):
        segment_beats(np.where(np.arange(len(ecg)) == 5, np.nan, ecg), RATE)


def test_wfdb_record_round_trip(ecg, tmp_path):
    wfdb = pytest.importorskip("wfdb")
    from effnotes.mil.wfdb_io import read_wfdb_beats, resample

    signal = resample(ecg, RATE, 360)  # a record at another rate, with two leads
    wfdb.wrsamp("rec", fs=360, units=["mV", "mV"], sig_name=["II", "V1"],
                p_signal=np.stack([signal, -0.5 * signal], 1), fmt=["16", "16"],
                write_dir=str(tmp_path))
    bank = read_wfdb_beats(tmp_path / "rec", lead="II")
    direct = segment_beats(ecg, RATE)
    assert bank.sampling_rate == RATE and abs(bank.n_beats - direct.n_beats) <= 1
    assert np.allclose(bank.rr_ms.mean(), direct.rr_ms.mean(), rtol=0.02)
    assert read_wfdb_beats(tmp_path / "rec", lead=1).n_beats >= bank.n_beats - 2
    with pytest.raises(ValueError, match="no lead 'V5'"):
        read_wfdb_beats(tmp_path / "rec", lead="V5")
    with pytest.raises(FileNotFoundError):
        read_wfdb_beats(tmp_path / "nothing")


def test_bank_cache_is_checked(tmp_path):
    bank, config = small_bank(), BankConfig(n_records=4, seed=7)
    path = save_bank(bank, tmp_path / "bank.npz", config)
    again = read_bank(path, config)
    assert np.array_equal(again.beats, bank.beats) and again.checksum() == bank.checksum()
    with pytest.raises(ValueError, match="simulated with"):
        read_bank(path, BankConfig(n_records=5))
    with np.load(path) as data:  # tamper with one sample, keep the stored checksum
        arrays = {k: data[k] for k in data.files}
    arrays["beats"][0, 0] += 1
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="checksum"):
        read_bank(tmp_path / "bad.npz")


def test_bank_path_from_environment(tmp_path, monkeypatch):
    config = BankConfig(n_records=4, seed=7)
    path = save_bank(small_bank(), tmp_path / "bank.npz", config)
    monkeypatch.setenv("EFFNOTES_ECG_BANK", str(path))
    assert load_beat_bank(config).n_beats == 200


def test_banks_must_share_a_rate():
    a, b = small_bank(), small_bank()
    b = BeatBank(b.beats, b.record, b.rr_ms, 250)
    with pytest.raises(ValueError, match="mismatched sampling rates"):
        combine_banks([a, b])
    assert combine_banks([a, a]).record.max() == 7


def test_cohort_plants_a_balanced_minority_signal():
    config = CohortConfig(n_patients=80, n_beats=40, witness_positive=0.2, amplitude=0.3)
    cohort = make_cohort(small_bank(), config)
    pos = cohort.labels == 1
    assert pos.sum() == 20
    assert np.allclose(cohort.witness_fraction[pos], 0.2)
    assert (cohort.witness_fraction[~pos] <= 0.02 + 1 / 40 + 1e-9).all()  # rounded to beats
    # the planted deflections cancel in the mean beat: add them back up per patient
    clean = make_cohort(small_bank(), CohortConfig(n_patients=80, n_beats=40,
                                                   witness_positive=0.2, amplitude=0.0))
    added = (cohort.beats - clean.beats).mean(axis=1)
    assert np.abs(added[pos]).max() < 1e-6
    assert np.array_equal(cohort.rr_ms, clean.rr_ms)
    assert cohort.instances().shape == (80, 20, 256)
    assert cohort.instance_witness().shape == (80, 20)
    with pytest.raises(ValueError, match="mismatched sampling rates"):
        make_cohort(small_bank(), CohortConfig(sampling_rate=250))
    with pytest.raises(ValueError, match="multiple of"):
        CohortConfig(n_beats=41, instance_beats=2)


def test_bags_are_consecutive_beats_that_never_repeat():
    bank = small_bank()
    cohort = make_cohort(bank, CohortConfig(n_patients=60, n_beats=40))
    index = cohort.beat_index
    assert index.shape == (60, 40)
    assert (np.diff(index, axis=1) == 1).all()  # consecutive, never wrapping to the start
    assert (bank.record[index] == cohort.record[:, None]).all()  # one record per bag
    assert np.array_equal(cohort.rr_ms, bank.rr_ms[index])
    assert bag_repetition(index) == {"repeated_positions": 0, "bags_repeating": 0,
                                     "mean_repeated_share": 0.0, "max_uses": 1}
    # a bag exactly as long as its record is the whole record, once
    whole = make_cohort(bank, CohortConfig(n_patients=8, n_beats=50)).beat_index
    assert all(set(row) == set(np.flatnonzero(bank.record == bank.record[row[0]]))
               for row in whole)


def test_bag_repetition_measures_a_wrap_around():
    wrapped = np.array([[3, 4, 5, 3, 4, 5, 3, 4], [0, 1, 2, 3, 4, 5, 6, 7]])
    assert bag_repetition(wrapped) == {"repeated_positions": 5, "bags_repeating": 1,
                                       "mean_repeated_share": 5 / 16, "max_uses": 3}
    with pytest.raises(ValueError, match="index must be an integer array"):
        bag_repetition(wrapped.astype(float))


def test_records_shorter_than_a_bag_are_dropped_not_wrapped():
    bank = small_bank()
    keep = np.flatnonzero((bank.record != 2) | (np.arange(bank.n_beats) % 50 < 10))
    short = BeatBank(bank.beats[keep], bank.record[keep], bank.rr_ms[keep], RATE)  # record 2: 10
    config = CohortConfig(n_patients=60, n_beats=20)
    bags = draw_bags(short, config)
    assert bags.dropped == (2,) and bags.record_beats == (50, 50, 10, 50)
    assert 2 not in set(bags.record) and set(bags.record) == {0, 1, 3}
    cohort = make_cohort(short, config)
    assert np.array_equal(cohort.beat_index, bags.index) and cohort.n_patients == 60
    assert bag_repetition(cohort.beat_index)["repeated_positions"] == 0
    with pytest.raises(ValueError, match="only 0 of the bank's 4 records hold n_beats=52"):
        draw_bags(short, CohortConfig(n_patients=60, n_beats=52))
    with pytest.raises(ValueError, match="cannot hold a bag of n_beats=11"):
        contiguous_bag(np.arange(10), 11, np.random.default_rng(0))


def test_bank_records_are_long_enough_for_the_longest_bag():
    config = bank_for_bags(200)
    slowest = config.heart_rate[0]
    # a heart at the slowest rate gives the bag, the beats segmentation drops, and the margin
    assert config.duration_s * slowest / 60 >= (1 + DURATION_MARGIN) * (200 + EDGE_BEATS)
    assert (config.duration_s - 1) * slowest / 60 < (1 + DURATION_MARGIN) * (200 + EDGE_BEATS)
    assert bank_for_bags(1000).duration_s > 4 * config.duration_s
    assert config.n_records == BankConfig().n_records
    with pytest.raises(ValueError, match="longest_bag must be a positive"):
        bank_for_bags(0)
    with pytest.raises(ValueError, match="slowest heart rate must be positive"):
        bank_for_bags(10, BankConfig(heart_rate=(0.0, 60.0)))


def test_pooling_assumptions():
    scores = np.array([[0.1] * 9 + [0.9], [0.5] * 10])
    assert np.allclose(pool(scores, "mean"), [0.18, 0.5])
    assert np.allclose(pool(scores, "max"), [0.9, 0.5])
    assert np.allclose(pool(scores, "top20"), [0.5, 0.5])
    assert np.allclose(topk_pool(scores, 0.1), [0.9, 0.5])
    with pytest.raises(ValueError, match="no instances"):
        pool(np.zeros((2, 0)), "mean")
    with pytest.raises(ValueError, match="unknown pooling"):
        pool(scores, "median")


def test_instance_model_finds_witnesses():
    cohort = make_cohort(small_bank(), CohortConfig(n_patients=120, n_beats=40,
                                                    witness_positive=0.3, amplitude=0.4))
    bags, labels = cohort.instances(), cohort.labels
    model = InstanceMIL("dense", TrainConfig(epochs=10, batch_size=64), seed=0).fit(bags, labels)
    scores = model.instance_scores(bags)
    assert scores.shape == bags.shape[:2]
    from effnotes.mil.metrics import auc

    assert auc(cohort.instance_witness().ravel(), scores.ravel()) > 0.8
    assert auc(labels, model.patient_scores(bags, "top20")) > 0.9


def test_models_reject_bad_input():
    with pytest.raises(RuntimeError, match="not fitted"):
        InstanceMIL().instance_scores(np.zeros((2, 3, 4), dtype=np.float32))
    with pytest.raises(RuntimeError, match="not fitted"):
        AttentionMIL().patient_scores(np.zeros((2, 3, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="at least one patient, beat and sample"):
        check_bags(np.zeros((2, 0, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="3-D"):
        check_bags(np.zeros((2, 4), dtype=np.float32))
    with pytest.raises(TypeError, match="floats"):
        check_bags(np.zeros((2, 3, 4), dtype=int))
    with pytest.raises(ValueError, match="both classes"):
        InstanceMIL().fit(np.zeros((2, 3, 4), dtype=np.float32), np.array([1, 1]))
    with pytest.raises(ValueError, match="unknown architecture"):
        InstanceMIL("rnn")


def test_baselines_and_their_errors():
    cohort = make_cohort(small_bank(), CohortConfig(n_patients=40, n_beats=20))
    assert mean_beat_features(cohort.beats).shape == (40, 128)
    assert morphologic_variability(cohort.beats).shape == (40, 3)
    with pytest.raises(ValueError, match="no beats"):
        mean_beat_features(np.zeros((3, 0, 128)))
    with pytest.raises(ValueError, match="two beats"):
        morphologic_variability(np.zeros((3, 1, 128)))


def test_hrv_features_see_the_rhythm():
    pytest.importorskip("neurokit2")
    from effnotes.mil.baselines import hrv_features

    rng = np.random.default_rng(0)
    steady = 800 + rng.normal(0, 5, (2, 120))
    variable = 800 + rng.normal(0, 60, (2, 120))
    features = hrv_features(np.vstack([steady, variable]))
    assert features.shape == (4, 5) and np.isfinite(features).all()
    assert features[2:, 1].min() > features[:2, 1].max()  # SDNN
    with pytest.raises(ValueError, match="no beats"):
        hrv_features(np.zeros((2, 0)))


def test_risk_metrics():
    scores = np.arange(8.0)
    assert list(score_quartiles(scores)) == [1, 1, 2, 2, 3, 3, 4, 4]
    event = np.array([0, 1, 0, 0, 0, 1, 1, 1], dtype=bool)
    assert top_quartile_risk_ratio(scores, event) == pytest.approx(1.0 / (2 / 6))
    with pytest.raises(ValueError, match="unbounded"):
        top_quartile_risk_ratio(scores, scores >= 6)
    assert instance_auc(np.array([0, 1]), np.array([[0.1, 0.2], [0.3, 0.4]])) == 1.0


def test_cox_hazard_ratio_recovers_a_planted_effect():
    pytest.importorskip("lifelines")
    rng = np.random.default_rng(0)
    scores = rng.normal(size=2000)
    top = score_quartiles(scores) == 4
    time = rng.exponential(1 / np.where(top, 0.3, 0.1))
    fit = cox_top_quartile(scores, np.minimum(time, 2.0), time <= 2.0)
    assert fit["ci_low"] < 3.0 < fit["ci_high"] and fit["p"] < 1e-6


def test_split_keeps_records_apart():
    labels = np.tile([0, 0, 0, 1], 25)
    groups = np.repeat(np.arange(10), 10)
    train, test = split_patients(labels, groups, 0.5, seed=1)
    assert not set(groups[train]) & set(groups[test]) and len(train) + len(test) == 100
    with pytest.raises(ValueError, match="test_fraction"):
        split_patients(labels, groups, 1.5, seed=1)


def test_bank_without_neurokit2_says_how_to_get_one(tmp_path, monkeypatch):
    import sys

    monkeypatch.setenv("EFFNOTES_CACHE", str(tmp_path))
    monkeypatch.delenv("EFFNOTES_ECG_BANK", raising=False)
    monkeypatch.setitem(sys.modules, "neurokit2", None)
    with pytest.raises(RuntimeError, match="EFFNOTES_ECG_BANK"):
        load_beat_bank(BankConfig(n_records=2, seed=11))
