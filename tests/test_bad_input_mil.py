"""Bad input to effnotes.mil: each case raises the named error type, and the message names
the argument that is wrong."""

import dataclasses

import numpy as np
import pytest

from effnotes.mil import AttentionMIL, InstanceMIL, TrainConfig
from effnotes.mil.beats import segment_beats
from effnotes.mil.models import check_bags
from effnotes.mil.pooling import pool, topk_pool

RNG = np.random.default_rng(0)
BAGS = RNG.normal(size=(8, 4, 16)).astype(np.float32)
LABELS = np.array([0, 1] * 4)
FAST = TrainConfig(epochs=1, batch_size=4, hidden=2, channels=2)


def with_value(array, index, value):
    array = array.copy()
    array[index] = value
    return array


@pytest.fixture(scope="module")
def fitted():
    return InstanceMIL("dense", FAST).fit(BAGS, LABELS)


CASES = [
    ("nan bags", lambda: check_bags(with_value(BAGS, (0, 0, 0), np.nan)), ValueError, "bags"),
    ("inf bags", lambda: check_bags(with_value(BAGS, (1, 2, 3), np.inf)), ValueError, "bags"),
    ("2-D bags", lambda: check_bags(BAGS[0]), ValueError, "bags"),
    ("list bags", lambda: check_bags(BAGS.tolist()), ValueError, "bags"),
    ("int bags", lambda: check_bags(BAGS.astype(int)), TypeError, "bags"),
    ("no patients", lambda: check_bags(BAGS[:0]), ValueError, "bags"),
    ("no beats", lambda: check_bags(BAGS[:, :0]), ValueError, "bags"),
    ("no samples", lambda: check_bags(BAGS[:, :, :0]), ValueError, "bags"),
    ("labels shape", lambda: check_bags(BAGS, LABELS[:3]), ValueError, "labels"),
    ("labels values", lambda: check_bags(BAGS, LABELS * 2), ValueError, "labels"),
    ("nan labels", lambda: check_bags(BAGS, with_value(LABELS.astype(float), 0, np.nan)),
     ValueError, "labels"),
    ("one class", lambda: check_bags(BAGS, np.ones(8)), ValueError, "labels"),
    ("batch_size 1", lambda: TrainConfig(batch_size=1), ValueError, "batch_size"),
    ("batch_size bool", lambda: TrainConfig(batch_size=True), TypeError, "batch_size"),
    ("epochs -1", lambda: TrainConfig(epochs=-1), ValueError, "epochs"),
    ("epochs 0", lambda: TrainConfig(epochs=0), ValueError, "epochs"),
    ("epochs float", lambda: TrainConfig(epochs=2.5), TypeError, "epochs"),
    ("hidden 0", lambda: TrainConfig(hidden=0), ValueError, "hidden"),
    ("channels 0", lambda: TrainConfig(channels=0), ValueError, "channels"),
    ("lr nan", lambda: TrainConfig(lr=float("nan")), ValueError, "lr"),
    ("lr 0", lambda: TrainConfig(lr=0.0), ValueError, "lr"),
    ("lr text", lambda: TrainConfig(lr="0.1"), TypeError, "lr"),
    ("weight_decay < 0", lambda: TrainConfig(weight_decay=-1e-3), ValueError, "weight_decay"),
    ("bags_per_batch -4", lambda: AttentionMIL(bags_per_batch=-4), ValueError, "bags_per_batch"),
    ("bags_per_batch 1", lambda: AttentionMIL(bags_per_batch=1), ValueError, "bags_per_batch"),
    ("seed -1", lambda: InstanceMIL(seed=-1), ValueError, "seed"),
    ("config dict", lambda: InstanceMIL(config={"epochs": 1}), TypeError, "config"),
    ("attention config", lambda: AttentionMIL(config=3), TypeError, "config"),
    ("architecture", lambda: InstanceMIL("rnn"), ValueError, "architecture"),
    ("fit nan bags", lambda: InstanceMIL(config=FAST).fit(with_value(BAGS, 0, np.nan), LABELS),
     ValueError, "bags"),
    ("attention fit inf", lambda: AttentionMIL(FAST, bags_per_batch=2).fit(
        with_value(BAGS, 0, np.inf), LABELS), ValueError, "bags"),
    ("unfitted", lambda: InstanceMIL().instance_scores(BAGS), RuntimeError, "fit"),
    ("nan scores", lambda: pool(np.full((2, 3), np.nan), "mean"), ValueError, "scores"),
    ("1-D scores", lambda: pool(np.ones(3), "max"), ValueError, "scores"),
    ("empty scores", lambda: pool(np.ones((2, 0)), "mean"), ValueError, "instances"),
    ("pooling top0", lambda: pool(np.ones((2, 3)), "top0"), ValueError, "pooling"),
    ("k 0", lambda: topk_pool(np.ones((2, 3)), k=0), ValueError, "k must"),
    ("window 0", lambda: segment_beats(np.zeros(2000), 128, window=0), ValueError, "window"),
    ("window -4", lambda: segment_beats(np.zeros(2000), 128, window=-4), ValueError, "window"),
    ("window odd", lambda: segment_beats(np.zeros(2000), 128, window=63), ValueError, "window"),
    ("window float", lambda: segment_beats(np.zeros(2000), 128, window=64.0), TypeError,
     "window"),
    ("nan signal", lambda: segment_beats(np.full(2000, np.nan), 128), ValueError, "signal"),
    ("pooling None", lambda: pool(np.ones((2, 3)), None), TypeError, "pooling"),
    ("pooling number", lambda: pool(np.ones((2, 3)), 20), TypeError, "pooling"),
    ("k text", lambda: topk_pool(np.ones((2, 3)), k="0.2"), TypeError, "k must"),
    ("k nan", lambda: topk_pool(np.ones((2, 3)), k=float("nan")), ValueError, "k must"),
]


@pytest.mark.parametrize("call, error, name", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_named(call, error, name):
    with pytest.raises(error) as raised:
        call()
    assert name in str(raised.value), str(raised.value)


@pytest.mark.parametrize("method", ["instance_scores", "patient_scores"])
def test_fitted_model_checks_its_input(fitted, method):
    for bad, error, name in [(with_value(BAGS, 0, np.nan), ValueError, "bags"),
                             (BAGS[:, :, :8], ValueError, "bags"),
                             (BAGS[0], ValueError, "bags")]:
        with pytest.raises(error, match=name):
            getattr(fitted, method)(bad)
    with pytest.raises(ValueError, match="batch"):
        fitted.instance_scores(BAGS, batch=0)


def test_float64_bags_are_accepted_as_float32(fitted):
    as64 = InstanceMIL("dense", FAST).fit(BAGS.astype(np.float64), LABELS)
    assert np.array_equal(as64.instance_scores(BAGS.astype(np.float64)),
                          fitted.instance_scores(BAGS))
    attention = AttentionMIL(FAST, bags_per_batch=2).fit(BAGS.astype(np.float64), LABELS)
    assert np.isfinite(attention.patient_scores(BAGS.astype(np.float64))).all()


def test_a_failed_fit_leaves_the_model_as_it_was():
    model = InstanceMIL("dense", FAST).fit(BAGS, LABELS)
    before = model.instance_scores(BAGS)
    with pytest.raises(ValueError, match="bags"):
        model.fit(with_value(BAGS, 0, np.nan), LABELS)
    assert np.array_equal(model.instance_scores(BAGS), before)
    diverging = InstanceMIL("dense", TrainConfig(epochs=2, batch_size=4, lr=1e30))
    with pytest.raises(FloatingPointError, match="lr"):  # a NaN loss is not a trained model
        diverging.fit(BAGS, LABELS)
    assert not hasattr(diverging, "network_")


def test_wfdb_bad_window_and_corrupt_files_name_the_record(tmp_path):
    pytest.importorskip("wfdb")
    from effnotes.mil.wfdb_io import read_wfdb_beats

    with pytest.raises(ValueError, match="window"):
        read_wfdb_beats(tmp_path / "rec", window=0)
    with pytest.raises(ValueError, match="target_rate"):
        read_wfdb_beats(tmp_path / "rec", target_rate=0)
    (tmp_path / "rec.hea").write_text("rec 1 360 1000\nrec.dat 16 200 16 0 0 0 0 II\n")
    (tmp_path / "rec.dat").write_bytes(b"\x01\x02\x03")  # far shorter than the header says
    with pytest.raises(ValueError) as raised:
        read_wfdb_beats(tmp_path / "rec")
    assert "rec" in str(raised.value) and str(tmp_path) in str(raised.value)
    (tmp_path / "bad.hea").write_text("this is not a header\n")
    with pytest.raises(ValueError, match="bad"):
        read_wfdb_beats(tmp_path / "bad")


@pytest.mark.parametrize("name, value", [("epochs", -1), ("batch_size", 1), ("hidden", 0),
                                         ("lr", float("nan"))])
def test_a_train_config_cannot_be_changed_past_its_checks(name, value):
    config = TrainConfig(epochs=1, batch_size=4, hidden=2, channels=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(config, name, value)  # a config set to epochs=-1 would train nothing
    with pytest.raises(ValueError, match=name):
        dataclasses.replace(config, **{name: value})
    assert InstanceMIL("dense", config).fit(BAGS, LABELS).losses_  # it still trains


def test_wfdb_resample_refuses_a_non_finite_rate():
    pytest.importorskip("scipy")
    from effnotes.mil.wfdb_io import resample

    with pytest.raises(ValueError, match="rate must be finite"):
        resample(np.zeros(16), float("nan"), 128)
    with pytest.raises(TypeError, match="target_rate"):
        resample(np.zeros(16), 360.0, "128")
