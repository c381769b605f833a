"""A reader's own images: CIFAR-10/100 binary batches and ImageFolder trees, as a split.

:func:`load_image_split` returns the same :class:`~effnotes.data.digits.DigitsSplit` the
chapters use for the digits (float32 ``(n, channels, h, w)`` in [0, 1], int64 labels), so the
image chapters run on it unchanged; the models read channels and size from it.

- CIFAR binary (the "binary version", no pickles): each record is the label byte (CIFAR-100:
  a coarse then a fine label byte) followed by 3072 pixel bytes, 1024 per channel R, G, B in
  row-major 32x32 order. A folder with ``data_batch_1.bin`` ... ``data_batch_5.bin`` and
  ``test_batch.bin`` is CIFAR-10; one with ``train.bin`` and ``test.bin`` is CIFAR-100 (fine
  labels). The official test batch is the test split; validation is drawn from training.
- ImageFolder: ``root/<class>/<image>.png|jpg|jpeg``; classes sorted by name; all images must
  share one size and mode. Decoding needs Pillow; the decoded arrays are cached with the
  files' sizes and hashes (:func:`~effnotes.data.paths.cached_arrays`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from effnotes.data.digits import DigitsSplit
from effnotes.data.paths import cached_arrays

CIFAR_PIXELS = 3 * 32 * 32
CIFAR10_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
CIFAR10_TEST = "test_batch.bin"
CIFAR100_FILES = ("train.bin", "test.bin")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
CIFAR_LAYOUT = ("CIFAR-10: data_batch_1.bin ... data_batch_5.bin and test_batch.bin; "
                "CIFAR-100: train.bin and test.bin")


def read_cifar_batch(path: str | Path, *, label_bytes: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR binary batch: uint8 images ``(n, 3, 32, 32)`` and int64 labels ``(n,)`` (the
    last label byte: CIFAR-10's class, CIFAR-100's fine class with ``label_bytes=2``)."""
    path = Path(path)
    if label_bytes not in (1, 2):
        raise ValueError(f"label_bytes must be 1 (CIFAR-10) or 2 (CIFAR-100), got {label_bytes}")
    if not path.is_file():
        raise FileNotFoundError(f"no CIFAR batch at {path}; expected {CIFAR_LAYOUT}")
    raw = np.fromfile(path, dtype=np.uint8)
    record = label_bytes + CIFAR_PIXELS
    if raw.size == 0 or raw.size % record:
        raise ValueError(f"{path} holds {raw.size} bytes, not a whole number of {record}-byte "
                         f"CIFAR records ({label_bytes} label byte(s) + {CIFAR_PIXELS} pixels)")
    rows = raw.reshape(-1, record)
    return rows[:, label_bytes:].reshape(-1, 3, 32, 32).copy(), rows[:, label_bytes - 1].astype(np.int64)


def read_cifar_folder(folder: str | Path) -> dict[str, np.ndarray]:
    """A CIFAR-10 or CIFAR-100 binary folder: ``x_train, y_train, x_test, y_test`` (uint8
    images, int64 labels)."""
    folder = Path(folder)
    if all((folder / f).is_file() for f in (*CIFAR10_TRAIN, CIFAR10_TEST)):
        parts = [read_cifar_batch(folder / f) for f in CIFAR10_TRAIN]
        x_test, y_test = read_cifar_batch(folder / CIFAR10_TEST)
    elif all((folder / f).is_file() for f in CIFAR100_FILES):
        parts = [read_cifar_batch(folder / "train.bin", label_bytes=2)]
        x_test, y_test = read_cifar_batch(folder / "test.bin", label_bytes=2)
    else:
        raise FileNotFoundError(f"{folder} is not a CIFAR binary folder; expected {CIFAR_LAYOUT}")
    return {"x_train": np.concatenate([p[0] for p in parts]),
            "y_train": np.concatenate([p[1] for p in parts]), "x_test": x_test, "y_test": y_test}


def _image_files(root: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    if not root.is_dir():
        raise NotADirectoryError(f"ImageFolder root {root} is not a folder")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files = [(f, i) for i, c in enumerate(classes) for f in sorted((root / c).rglob("*"))
             if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
    if len(classes) < 2 or not files:
        raise ValueError(f"ImageFolder root {root} holds {len(classes)} class folder(s) and "
                         f"{len(files)} image(s); expected root/<class>/<image>.png|jpg with at "
                         "least two classes")
    empty = [c for i, c in enumerate(classes) if not any(k == i for _, k in files)]
    if empty:
        raise ValueError(f"ImageFolder {root}: class folder(s) {empty} hold no PNG/JPEG image")
    return classes, files


def read_image_folder(root: str | Path, *, cache: Path | None = None) -> dict[str, np.ndarray]:
    """An ImageFolder tree: ``x`` uint8 ``(n, channels, h, w)``, ``y`` int64 ``(n,)`` and
    ``classes`` (fixed-width strings). Needs Pillow. Cached with the files' checksums."""
    root = Path(root)
    classes, files = _image_files(root)
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError("reading an ImageFolder needs Pillow (pip install pillow)") from error

    def build() -> dict[str, np.ndarray]:
        images, first = [], None
        for path, _ in files:
            try:
                with Image.open(path) as image:
                    array = np.asarray(image)
            except Exception as error:
                raise ValueError(f"cannot decode image {path}: {error}") from error
            array = array[:, :, None] if array.ndim == 2 else array
            if first is None:
                first = (array.shape, path)
            elif array.shape != first[0]:
                raise ValueError(f"image {path} has shape {array.shape}, but {first[1]} has "
                                 f"{first[0]}: all images must share one size and mode")
            images.append(array.transpose(2, 0, 1))
        return {"x": np.stack(images).astype(np.uint8),
                "y": np.array([k for _, k in files], dtype=np.int64), "classes": np.array(classes)}

    return cached_arrays("imagefolder", [p for p, _ in files], build, cache=cache)


def _tensors(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32) / 255.0)


def load_image_split(path: str | Path, *, val_fraction: float = 0.2, test_fraction: float = 0.2,
                     seed: int = 0, cache: Path | None = None) -> DigitsSplit:
    """A CIFAR binary folder or an ImageFolder tree as a stratified, seeded split (CIFAR keeps
    its test batch; validation comes from training). Pixels are scaled to [0, 1]."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no image data at {path}; expected {CIFAR_LAYOUT}, or an "
                                "ImageFolder tree root/<class>/<image>.png")
    is_cifar = path.is_dir() and any((path / f).is_file() for f in (CIFAR10_TEST, "test.bin"))
    if is_cifar:
        data = read_cifar_folder(path)
        x_train, x_val, y_train, y_val = train_test_split(
            data["x_train"], data["y_train"], test_size=val_fraction,
            stratify=data["y_train"], random_state=seed)
        x_test, y_test = data["x_test"], data["y_test"]
        n_classes = int(max(data["y_train"].max(), y_test.max())) + 1
    else:
        data = read_image_folder(path, cache=cache)
        x, y = data["x"], data["y"]
        x_rest, x_test, y_rest, y_test = train_test_split(
            x, y, test_size=test_fraction, stratify=y, random_state=seed)
        x_train, x_val, y_train, y_val = train_test_split(
            x_rest, y_rest, test_size=val_fraction / (1 - test_fraction), stratify=y_rest,
            random_state=seed)
        n_classes = len(data["classes"])
    as_long = torch.from_numpy
    return DigitsSplit(_tensors(x_train), as_long(y_train), _tensors(x_val), as_long(y_val),
                       _tensors(x_test), as_long(y_test), n_classes=n_classes)


def load_images(data: str | Path | None, chapter: str, **kwargs) -> DigitsSplit:
    """The split a chapter's ``data_path`` parameter names: the digits for ``None`` (unchanged),
    else :func:`load_image_split` of the resolved path."""
    from effnotes.data.digits import load_digits_split
    from effnotes.data.paths import resolve_data

    path = resolve_data(chapter, data)
    if path is None:
        return load_digits_split(seed=0)
    return load_image_split(path, **kwargs)


def data_record(split: DigitsSplit, params: dict) -> dict:
    """``{}`` for the bundled digits (so default results stay exactly as stored), else
    ``{"dataset": {...}}`` naming the data a result was made from: the ``data_path`` parameter, the
    image shape, the class count and the split sizes."""
    if params.get("data_path") is None:
        return {}
    return {"dataset": {"data_path": str(params["data_path"]),
                        "image_shape": list(split.image_shape),
                        "n_classes": int(split.n_classes), **split.sizes()}}
