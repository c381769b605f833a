"""sklearn's handwritten digits (1797 images of 8x8 pixels, 10 classes) as torch tensors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset
from effnotes.validation import check_integer, check_real


@dataclass(frozen=True)
class DigitsSplit:
    """Stratified train/validation/test tensors.

    ``x_*`` are float32 of shape ``(n, 1, 8, 8)`` scaled to [0, 1] (the pixel range is 0-16;
    :func:`effnotes.data.images.load_image_split` fills it with ``(n, c, h, w)`` images);
    ``y_*`` are int64 class labels of shape ``(n,)``.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    n_classes: int = 10

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)`` of one image (``(1, 8, 8)`` for the digits)."""
        return tuple(int(v) for v in self.x_train.shape[1:])

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}


def load_digits_split(*, val_fraction: float = 0.2, test_fraction: float = 0.2,
                      seed: int = 0) -> DigitsSplit:
    """Load the digits and split them, stratified by class, with a fixed ``seed``."""
    check_integer("seed", seed, 0)
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        check_real(name, value)
        if not 0 < value < 1:
            raise ValueError(f"{name} must be in (0, 1), got {value}")
    if val_fraction + test_fraction >= 0.9:
        raise ValueError("val_fraction + test_fraction must leave at least 10% for training, "
                         f"got {val_fraction} + {test_fraction}")
    bunch = load_digits()
    images = (bunch.images.astype(np.float32) / 16.0)[:, None, :, :]
    labels = bunch.target.astype(np.int64)
    x_rest, x_test, y_rest, y_test = train_test_split(
        images, labels, test_size=test_fraction, stratify=labels, random_state=seed)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val_fraction / (1 - test_fraction), stratify=y_rest,
        random_state=seed)
    as_tensor = torch.from_numpy
    return DigitsSplit(as_tensor(x_train), as_tensor(y_train), as_tensor(x_val),
                       as_tensor(y_val), as_tensor(x_test), as_tensor(y_test))


def make_loaders(split: DigitsSplit, *, batch_size: int = 64, seed: int = 0,
                 eval_batch_size: int = 512) -> tuple[DataLoader, DataLoader, DataLoader]:
    """Train (shuffled with its own seeded generator), validation and test loaders."""
    if not isinstance(split, DigitsSplit):
        raise TypeError(f"split must be a DigitsSplit, got {type(split).__name__}")
    check_integer("batch_size", batch_size, 1)
    check_integer("eval_batch_size", eval_batch_size, 1)
    check_integer("seed", seed, 0)
    generator = torch.Generator().manual_seed(seed)
    train = DataLoader(TensorDataset(split.x_train, split.y_train), batch_size=batch_size,
                       shuffle=True, generator=generator)
    val = DataLoader(TensorDataset(split.x_val, split.y_val), batch_size=eval_batch_size)
    test = DataLoader(TensorDataset(split.x_test, split.y_test), batch_size=eval_batch_size)
    return train, val, test
