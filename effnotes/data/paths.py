"""Where a chapter finds a reader's own data, and a cache that trusts checksums, not files.

Every chapter runs on its bundled data unless its ``data_path`` parameter names something else:

- ``data_path=None`` (every profile's default): the bundled data, unchanged;
- ``data_path="/abs/path"``: that file or folder;
- ``data_path="name"`` (a relative path): ``$EFFNOTES_DATA/name``; :data:`CHAPTER_DATA` gives
  each chapter's conventional name under that root and the layout it expects.

A missing path is an error naming the path and the layout; nothing is ever downloaded.

:func:`cached_arrays` keeps arrays decoded from user files in an ``.npz`` (read with
``allow_pickle=False``) next to a record of every source file's size and SHA-256; the cache is
rebuilt when a source changes, and is written to a temporary name and renamed, so a failed
build leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

DATA_ENV = "EFFNOTES_DATA"
CACHE_ENV = "EFFNOTES_CACHE"

#: chapter -> (conventional folder name under ``$EFFNOTES_DATA``, the layout it expects)
_IMAGES = ("a CIFAR-10/100 binary folder (data_batch_1.bin ... data_batch_5.bin and "
           "test_batch.bin, or train.bin and test.bin) or an ImageFolder tree (one sub-folder "
           "of PNG/JPEG images per class)")
_TEXT = ("a UTF-8 text file (one document per paragraph) or a folder of .txt files (one "
         "document each)")
#: What each chapter's ``data_path`` may point at.
CHAPTER_DATA = {
    "speedup": ("images", _IMAGES),
    "cyclic_tradeoff": ("images", _IMAGES),
    "pruning": ("images", _IMAGES),
    "maddness": ("ucr", "a UCR/UEA archive folder: <root>/<Name>/<Name>_TRAIN.ts and "
                        "<Name>_TEST.ts"),
    "masking_schedules": ("text", _TEXT + ", with an optional labels file (CSV with columns "
                                          "document,label or JSONL with those keys)"),
    "unit_scaling": ("text", _TEXT),
    "mil_ecg": ("ecg", "a folder of WFDB records (<record>.hea + signal files) and a CSV "
                       "with columns record,label[,time,event]"),
}


def layout(chapter: str) -> str:
    """The data layout ``chapter`` expects (a sentence)."""
    if chapter not in CHAPTER_DATA:
        raise KeyError(f"no data layout for chapter {chapter!r}; known: {sorted(CHAPTER_DATA)}")
    return CHAPTER_DATA[chapter][1]


def resolve_data(chapter: str, data: str | os.PathLike | None) -> Path | None:
    """The path a chapter's ``data_path`` parameter names, or ``None`` for the bundled data.

    A relative path is taken under ``$EFFNOTES_DATA``; an error names the variable if it is
    unset, and names the path and the expected layout if nothing is there."""
    if data is None:
        return None
    if not isinstance(data, (str, os.PathLike)) or not str(data):
        raise TypeError(f"data_path must be None or a non-empty path, got {data!r}")
    expected = layout(chapter)
    path = Path(data).expanduser()
    if not path.is_absolute():
        root = os.environ.get(DATA_ENV)
        if not root:
            raise ValueError(f"data_path={str(data)!r} is a relative path, but ${DATA_ENV} (the data "
                             f"root) is not set; set it or give an absolute path. Expected: "
                             f"{expected}")
        path = Path(root).expanduser() / path
    if not path.exists():
        raise FileNotFoundError(f"no data at {path} (data_path={str(data)!r} for chapter {chapter}); "
                                f"expected: {expected}")
    return path


def cache_dir() -> Path:
    """``$EFFNOTES_CACHE`` if set, else ``$XDG_CACHE_HOME/effnotes`` (``~/.cache/effnotes``)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "effnotes"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """The SHA-256 of the file at ``path`` as a hex string, read ``chunk`` bytes at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(paths: Iterable[Path]) -> list[dict]:
    """``[{"path", "size", "sha256"}, ...]`` of the files, sorted by path (size in bytes)."""
    rows = []
    for path in sorted(Path(p).resolve() for p in paths):
        rows.append({"path": str(path), "size": path.stat().st_size, "sha256": sha256_file(path)})
    return rows


def cached_arrays(name: str, sources: list[Path], build: Callable[[], dict[str, np.ndarray]],
                  *, cache: Path | None = None) -> dict[str, np.ndarray]:
    """Arrays built by ``build()`` from the files ``sources``, cached as ``<cache>/<name>.npz``.

    The cache records the sources' :func:`fingerprint` and is used only if it matches now;
    otherwise it is rebuilt. Arrays must be numeric or fixed-width strings (no objects)."""
    if not sources:
        raise ValueError(f"cached_arrays({name!r}) needs at least one source file")
    key = hashlib.sha256("\n".join(sorted(str(Path(p).resolve()) for p in sources))
                         .encode()).hexdigest()[:16]
    target = Path(cache or cache_dir()) / f"{name}_{key}.npz"
    prints = fingerprint(sources)
    if target.is_file():
        try:
            with np.load(target, allow_pickle=False) as stored:
                if json.loads(str(stored["__sources__"])) == prints:
                    return {k: stored[k] for k in stored.files if k != "__sources__"}
        except (ValueError, KeyError, OSError):
            pass  # unreadable or foreign: rebuilt below
    arrays = build()
    for key_name, array in arrays.items():
        if np.asarray(array).dtype.hasobject:
            raise TypeError(f"cached array {key_name!r} holds Python objects; not cacheable")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp.npz")
    try:
        np.savez(tmp, __sources__=np.array(json.dumps(prints)), **arrays)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return dict(arrays)
