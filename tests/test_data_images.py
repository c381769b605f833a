"""The image loaders on small files written here: CIFAR binary batches and an ImageFolder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from effnotes.data.images import (data_record, load_image_split, load_images, read_cifar_batch,
                                  read_image_folder)
from effnotes.data.paths import DATA_ENV, resolve_data
from effnotes.models import DigitsCNN
from effnotes.speedup.recipes import RECIPES


def _cifar_batch(path, n, rng, label_bytes=1, n_classes=10):
    labels = rng.integers(0, n_classes, (n, label_bytes), dtype=np.uint8)
    pixels = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    np.concatenate([labels, pixels], axis=1).tofile(path)
    return labels[:, -1], pixels.reshape(n, 3, 32, 32)


def _cifar10(folder, rng, n=20):
    for i in range(1, 6):
        _cifar_batch(folder / f"data_batch_{i}.bin", n, rng)
    return _cifar_batch(folder / "test_batch.bin", n, rng)


def test_cifar_batch_round_trips_labels_and_pixels(tmp_path):
    rng = np.random.default_rng(0)
    labels, pixels = _cifar_batch(tmp_path / "b.bin", 7, rng)
    x, y = read_cifar_batch(tmp_path / "b.bin")
    assert x.shape == (7, 3, 32, 32) and x.dtype == np.uint8
    np.testing.assert_array_equal(x, pixels)
    np.testing.assert_array_equal(y, labels)
    fine, pixels = _cifar_batch(tmp_path / "c100.bin", 5, rng, label_bytes=2, n_classes=100)
    x, y = read_cifar_batch(tmp_path / "c100.bin", label_bytes=2)
    np.testing.assert_array_equal(y, fine)
    np.testing.assert_array_equal(x, pixels)


def test_cifar_folder_becomes_a_split_and_the_models_adapt(tmp_path):
    rng = np.random.default_rng(1)
    y_test, x_test = _cifar10(tmp_path, rng)
    split = load_image_split(tmp_path)
    assert split.image_shape == (3, 32, 32)
    assert split.sizes() == {"train": 80, "val": 20, "test": 20}
    np.testing.assert_allclose(split.x_test.numpy(), x_test / 255.0, rtol=0, atol=1e-7)
    cnn = DigitsCNN(8, 16, split.n_classes, in_channels=3, image_size=(32, 32))
    assert cnn(split.x_train[:4]).shape == (4, split.n_classes)
    mlp = RECIPES["baseline"].build_model(split)
    assert mlp(split.x_train[:4]).shape == (4, split.n_classes)
    assert data_record(split, {"data_path": str(tmp_path)})["dataset"]["image_shape"] == [3, 32, 32]


def test_default_is_still_the_digits(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    split = load_images(None, "speedup")
    assert split.image_shape == (1, 8, 8) and split.n_classes == 10
    assert data_record(split, {"data_path": None}) == {}
    assert DigitsCNN()(split.x_train[:2]).shape == (2, 10)


def test_cifar_bad_inputs_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="no CIFAR batch at .*missing.bin"):
        read_cifar_batch(tmp_path / "missing.bin")
    (tmp_path / "short.bin").write_bytes(b"\x01" * 3000)
    with pytest.raises(ValueError, match="short.bin holds 3000 bytes"):
        read_cifar_batch(tmp_path / "short.bin")
    (tmp_path / "test_batch.bin").write_bytes(b"\x01" * 3073)
    with pytest.raises(FileNotFoundError, match="not a CIFAR binary folder; expected CIFAR-10"):
        load_image_split(tmp_path)


def _image_folder(root, rng, size=(6, 5), per_class=10):
    from PIL import Image

    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")


def test_image_folder_reads_classes_and_caches_by_checksum(tmp_path):
    pytest.importorskip("PIL")
    rng = np.random.default_rng(2)
    _image_folder(tmp_path / "imgs", rng)
    cache = tmp_path / "cache"
    data = read_image_folder(tmp_path / "imgs", cache=cache)
    assert data["x"].shape == (20, 3, 6, 5) and list(data["classes"]) == ["cat", "dog"]
    assert np.bincount(data["y"]).tolist() == [10, 10]
    assert len(list(cache.glob("*.npz"))) == 1
    # a changed source file is noticed through its hash: the cache is rebuilt, not trusted
    from PIL import Image

    new = np.zeros((6, 5, 3), dtype=np.uint8)
    Image.fromarray(new).save(tmp_path / "imgs" / "cat" / "0.png")
    again = read_image_folder(tmp_path / "imgs", cache=cache)
    first = int(np.flatnonzero(again["y"] == 0)[0])
    assert again["x"][first].max() == 0 and data["x"][first].max() > 0
    split = load_image_split(tmp_path / "imgs", cache=cache)
    assert split.image_shape == (3, 6, 5) and split.n_classes == 2
    model = DigitsCNN(4, 8, 2, in_channels=3, image_size=(6, 5), blurpool=True)
    assert model(split.x_train).shape == (len(split.y_train), 2)


def test_image_folder_bad_inputs_leave_no_cache(tmp_path):
    pytest.importorskip("PIL")
    from PIL import Image

    cache = tmp_path / "cache"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty holds 0 class folder"):
        read_image_folder(tmp_path / "empty", cache=cache)
    with pytest.raises(NotADirectoryError, match="nowhere"):
        read_image_folder(tmp_path / "nowhere", cache=cache)
    rng = np.random.default_rng(3)
    _image_folder(tmp_path / "mixed", rng, per_class=3)
    Image.fromarray(np.zeros((9, 9, 3), dtype=np.uint8)).save(tmp_path / "mixed" / "dog" / "odd.png")
    with pytest.raises(ValueError, match="odd.png has shape"):
        read_image_folder(tmp_path / "mixed", cache=cache)
    (tmp_path / "broken" / "a").mkdir(parents=True)
    (tmp_path / "broken" / "b").mkdir()
    (tmp_path / "broken" / "a" / "x.png").write_bytes(b"not a png")
    (tmp_path / "broken" / "b" / "y.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot decode image .*x.png"):
        read_image_folder(tmp_path / "broken", cache=cache)
    assert not cache.exists() or not list(cache.iterdir())
    with pytest.raises(ValueError, match="expected input of shape \\(n, channels, 6, 5\\)"):
        DigitsCNN(4, 8, 2, image_size=(6, 5))(torch.zeros(1, 1, 8, 8))


def test_resolve_data_explains_paths(monkeypatch, tmp_path):
    monkeypatch.delenv(DATA_ENV, raising=False)
    assert resolve_data("pruning", None) is None
    with pytest.raises(ValueError, match="EFFNOTES_DATA"):
        resolve_data("pruning", "images")
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=f"no data at {tmp_path}/images .*ImageFolder"):
        resolve_data("pruning", "images")
    (tmp_path / "images").mkdir()
    assert resolve_data("pruning", "images") == tmp_path / "images"
    with pytest.raises(TypeError, match="data_path must be None or a non-empty path"):
        resolve_data("pruning", 3)
    with pytest.raises(KeyError, match="no data layout for chapter"):
        resolve_data("nochapter", "x")


def test_split_sized_models_are_the_default_models_on_the_digits():
    """With the digits, the split-sized constructors build the very models (and initial
    weights) the chapters built before, so default results cannot move."""
    from effnotes.cyclic.runs import METHODS
    from effnotes.pruning.experiment import model_factory
    from effnotes.speedup.recipes import DigitsMLP

    split = load_images(None, "pruning")

    def same(make_old, make_new):
        torch.manual_seed(0)
        old = make_old().state_dict()
        torch.manual_seed(0)
        new = make_new().state_dict()
        assert old.keys() == new.keys()
        assert all(torch.equal(old[k], new[k]) for k in old)

    same(lambda: DigitsMLP(256), lambda: DigitsMLP.for_split(split, 256))
    same(lambda: RECIPES["baseline"].build_model(), lambda: RECIPES["baseline"].build_model(split))
    same(lambda: METHODS["blurpool"].build_model(16), lambda: METHODS["blurpool"].build_model(16, split))
    params = {"channels": 16, "hidden": 64}
    same(model_factory(params), model_factory(params, split))


def test_profile_runner_labels_a_run_on_the_readers_data(tmp_path):
    from effnotes.experiment_runner import stored_name
    from effnotes.pruning.experiment import main

    assert stored_name("gpu", "/data/cifar-10-batches-bin/") == "gpu-cifar-10-batches-bin"
    assert stored_name("ci", "My Photos") == "ci-my-photos"
    with pytest.raises(FileNotFoundError, match="no data at .*absent"):
        main(["--profile", "smoke", "--data-path", str(tmp_path / "absent")])
