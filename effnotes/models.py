"""Small models for the book's CPU-scale experiments."""

from __future__ import annotations

import math

import torch
from torch import nn


class BlurPool2d(nn.Module):
    """Anti-aliased downsampling: low-pass filter each channel, then keep every
    ``stride``-th pixel, ``(n, channels, h, w)`` -> ``(n, channels, ceil(h/stride),
    ceil(w/stride))``.

    The filter is the outer product of a row of Pascal's triangle of length ``filter_size``
    (``[1, 2, 1]`` for 3), normalised to sum to 1 and applied depthwise with reflection
    padding, so a constant image passes unchanged. It is a fixed buffer, not a weight.
    Subsampling without the blur aliases high frequencies into the result; Zhang (2019)
    showed that blurring first makes a CNN more shift-invariant and often more accurate.
    """

    def __init__(self, channels: int, stride: int = 2, filter_size: int = 3) -> None:
        super().__init__()
        if channels < 1 or stride < 1:
            raise ValueError(f"channels and stride must be positive, got channels={channels}, "
                             f"stride={stride}")
        if filter_size < 1 or filter_size % 2 == 0:
            raise ValueError(f"filter_size must be a positive odd number, got {filter_size}")
        row = torch.tensor([math.comb(filter_size - 1, i) for i in range(filter_size)],
                           dtype=torch.float32)
        kernel = torch.outer(row, row)
        kernel = kernel / kernel.sum()
        self.channels, self.stride, self.filter_size = channels, stride, filter_size
        self.register_buffer("kernel", kernel.expand(channels, 1, filter_size, filter_size).clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected input of shape (n, {self.channels}, h, w), got {tuple(x.shape)}")
        pad = self.filter_size // 2
        if pad:
            x = nn.functional.pad(x, (pad, pad, pad, pad), mode="reflect")
        return nn.functional.conv2d(x, self.kernel.to(x.dtype), stride=self.stride,
                                    groups=self.channels)

    def extra_repr(self) -> str:
        return f"{self.channels}, stride={self.stride}, filter_size={self.filter_size}"


class DigitsCNN(nn.Module):
    """A small convolutional network for small images: ``(n, in_channels, h, w)`` -> logits
    ``(n, classes)``, ``(h, w) = image_size`` (8x8 digits by default; 32x32x3 for CIFAR).

    Three 3x3 convolutions (``channels``, ``2*channels``, ``2*channels``; the second
    downsamples h x w to ceil(h/2) x ceil(w/2) with stride 2), each followed by batch normalisation (optional) and
    ReLU, then a hidden linear layer of ``hidden`` units and the linear classifier
    (``self.classifier``). Every weight layer is a :class:`~torch.nn.Conv2d` or
    :class:`~torch.nn.Linear`, so pruning and FLOP counting see all of them.

    With ``blurpool=True`` the downsampling is anti-aliased: the second convolution runs at
    stride 1 and its activations go through :class:`BlurPool2d` (stride 2) instead, as in
    Zhang (2019). Its output shapes are the same; it computes that convolution on 8x8 rather
    than 4x4 positions.
    """

    def __init__(self, channels: int = 16, hidden: int = 64, n_classes: int = 10, *,
                 in_channels: int = 1, batch_norm: bool = True, blurpool: bool = False,
                 image_size: tuple[int, int] = (8, 8)) -> None:
        super().__init__()
        image_size = tuple(int(v) for v in image_size)
        if len(image_size) != 2 or min(image_size) < 2:
            raise ValueError(f"image_size must be (height, width), each at least 2, got {image_size}")
        self.image_size = image_size
        if channels < 1 or hidden < 1 or n_classes < 2 or in_channels < 1:
            raise ValueError("channels, hidden and in_channels must be positive and n_classes >= 2; "
                             f"got channels={channels}, hidden={hidden}, n_classes={n_classes}, "
                             f"in_channels={in_channels}")

        def block(cin: int, cout: int, stride: int) -> list[nn.Module]:
            blur = blurpool and stride > 1
            layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, stride=1 if blur else stride,
                                                 padding=1, bias=not batch_norm)]
            if batch_norm:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.ReLU())
            if blur:
                layers.append(BlurPool2d(cout, stride=stride))
            return layers

        self.features = nn.Sequential(*block(in_channels, channels, 1),
                                      *block(channels, 2 * channels, 2),
                                      *block(2 * channels, 2 * channels, 1))
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(
            2 * channels * (-(-image_size[0] // 2)) * (-(-image_size[1] // 2)), hidden), nn.ReLU())
        self.classifier = nn.Linear(hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or tuple(x.shape[-2:]) != self.image_size:
            h, w = self.image_size
            raise ValueError(f"expected input of shape (n, channels, {h}, {w}), got {tuple(x.shape)}")
        return self.classifier(self.hidden(self.features(x)))
