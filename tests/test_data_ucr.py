"""UCR sets from a local archive folder, through aeon's .ts reader with an explicit path."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("aeon")

from effnotes.data.ucr import archive_sets, load_ucr  # noqa: E402
from effnotes.maddness.accuracy import ucr_task  # noqa: E402


def _write_ts(path, n, length=12, seed=0, classes=("a", "b")):
    rng = np.random.default_rng(seed)
    lines = [f"@problemName {path.stem}", "@timeStamps false", "@univariate true",
             f"@classLabel true {' '.join(classes)}", "@data"]
    for i in range(n):
        values = ",".join(f"{v:.4f}" for v in rng.normal(size=length) + (i % 2))
        lines.append(f"{values}:{classes[i % len(classes)]}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _archive(root):
    _write_ts(root / "Big" / "Big_TRAIN.ts", 130)
    _write_ts(root / "Big" / "Big_TEST.ts", 20, seed=1)
    _write_ts(root / "Small" / "Small_TRAIN.ts", 10)
    _write_ts(root / "Small" / "Small_TEST.ts", 6, seed=2)


def test_any_set_loads_from_an_archive_folder_and_the_filter_is_reported(tmp_path):
    _archive(tmp_path)
    train = load_ucr("Small", "train", root=tmp_path)
    assert train.X.shape == (10, 1, 12) and list(train.classes) == ["a", "b"]
    assert np.bincount(train.y).tolist() == [5, 5]
    sets = archive_sets(tmp_path)
    assert sets.to_dict("records") == [{"name": "Big", "n_train": 130, "kept": True},
                                       {"name": "Small", "n_train": 10, "kept": False}]
    assert archive_sets(tmp_path, min_train=5)["kept"].all()
    task = ucr_task("Big", length=16, n_prototypes=8, root=tmp_path)
    assert task.A_train.shape == (130, 16) and task.B.shape == (16, 8)


def test_archive_bad_inputs_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no train file for UCR set 'Nope' at .*Nope_TRAIN.ts"):
        load_ucr("Nope", "train", root=tmp_path)
    with pytest.raises(ValueError, match="holds no set folders"):
        archive_sets(tmp_path)
    with pytest.raises(NotADirectoryError, match="missing"):
        archive_sets(tmp_path / "missing")
    _write_ts(tmp_path / "Half" / "Half_TRAIN.ts", 4)
    with pytest.raises(FileNotFoundError, match="Half lacks .*Half_TEST.ts"):
        archive_sets(tmp_path)
    (tmp_path / "Half" / "Half_TEST.ts").write_text("@data\nnot,a:series:at all\n")
    with pytest.raises(ValueError, match="cannot read .*Half_TEST.ts"):
        load_ucr("Half", "test", root=tmp_path)
    with pytest.raises(ValueError, match="unknown UCR set 'Half'"):
        load_ucr("Half", "test")


def test_ucr_selection_keeps_bundled_names_by_default_and_filters_an_archive(tmp_path):
    from effnotes.data.ucr import ucr_selection

    assert ucr_selection(None, ["GunPoint"]) == (["GunPoint"], None, None)
    _archive(tmp_path)
    names, root, table = ucr_selection(str(tmp_path), ["GunPoint"])
    assert names == ["Big"] and root == tmp_path and table["kept"].tolist() == [True, False]
