"""UCR time-series classification sets that ship inside aeon (read from disk, never fetched)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: The UCR classification sets bundled in ``aeon<1.7`` (checked at load time as well).
UCR_BUNDLED = ("ACSF1", "ArrowHead", "GunPoint", "ItalyPowerDemand", "OSULeaf")
SPLITS = ("train", "test")


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


def load_ucr(name: str, split: str = "train") -> UCRDataset:
    """Load a bundled UCR set. Unknown names raise (aeon would otherwise try to download)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if name not in UCR_BUNDLED:
        raise ValueError(f"unknown UCR set {name!r}: offline, only the sets bundled with aeon are "
                         f"available: {', '.join(UCR_BUNDLED)}")
    folder = _bundled_dir() / name
    if not folder.is_dir():
        raise FileNotFoundError(f"{name} is not bundled with the installed aeon (looked in {folder}); "
                                "install aeon<1.7")
    from aeon.datasets import load_from_ts_file

    X, labels = load_from_ts_file(str(folder / f"{name}_{split.upper()}.ts"))
    X = np.asarray(X, dtype=np.float64)
    classes, y = np.unique(np.asarray(labels), return_inverse=True)
    return UCRDataset(name=name, split=split, X=X, y=y.astype(np.int64), classes=classes)
