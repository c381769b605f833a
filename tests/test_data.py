import numpy as np
import pytest
import torch

from effnotes.data import (UCR_BUNDLED, load_digits_split, load_text, load_ucr, make_loaders,
                           python_prose)


def test_digits_split_shapes_and_stratification():
    split = load_digits_split(seed=0)
    sizes = split.sizes()
    assert sum(sizes.values()) == 1797
    assert split.x_train.shape == (sizes["train"], 1, 8, 8) and split.x_train.dtype == torch.float32
    assert split.y_train.dtype == torch.int64
    assert 0.0 <= float(split.x_train.min()) and float(split.x_train.max()) <= 1.0
    for labels in (split.y_train, split.y_val, split.y_test):
        counts = torch.bincount(labels, minlength=10).float()
        assert counts.min() / counts.max() > 0.8  # every class, in about equal measure
    again = load_digits_split(seed=0)
    assert torch.equal(split.x_test, again.x_test)
    assert not torch.equal(split.y_test, load_digits_split(seed=1).y_test)


@pytest.mark.parametrize("kwargs", [{"val_fraction": 0}, {"test_fraction": 1.2},
                                    {"val_fraction": 0.5, "test_fraction": 0.45}])
def test_digits_bad_fractions(kwargs):
    with pytest.raises(ValueError, match="fraction"):
        load_digits_split(**kwargs)


def test_digit_loaders():
    split = load_digits_split()
    train, val, test = make_loaders(split, batch_size=100, seed=3)
    x, y = next(iter(train))
    assert x.shape == (100, 1, 8, 8) and y.shape == (100,)
    assert sum(len(b[1]) for b in val) == split.sizes()["val"]
    with pytest.raises(ValueError, match="batch_size"):
        make_loaders(split, batch_size=0)


@pytest.mark.parametrize("name", UCR_BUNDLED)
def test_every_bundled_ucr_set_loads(name):
    train, test = load_ucr(name, "train"), load_ucr(name, "test")
    assert train.X.ndim == 3 and train.X.dtype == np.float64 and train.X.shape[1] == 1
    assert train.X.shape[2] == test.X.shape[2]
    assert train.y.min() == 0 and train.y.max() == len(train.classes) - 1
    assert np.isfinite(train.X).all()


def test_gunpoint_is_the_known_set():
    data = load_ucr("GunPoint", "train")
    assert data.X.shape == (50, 1, 150) and list(data.classes) == ["1", "2"]


def test_ucr_errors_never_download():
    with pytest.raises(ValueError, match="only the sets bundled"):
        load_ucr("ECG5000")
    with pytest.raises(ValueError, match="split"):
        load_ucr("GunPoint", "validation")


def test_python_prose_is_a_real_corpus():
    corpus = python_prose()
    assert corpus.n_words() > 200_000
    sources = {d.source for d in corpus.documents}
    assert "json" in sources  # the json module's docstring
    assert any(s.startswith("topics:") for s in sources)
    assert all(len(d.text.split()) >= 5 for d in corpus.documents)
    assert python_prose() is corpus  # cached per process
    assert len(python_prose(include_topics=False)) < len(corpus)
    with pytest.raises(ValueError, match="min_words"):
        python_prose(min_words=0)


def test_load_text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("First paragraph here.\n\nSecond one,\nover two lines.\n\n\n", encoding="utf-8")
    corpus = load_text(path)
    assert [d.text for d in corpus.documents] == ["First paragraph here.", "Second one,\nover two lines."]
    assert corpus.n_words() == 8


def test_load_text_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such text file"):
        load_text(tmp_path / "missing.txt")
    with pytest.raises(IsADirectoryError):
        load_text(tmp_path)
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(ValueError, match="not valid utf-8"):
        load_text(binary)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n   \n")
    with pytest.raises(ValueError, match="holds no text"):
        load_text(empty)
