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
from effnotes.validation import check_integer, check_real


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
            object.__setattr__(self, name, check_integer(name, getattr(self, name), minimum=1))
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        object.__setattr__(self, "dropout", check_real("dropout", self.dropout))
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

    def _check(self, ids: torch.Tensor, name: str = "ids") -> None:
        if not isinstance(ids, torch.Tensor) or ids.dtype != torch.long:
            raise TypeError(f"{name} must be a torch.long tensor, got "
                            f"{getattr(ids, 'dtype', type(ids).__name__)}")
        if ids.ndim != 2:
            raise ValueError(f"{name} must have shape (batch, length), got {tuple(ids.shape)}")
        if ids.shape[1] > self.config.max_len:
            raise ValueError(f"sequence length {ids.shape[1]} of {name} exceeds the model's "
                             f"max_len {self.config.max_len}")

    @staticmethod
    def _check_padding(padding, ids: torch.Tensor) -> None:
        """``padding`` must be ``None`` or a bool tensor shaped and placed like ``ids`` (python
        attributes only: no device sync). A row padded everywhere is not detected here."""
        if padding is None:
            return
        if not isinstance(padding, torch.Tensor) or padding.dtype != torch.bool:
            raise TypeError(f"padding must be None or a torch.bool tensor, got "
                            f"{getattr(padding, 'dtype', type(padding).__name__)}")
        if padding.shape != ids.shape:
            raise ValueError(f"padding has shape {tuple(padding.shape)}, ids {tuple(ids.shape)}: "
                             f"they must be equal")
        if padding.device != ids.device:
            raise ValueError(f"padding is on {padding.device}, ids on {ids.device}")

    def forward(self, ids: torch.Tensor, padding: torch.Tensor | None = None) -> torch.Tensor:
        """Hidden states of ``ids`` ``(batch, length)``; ``padding`` (bool, same shape) marks
        positions to ignore as keys."""
        self._check(ids)
        self._check_padding(padding, ids)
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.embed_norm(self.tokens(ids) + self.positions(positions))
        x = self.encoder(x, src_key_padding_mask=padding)
        return self.final_norm(x)

    def mlm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits ``(..., vocab_size)`` of hidden states ``(..., d_model)``."""
        return F.linear(self.head(hidden), self.tokens.weight, self.decoder_bias)

    def mlm_loss(self, inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy (nats per target) over the positions where ``labels`` is not
        :data:`~effnotes.masking.collator.IGNORE`; only those positions go through the head.
        ``inputs`` and ``labels`` are ``(batch, length)`` long tensors on one device (label
        values are not range-checked here: that would add a device sync per step)."""
        self._check(inputs, "inputs")
        if not isinstance(labels, torch.Tensor) or labels.dtype != torch.long:
            raise TypeError(f"labels must be a torch.long tensor, got "
                            f"{getattr(labels, 'dtype', type(labels).__name__)}")
        if labels.device != inputs.device:
            raise ValueError(f"labels are on {labels.device}, inputs on {inputs.device}")
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
        ``(n, d_model)`` features for a probe. Runs in eval mode, in batches.

        ``ids``: ``(n, length)`` long tensor of ids in ``[0, vocab_size)``; ``lengths``: ``(n,)``
        integer tensor with values in ``[1, length]``; ``batch_size``: rows per forward pass."""
        self._check(ids)
        batch_size = check_integer("batch_size", batch_size, minimum=1)
        if ids.shape[0] == 0:
            raise ValueError("ids has no rows")
        if (not isinstance(lengths, torch.Tensor) or lengths.dtype.is_floating_point
                or lengths.dtype.is_complex or lengths.dtype == torch.bool):
            raise TypeError(f"lengths must be an integer torch tensor, got "
                            f"{getattr(lengths, 'dtype', type(lengths).__name__)}")
        if lengths.shape != (ids.shape[0],):
            raise ValueError(f"lengths must have shape ({ids.shape[0]},) to match ids, got "
                             f"{tuple(lengths.shape)}")
        # pooled copies each batch to the host anyway, so these reductions add no new sync
        if int(lengths.min()) < 1 or int(lengths.max()) > ids.shape[1]:
            raise ValueError(f"lengths must lie in [1, {ids.shape[1]}], got "
                             f"{int(lengths.min())}..{int(lengths.max())}")
        if int(ids.min()) < 0 or int(ids.max()) >= self.config.vocab_size:
            raise ValueError(f"ids must lie in [0, {self.config.vocab_size}), got "
                             f"{int(ids.min())}..{int(ids.max())}")
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
