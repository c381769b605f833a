"""UCR/UEA time-series classification sets, read from disk through aeon, never fetched.

By default only the sets bundled inside ``aeon<1.7`` are available. With ``root`` (a local
archive folder laid out as ``<root>/<Name>/<Name>_TRAIN.ts`` and ``<Name>_TEST.ts``, as the
UCR and UEA archives unpack), any set is read through aeon's ``load_from_ts_file`` with that
explicit path. :func:`archive_sets` lists an archive's sets and applies the MADDNESS paper's
filter (at least :data:`MIN_TRAIN_ROWS` training series), reporting what it dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: The UCR classification sets bundled in ``aeon<1.7`` (checked at load time as well).
#: The UCR datasets bundled with aeon that the book uses.
UCR_BUNDLED = ("ACSF1", "ArrowHead", "GunPoint", "ItalyPowerDemand", "OSULeaf")
SPLITS = ("train", "test")
#: The MADDNESS paper keeps the UCR sets with at least this many training series.
MIN_TRAIN_ROWS = 128
ARCHIVE_LAYOUT = "<root>/<Name>/<Name>_TRAIN.ts and <root>/<Name>/<Name>_TEST.ts"


@dataclass(frozen=True)
class UCRDataset:
    """One split of a UCR set: ``X`` float64 of shape ``(n_cases, n_channels, length)``,
    ``y`` integer labels ``0..n_classes-1`` of shape ``(n_cases,)``, and the original
    class names in ``classes`` (``classes[y]`` recovers them)."""

    name: str
    split: str
    X: np.ndarray
    y: np.ndarray
    classes: np.ndarray


def _bundled_dir() -> Path:
    import aeon.datasets

    return Path(aeon.datasets.__file__).resolve().parent / "data"


def _read_ts(path: Path, name: str, split: str) -> UCRDataset:
    from aeon.datasets import load_from_ts_file

    try:
        X, labels = load_from_ts_file(str(path))
    except Exception as error:  # aeon's own errors do not name the file
        raise ValueError(f"cannot read {path} as a .ts file: {type(error).__name__}: {error}") from error
    if isinstance(X, list):
        raise ValueError(f"{path} holds series of unequal length; resample them to one length first")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3 or len(X) == 0 or labels is None or len(labels) != len(X):
        raise ValueError(f"{path} must hold labelled series (n_cases, n_channels, length), got "
                         f"data of shape {X.shape} and {0 if labels is None else len(labels)} labels")
    classes, y = np.unique(np.asarray(labels), return_inverse=True)
    return UCRDataset(name=name, split=split, X=X, y=y.astype(np.int64), classes=classes)


def load_ucr(name: str, split: str = "train", root: str | Path | None = None) -> UCRDataset:
    """Load a UCR set: a bundled one, or with ``root`` any set of a local archive folder.
    Unknown names raise (aeon would otherwise try to download)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if root is not None:
        path = Path(root) / name / f"{name}_{split.upper()}.ts"
        if not path.is_file():
            raise FileNotFoundError(f"no {split} file for UCR set {name!r} at {path}; an archive "
                                    f"folder is laid out as {ARCHIVE_LAYOUT}")
        return _read_ts(path, name, split)
    if name not in UCR_BUNDLED:
        raise ValueError(f"unknown UCR set {name!r}: offline, only the sets bundled with aeon are "
                         f"available: {', '.join(UCR_BUNDLED)}")
    folder = _bundled_dir() / name
    if not folder.is_dir():
        raise FileNotFoundError(f"{name} is not bundled with the installed aeon (looked in {folder}); "
                                "install aeon<1.7")
    return _read_ts(folder / f"{name}_{split.upper()}.ts", name, split)


def _count_cases(path: Path) -> int:
    """Series in a ``.ts`` file: the non-empty lines after ``@data`` (no parsing of values)."""
    count, in_data = 0, False
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            text = line.strip()
            if in_data:
                count += bool(text) and not text.startswith("#")
            elif text.lower().startswith("@data"):
                in_data = True
    return count


def archive_sets(root: str | Path, min_train: int = MIN_TRAIN_ROWS) -> pd.DataFrame:
    """The sets of a local archive folder with their training-set size and whether the
    paper's filter (at least ``min_train`` training series) keeps them: a frame with columns
    ``name, n_train, kept``, sorted by name. Sets lacking a TRAIN or TEST file are errors."""
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"UCR archive root {root} is not a folder; expected {ARCHIVE_LAYOUT}")
    rows = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = [folder / f"{folder.name}_{s.upper()}.ts" for s in SPLITS]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise FileNotFoundError(f"UCR archive set {folder.name} lacks {missing}; expected "
                                    f"{ARCHIVE_LAYOUT}")
        n_train = _count_cases(files[0])
        rows.append({"name": folder.name, "n_train": n_train, "kept": n_train >= min_train})
    if not rows:
        raise ValueError(f"UCR archive root {root} holds no set folders; expected {ARCHIVE_LAYOUT}")
    return pd.DataFrame(rows)


def ucr_selection(data_path, names: list[str]) -> tuple[list[str], Path | None, pd.DataFrame | None]:
    """The UCR sets a chapter evaluates: ``names`` (bundled) when ``data_path`` is None, else
    every set of that local archive the paper's filter keeps. Returns ``(names, root,
    filter_table)``; ``root`` and the :func:`archive_sets` table are None for bundled sets."""
    from effnotes.data.paths import resolve_data

    root = resolve_data("maddness", data_path)
    if root is None:
        return list(names), None, None
    table = archive_sets(root)
    return table.loc[table["kept"], "name"].tolist(), root, table
