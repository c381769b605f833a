"""Byte-level language-modelling data from the Python-prose corpus.

Tokens are the UTF-8 bytes of :func:`effnotes.data.text.python_prose` (a vocabulary of
256), so nothing needs a trained tokenizer. Batches are random windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from effnotes.data.text import TextCorpus, python_prose

VOCAB_SIZE = 256


@dataclass(frozen=True)
class ByteSplit:
    """Training and validation bytes as ``int64`` tensors of shape ``(n_bytes,)``."""

    train: torch.Tensor
    val: torch.Tensor


def byte_tokens(corpus: TextCorpus | None = None, *, max_bytes: int | None = None) -> torch.Tensor:
    """The corpus (default: the Python prose) as a 1-D ``int64`` tensor of byte values,
    truncated to its first ``max_bytes`` bytes if given."""
    if max_bytes is not None and max_bytes < 2:
        raise ValueError(f"max_bytes must be at least 2, got {max_bytes}")
    corpus = corpus if corpus is not None else python_prose()
    raw = corpus.text.encode("utf-8")
    if max_bytes is not None:
        raw = raw[:max_bytes]
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8).to(torch.int64)


def split_bytes(tokens: torch.Tensor, val_fraction: float = 0.1) -> ByteSplit:
    """The last ``val_fraction`` of ``tokens`` for validation, the rest for training."""
    if tokens.dim() != 1:
        raise ValueError(f"tokens must be 1-D, got shape {tuple(tokens.shape)}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction}")
    cut = int(len(tokens) * (1 - val_fraction))
    return ByteSplit(tokens[:cut], tokens[cut:])


def random_windows(tokens: torch.Tensor, batch_size: int, seq_len: int,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows: inputs and next-byte targets, each ``(batch_size,
    seq_len)`` int64."""
    if len(tokens) <= seq_len + 1:
        raise ValueError(f"{len(tokens)} tokens are too few for windows of {seq_len}")
    starts = torch.randint(0, len(tokens) - seq_len - 1, (batch_size,), generator=generator)
    index = starts[:, None] + torch.arange(seq_len + 1)
    windows = tokens[index]
    return windows[:, :-1], windows[:, 1:]
