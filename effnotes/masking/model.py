"""A small BERT-style encoder with a masked-language-model head, in one readable file.

Token and learned position embeddings, ``n_layers`` pre-norm Transformer layers
(:class:`torch.nn.TransformerEncoderLayer`), a final layer norm, and an MLM head (dense,
GELU, layer norm, then a decoder that shares the token embedding's weights).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from effnotes.masking.collator import IGNORE


@dataclass(frozen=True)
class EncoderConfig:
    """Sizes of the encoder. ``max_len`` is the longest sequence it takes; ``d_model`` must
    be divisible by ``n_heads``."""

    vocab_size: int = 2048
    max_len: int = 64
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 2
    d_ff: int = 256
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for name in ("vocab_size", "max_len", "d_model", "n_layers", "n_heads", "d_ff"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")

    def as_dict(self) -> dict:
        return asdict(self)


class MaskedLanguageModel(nn.Module):
    """``forward(ids, padding)`` -> hidden states ``(batch, length, d_model)``;
    :meth:`mlm_loss` -> mean cross-entropy over the targets of ``labels``."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.tokens = nn.Embedding(config.vocab_size, config.d_model)
        self.positions = nn.Embedding(config.max_len, config.d_model)
        self.embed_norm = nn.LayerNorm(config.d_model)
        layer = nn.TransformerEncoderLayer(config.d_model, config.n_heads, config.d_ff,
                                           config.dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, config.n_layers, enable_nested_tensor=False)
        self.final_norm = nn.LayerNorm(config.d_model)
        self.head = nn.Sequential(nn.Linear(config.d_model, config.d_model), nn.GELU(),
                                  nn.LayerNorm(config.d_model))
        self.decoder_bias = nn.Parameter(torch.zeros(config.vocab_size))
        nn.init.normal_(self.tokens.weight, std=0.02)
        nn.init.normal_(self.positions.weight, std=0.02)

    def _check(self, ids: torch.Tensor) -> None:
        if not isinstance(ids, torch.Tensor) or ids.dtype != torch.long or ids.ndim != 2:
            raise ValueError(f"ids must be a (batch, length) torch.long tensor, got "
                             f"{getattr(ids, 'dtype', type(ids))} of shape {tuple(getattr(ids, 'shape', ()))}")
        if ids.shape[1] > self.config.max_len:
            raise ValueError(f"sequence length {ids.shape[1]} exceeds the model's max_len "
                             f"{self.config.max_len}")

    def forward(self, ids: torch.Tensor, padding: torch.Tensor | None = None) -> torch.Tensor:
        """Hidden states of ``ids`` ``(batch, length)``; ``padding`` (bool, same shape) marks
        positions to ignore as keys."""
        self._check(ids)
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.embed_norm(self.tokens(ids) + self.positions(positions))
        x = self.encoder(x, src_key_padding_mask=padding)
        return self.final_norm(x)

    def mlm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits ``(..., vocab_size)`` of hidden states ``(..., d_model)``."""
        return F.linear(self.head(hidden), self.tokens.weight, self.decoder_bias)

    def mlm_loss(self, inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy (nats per target) over the positions where ``labels`` is not
        :data:`~effnotes.masking.collator.IGNORE`; only those positions go through the head."""
        if labels.shape != inputs.shape:
            raise ValueError(f"labels {tuple(labels.shape)} and inputs {tuple(inputs.shape)} differ in shape")
        targets = labels != IGNORE
        if not bool(targets.any()):
            raise ValueError("the batch has no targets: every label is IGNORE")
        hidden = self(inputs)[targets]
        return F.cross_entropy(self.mlm_logits(hidden), labels[targets])

    @torch.no_grad()
    def pooled(self, ids: torch.Tensor, lengths: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Mean of the hidden states over each row's first ``lengths`` positions:
        ``(n, d_model)`` features for a probe. Runs in eval mode, in batches."""
        was_training = self.training
        self.eval()
        device = self.tokens.weight.device
        out = []
        for start in range(0, ids.shape[0], batch_size):
            rows = ids[start:start + batch_size].to(device)
            n = lengths[start:start + batch_size].to(device)
            keep = torch.arange(rows.shape[1], device=device)[None, :] < n[:, None]
            hidden = self(rows, padding=~keep)
            out.append(((hidden * keep[..., None]).sum(1) / n[:, None]).cpu())
        self.train(was_training)
        return torch.cat(out)
