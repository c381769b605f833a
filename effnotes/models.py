"""Small models for the book's CPU-scale experiments."""

from __future__ import annotations

import torch
from torch import nn


class DigitsCNN(nn.Module):
    """A small convolutional network for 8x8 images: ``(n, 1, 8, 8)`` -> logits ``(n, classes)``.

    Three 3x3 convolutions (``channels``, ``2*channels``, ``2*channels``; the second
    downsamples 8x8 to 4x4 with stride 2), each followed by batch normalisation (optional) and
    ReLU, then a hidden linear layer of ``hidden`` units and the linear classifier
    (``self.classifier``). Every weight layer is a :class:`~torch.nn.Conv2d` or
    :class:`~torch.nn.Linear`, so pruning and FLOP counting see all of them.
    """

    def __init__(self, channels: int = 16, hidden: int = 64, n_classes: int = 10, *,
                 in_channels: int = 1, batch_norm: bool = True) -> None:
        super().__init__()
        if channels < 1 or hidden < 1 or n_classes < 2 or in_channels < 1:
            raise ValueError("channels, hidden and in_channels must be positive and n_classes >= 2; "
                             f"got channels={channels}, hidden={hidden}, n_classes={n_classes}, "
                             f"in_channels={in_channels}")

        def block(cin: int, cout: int, stride: int) -> list[nn.Module]:
            layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, stride=stride, padding=1,
                                                 bias=not batch_norm)]
            if batch_norm:
                layers.append(nn.BatchNorm2d(cout))
            return [*layers, nn.ReLU()]

        self.features = nn.Sequential(*block(in_channels, channels, 1),
                                      *block(channels, 2 * channels, 2),
                                      *block(2 * channels, 2 * channels, 1))
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(2 * channels * 4 * 4, hidden), nn.ReLU())
        self.classifier = nn.Linear(hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[-2:] != (8, 8):
            raise ValueError(f"expected input of shape (n, channels, 8, 8), got {tuple(x.shape)}")
        return self.classifier(self.hidden(self.features(x)))
