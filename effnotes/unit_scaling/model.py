"""A small decoder-only transformer in two parametrisations.

- ``"sp"``, the standard parametrisation: pre-LayerNorm blocks ``x + f(LN(x))``, weights
  ``N(0, 0.02^2)``, plain matmuls, mean loss; the usual GPT recipe.
- ``"mus"``, μnit Scaling: unit-variance weights with static ``1/sqrt(fan_in)`` output
  scales, Res-Post-LayerNorm blocks ``sqrt(1-tau) x + sqrt(tau) LN(f(x))``, readout
  multiplier ``1/d``, and a fixed loss-gradient scale (``n_tokens * d``).

Either can run its hidden linear layers (attention q/k/v and output, MLP up and down) in
simulated or real FP8; embedding, readout, attention core and norms stay in high
precision. :func:`optimizer_groups` gives each parametrisation its learning-rate and
weight-decay rules for transfer across width.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from effnotes.unit_scaling import functional as U
from effnotes.unit_scaling.modules import Attention, Embedding, Gelu, Linear, Readout, ResidualAdd
from effnotes.validation import check_integer, check_real

PARAMETRISATIONS = ("sp", "mus")
SP_INIT_STD = 0.02


@dataclass(frozen=True)
class DecoderConfig:
    """Shape and recipe of a :class:`Decoder`.

    ``tau`` (μS only) defaults to 0.4 for up to 4 layers and 0.1 for deeper models, as in
    the paper. ``precision`` applies to the hidden linear layers only."""

    vocab_size: int = 256
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    seq_len: int = 128
    ffn_mult: int = 4
    parametrisation: str = "mus"
    tau: float | None = None
    precision: str = "fp32"
    attention: str = "softmax"

    def __post_init__(self) -> None:
        for name in ("vocab_size", "d_model", "n_layers", "n_heads", "seq_len", "ffn_mult"):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name} must be a positive integer, got "
                                f"{type(value).__name__} {value!r}")
            if value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))  # NumPy integers held as int
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        if self.parametrisation not in PARAMETRISATIONS:
            raise ValueError(f"unknown parametrisation {self.parametrisation!r}; choose one of "
                             f"{PARAMETRISATIONS}")
        if self.tau is not None:
            if self.parametrisation != "mus":
                raise ValueError("tau is a μS setting; the standard parametrisation adds "
                                 "residuals without coefficients (leave tau=None)")
            U.check_tau(self.tau)
        U.check_precision(self.precision)
        if self.attention not in U.ATTENTION_VARIANTS:
            raise ValueError(f"unknown attention variant {self.attention!r}; choose one of "
                             f"{U.ATTENTION_VARIANTS}")

    @property
    def residual_tau(self) -> float | None:
        if self.parametrisation != "mus":
            return None
        if self.tau is not None:
            return self.tau
        return 0.4 if self.n_layers <= 4 else 0.1

    def replace(self, **changes) -> "DecoderConfig":
        return DecoderConfig(**{**asdict(self), **changes})


class Block(nn.Module):
    """One transformer block (attention then MLP), pre-LN (SP) or Res-Post-LN (μS)."""

    def __init__(self, config: DecoderConfig) -> None:
        super().__init__()
        d, mus = config.d_model, config.parametrisation == "mus"
        self.mus, self.n_heads = mus, config.n_heads
        lin = dict(precision=config.precision)
        if not mus:
            lin.update(init_std=SP_INIT_STD, alpha=1.0)
        self.qkv = Linear(d, 3 * d, **lin)
        self.attn = Attention(config.attention)
        self.proj = Linear(d, d, **lin)
        self.up = Linear(d, config.ffn_mult * d, **lin)
        self.act = Gelu()
        self.down = Linear(config.ffn_mult * d, d, **lin)
        self.norm_attn = nn.LayerNorm(d)
        self.norm_mlp = nn.LayerNorm(d)
        self.res_attn = ResidualAdd(config.residual_tau)
        self.res_mlp = ResidualAdd(config.residual_tau)

    def _attention(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        qkv = self.qkv(x).view(b, t, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        out = self.attn(qkv[0], qkv[1], qkv[2])
        return self.proj(out.transpose(1, 2).reshape(b, t, d))

    def _mlp(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(self.act(self.up(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mus:  # Res-Post-LN: normalise the branch, then the fixed-tau residual
            x = self.res_attn(x, self.norm_attn(self._attention(x)))
            return self.res_mlp(x, self.norm_mlp(self._mlp(x)))
        x = self.res_attn(x, self._attention(self.norm_attn(x)))
        return self.res_mlp(x, self._mlp(self.norm_mlp(x)))


class Decoder(nn.Module):
    """Decoder-only language model: ``(batch, tokens)`` int64 ids -> ``(batch, tokens,
    vocab)`` logits. Build it from a :class:`DecoderConfig`."""

    def __init__(self, config: DecoderConfig) -> None:
        super().__init__()
        if not isinstance(config, DecoderConfig):
            raise TypeError(f"config must be a DecoderConfig, got {type(config).__name__}")
        self.config = config
        mus = config.parametrisation == "mus"
        std = 1.0 if mus else SP_INIT_STD
        self.embed = Embedding(config.vocab_size, config.d_model, init_std=std)
        self.pos = nn.Parameter(torch.randn(config.seq_len, config.d_model) * std)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.norm_out = nn.LayerNorm(config.d_model)
        self.head = Readout(config.d_model, config.vocab_size, init_std=std,
                            alpha=None if mus else 1.0)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if not isinstance(ids, torch.Tensor):
            raise TypeError(f"ids must be a torch.Tensor, got {type(ids).__name__}")
        if ids.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"ids must be int64 or int32, got {ids.dtype}")
        if ids.dim() != 2:
            raise ValueError(f"ids must be (batch, tokens), got shape {tuple(ids.shape)}")
        if ids.shape[1] > self.config.seq_len:
            raise ValueError(f"{ids.shape[1]} tokens exceed seq_len={self.config.seq_len}")
        x = self.embed(ids) + self.pos[: ids.shape[1]]
        if self.config.parametrisation == "mus":  # sum of two unit-variance terms
            x = x * (1.0 / math.sqrt(2.0))
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm_out(x))

    def loss_grad_scale(self, n_tokens: int) -> float:
        """The fixed factor on the loss gradient: ``n_tokens * d`` for μS, 1 (mean loss) for SP.
        ``n_tokens`` is a positive integer (the targets in the batch)."""
        n_tokens = check_integer("n_tokens", n_tokens, minimum=1)
        return float(n_tokens * self.config.d_model) if self.config.parametrisation == "mus" else 1.0

    def loss(self, ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean next-token cross-entropy (nats), with the parametrisation's gradient scale."""
        if not isinstance(targets, torch.Tensor):
            raise TypeError(f"targets must be a torch.Tensor, got {type(targets).__name__}")
        logits = self(ids)
        return U.cross_entropy(logits, targets, grad_scale=self.loss_grad_scale(targets.numel()))

    def hidden_parameters(self) -> list[nn.Parameter]:
        """The weights of the hidden linear layers (those whose fan-in grows with width)."""
        return [m.weight for m in self.modules() if isinstance(m, Linear)]

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def optimizer_groups(model: Decoder, lr: float, weight_decay: float = 0.0, *,
                     base_width: int | None = None, sp_lr_rule: bool = False) -> list[dict]:
    """AdamW parameter groups with the parametrisation's transfer rules.

    Hidden weights get ``lr * sqrt(base_width / d)`` under μS (the paper's rule) and, with
    ``sp_lr_rule=True``, ``lr * base_width / d`` under SP; every other parameter keeps
    ``lr``. Weight decay is fully decoupled: each step multiplies a matrix by
    ``1 - s_t * weight_decay`` (``s_t`` the schedule's multiplier), whatever its learning
    rate; norms' gains and biases are not decayed. ``base_width`` defaults to the model's."""
    # duck-typed, so that a sharded (FSDP) or otherwise wrapped Decoder passes as well
    if not (isinstance(getattr(model, "config", None), DecoderConfig)
            and callable(getattr(model, "hidden_parameters", None))):
        raise TypeError(f"model must be a Decoder, got {type(model).__name__}")
    if not check_real("lr", lr) > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if check_real("weight_decay", weight_decay) < 0:
        raise ValueError(f"weight_decay must be non-negative, got {weight_decay}")
    if not isinstance(sp_lr_rule, bool):
        raise TypeError(f"sp_lr_rule must be a bool, got {type(sp_lr_rule).__name__}")
    d = model.config.d_model
    base = d if base_width is None else check_integer("base_width", base_width, minimum=1)
    if model.config.parametrisation == "mus":
        hidden_lr = lr * math.sqrt(base / d)
    else:
        hidden_lr = lr * base / d if sp_lr_rule else lr
    hidden_ids = {id(p) for p in model.hidden_parameters()}
    hidden = [p for p in model.parameters() if id(p) in hidden_ids]
    norms = [p for n, p in model.named_parameters() if "norm" in n]
    norm_ids = {id(p) for p in norms}
    other = [p for p in model.parameters() if id(p) not in hidden_ids and id(p) not in norm_ids]
    groups = [
        {"params": hidden, "lr": hidden_lr, "weight_decay": weight_decay / hidden_lr, "name": "hidden"},
        {"params": other, "lr": lr, "weight_decay": weight_decay / lr, "name": "embedding+head"},
        {"params": norms, "lr": lr, "weight_decay": 0.0, "name": "norms"},
    ]
    return [g for g in groups if g["params"]]
