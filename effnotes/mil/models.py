"""Instance models for multiple instance learning on beats, and an attention-pooling model.

:class:`InstanceMIL` is the paper's recipe: a small network scores single instances, every
instance inherits its patient's label, each batch is rebalanced to half positive-patient and
half negative-patient instances, and patient scores are instance probabilities pooled
afterwards (:mod:`effnotes.mil.pooling`). Two architectures: ``"dense"``, the paper's tiny
model (a dense layer of a few ReLU units then a sigmoid, L2 penalty), and ``"cnn"``, a small
1-D CNN. :class:`AttentionMIL` learns the pooling instead (gated attention over instance
embeddings), trained on whole bags.

Bags are finite float arrays ``(n_patients, n_instances, length)`` (mV); labels
``(n_patients,)`` 0/1. Any float dtype is accepted (NumPy's default float64 too): the models
compute in float32, and bags are converted to it on purpose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from effnotes.mil.pooling import pool

ARCHITECTURES = ("dense", "cnn")


def check_bags(bags: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """``bags`` as float32, after a clear error unless it is ``(n_patients, n_instances,
    length)`` of finite floats with at least one instance of at least one sample per bag, and
    ``labels`` (if given) 0/1 per patient with both classes present."""
    if not isinstance(bags, np.ndarray) or bags.ndim != 3:
        raise ValueError("bags must be a 3-D array (n_patients, n_instances, length), got "
                         f"{getattr(bags, 'shape', type(bags).__name__)}")
    if not np.issubdtype(bags.dtype, np.floating):
        raise TypeError(f"bags must hold floats, got dtype {bags.dtype}")
    if 0 in bags.shape:
        raise ValueError(f"bags must have at least one patient, beat and sample: bags have "
                         f"shape {bags.shape}")
    if not np.isfinite(bags).all():
        raise ValueError(f"bags must be finite: {int((~np.isfinite(bags)).sum())} of "
                         f"{bags.size} values are NaN or infinite")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (bags.shape[0],):
            raise ValueError(f"labels must have shape ({bags.shape[0]},), got {labels.shape}")
        if not np.isin(labels, (0, 1)).all():
            raise ValueError("labels must be 0 or 1")
        if len(np.unique(labels)) < 2:
            raise ValueError("labels must hold patients of both classes to train on")
    return bags.astype(np.float32, copy=False)


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _check_real(name: str, value, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be a finite number {'>' if positive else '>='} 0, "
                         f"got {value}")
    return float(value)


def instance_network(arch: str, length: int, hidden: int = 3, channels: int = 8) -> nn.Module:
    """The instance scorer: ``(batch, length) -> (batch,)`` logits."""
    if arch == "dense":
        return nn.Sequential(nn.Linear(length, hidden), nn.ReLU(), nn.Linear(hidden, 1),
                             nn.Flatten(0))
    if arch == "cnn":
        return nn.Sequential(_conv_features(length, channels, embed=4 * hidden), nn.ReLU(),
                             nn.Linear(4 * hidden, 1), nn.Flatten(0))
    raise ValueError(f"unknown architecture {arch!r}; choose one of {ARCHITECTURES}")


def _conv_features(length: int, channels: int, embed: int) -> nn.Module:
    """Two strided convolutions, then a dense layer over the flattened feature map (so the
    position of a feature within the beat still counts): ``(batch, length) -> (batch, embed)``."""
    return nn.Sequential(nn.Unflatten(1, (1, length)),
                         nn.Conv1d(1, channels, 9, stride=2, padding=4), nn.ReLU(),
                         nn.Conv1d(channels, channels, 9, stride=2, padding=4), nn.ReLU(),
                         nn.Flatten(1), nn.Linear(channels * ((length + 3) // 4), embed))


@dataclass(frozen=True)
class TrainConfig:
    """Training: ``epochs`` passes over the training instances in rebalanced batches of
    ``batch_size``, Adam at ``lr`` with L2 penalty ``weight_decay``. Frozen: its fields are
    checked once, here (use :func:`dataclasses.replace` for a variant)."""

    epochs: int = 5
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 1e-3
    hidden: int = 3
    channels: int = 8

    def __post_init__(self) -> None:
        _check_int("epochs", self.epochs, 1)
        _check_int("batch_size", self.batch_size, 2)  # half positive, half negative
        _check_int("hidden", self.hidden, 1)
        _check_int("channels", self.channels, 1)
        _check_real("lr", self.lr, positive=True)
        _check_real("weight_decay", self.weight_decay, positive=False)


class _Standardiser:
    def fit(self, x: np.ndarray) -> "_Standardiser":
        flat = x.reshape(-1, x.shape[-1])
        self.mean_ = flat.mean(0).astype(np.float32)
        self.std_ = (flat.std(0) + 1e-6).astype(np.float32)
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean_) / self.std_


def _train_balanced(network: nn.Module, x: torch.Tensor, y: torch.Tensor, config: "TrainConfig",
                    *, half: int, steps: int, generator: torch.Generator,
                    logits=lambda out: out) -> list[float]:
    """Adam on ``BCEWithLogitsLoss`` for ``config.epochs`` epochs of ``steps`` rebalanced
    batches: ``half`` rows drawn (with replacement, from ``generator``) among the positives of
    ``y`` and ``half`` among the negatives. ``x`` holds one row per labelled item (instances or
    bags) and ``logits`` picks the logits from the network's output. Returns the mean loss per
    epoch."""
    positive = torch.nonzero(y == 1).flatten().cpu()
    negative = torch.nonzero(y == 0).flatten().cpu()
    optimiser = torch.optim.Adam(network.parameters(), lr=config.lr,
                                 weight_decay=config.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    losses = []
    network.train()
    for _ in range(config.epochs):
        total = 0.0
        for _ in range(steps):
            idx = torch.cat([positive[torch.randint(len(positive), (half,), generator=generator)],
                             negative[torch.randint(len(negative), (half,), generator=generator)]])
            idx = idx.to(x.device)
            loss = loss_fn(logits(network(x[idx])), y[idx])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += loss.item()
        losses.append(total / steps)
        if not math.isfinite(losses[-1]):
            raise FloatingPointError(f"the training loss became {losses[-1]} (epoch "
                                     f"{len(losses)}): lower lr (now {config.lr:g})")
    return losses


class InstanceMIL:
    """Instance-label MIL (the paper's training): ``InstanceMIL("dense").fit(bags, labels)``,
    then ``instance_scores(bags)`` (probabilities ``(n_patients, n_instances)``) and
    ``patient_scores(bags, pooling)`` (``(n_patients,)``)."""

    def __init__(self, arch: str = "dense", config: TrainConfig | None = None, seed: int = 0,
                 device: str | torch.device = "cpu") -> None:
        if arch not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {arch!r}; choose one of {ARCHITECTURES}")
        if config is not None and not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
        self.arch, self.config, self.seed = arch, config or TrainConfig(), _check_int("seed", seed, 0)
        self.device = torch.device(device)

    def fit(self, bags: np.ndarray, labels: np.ndarray) -> "InstanceMIL":
        bags = check_bags(bags, labels)
        cfg = self.config
        torch.manual_seed(self.seed)
        generator = torch.Generator(device="cpu").manual_seed(self.seed)
        scaler = _Standardiser().fit(bags)
        x = torch.as_tensor(scaler(bags).reshape(-1, bags.shape[-1]), device=self.device)
        y = torch.as_tensor(np.repeat(np.asarray(labels), bags.shape[1]), dtype=torch.float32,
                            device=self.device)
        network = instance_network(self.arch, bags.shape[-1], cfg.hidden,
                                   cfg.channels).to(self.device)
        # rebalanced: half positive-patient, half negative-patient instances per batch
        losses = _train_balanced(network, x, y, cfg, half=cfg.batch_size // 2,
                                 steps=max(1, len(y) // cfg.batch_size), generator=generator)
        self.scaler_, self.network_, self.losses_ = scaler, network, losses  # only on success
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise RuntimeError("this InstanceMIL is not fitted yet; call fit(bags, labels) first")

    @torch.no_grad()
    def instance_scores(self, bags: np.ndarray, batch: int = 65536) -> np.ndarray:
        """Instance probabilities, ``(n_patients, n_instances)``."""
        self._check_fitted()
        _check_int("batch", batch, 1)
        bags = check_bags(bags)
        if bags.shape[-1] != self.scaler_.mean_.shape[0]:
            raise ValueError(f"bags have instances of {bags.shape[-1]} samples; the model was "
                             f"fitted on {self.scaler_.mean_.shape[0]}")
        self.network_.eval()
        flat = bags.reshape(-1, bags.shape[-1])
        out = []
        for start in range(0, len(flat), batch):
            x = torch.as_tensor(self.scaler_(flat[start:start + batch]), device=self.device)
            out.append(torch.sigmoid(self.network_(x)).cpu().numpy())
        return np.concatenate(out).reshape(bags.shape[:2])

    def patient_scores(self, bags: np.ndarray, pooling: str = "top20") -> np.ndarray:
        """Pooled instance probabilities, ``(n_patients,)``."""
        return pool(self.instance_scores(bags), pooling)


class _GatedAttention(nn.Module):
    def __init__(self, length: int, channels: int, attention: int = 16) -> None:
        super().__init__()
        self.embed = nn.Sequential(_conv_features(length, channels, embed=attention), nn.ReLU())
        self.v = nn.Linear(attention, attention)
        self.u = nn.Linear(attention, attention)
        self.w = nn.Linear(attention, 1)
        self.head = nn.Linear(attention, 1)

    def forward(self, bags: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, n, length = bags.shape
        h = self.embed(bags.reshape(b * n, length)).reshape(b, n, -1)
        a = self.w(torch.tanh(self.v(h)) * torch.sigmoid(self.u(h))).squeeze(-1)
        weights = torch.softmax(a, dim=1)
        return self.head((weights.unsqueeze(-1) * h).sum(1)).squeeze(-1), weights


class AttentionMIL:
    """Attention pooling (an extension; not in the paper): instance embeddings from the small
    CNN, gated attention weights, a linear head on the weighted mean; trained on whole bags in
    rebalanced batches of ``bags_per_batch`` (half positive)."""

    def __init__(self, config: TrainConfig | None = None, bags_per_batch: int = 16,
                 seed: int = 0, device: str | torch.device = "cpu") -> None:
        if config is not None and not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
        self.config = config or TrainConfig()
        self.bags_per_batch = _check_int("bags_per_batch", bags_per_batch, 2)
        self.seed = _check_int("seed", seed, 0)
        self.device = torch.device(device)

    def fit(self, bags: np.ndarray, labels: np.ndarray) -> "AttentionMIL":
        bags = check_bags(bags, labels)
        cfg = self.config
        torch.manual_seed(self.seed)
        generator = torch.Generator(device="cpu").manual_seed(self.seed)
        scaler = _Standardiser().fit(bags)
        x = torch.as_tensor(scaler(bags), device=self.device)
        y = torch.as_tensor(np.asarray(labels), dtype=torch.float32, device=self.device)
        network = _GatedAttention(bags.shape[-1], cfg.channels).to(self.device)
        losses = _train_balanced(network, x, y, cfg, half=self.bags_per_batch // 2,
                                 steps=max(1, len(y) // self.bags_per_batch),
                                 generator=generator, logits=lambda out: out[0])
        self.scaler_, self.network_, self.losses_ = scaler, network, losses  # only on success
        return self

    @torch.no_grad()
    def patient_scores(self, bags: np.ndarray, batch: int = 64) -> np.ndarray:
        """Bag probabilities, ``(n_patients,)``."""
        if not hasattr(self, "network_"):
            raise RuntimeError("this AttentionMIL is not fitted yet; call fit(bags, labels) first")
        _check_int("batch", batch, 1)
        bags = check_bags(bags)
        if bags.shape[-1] != self.scaler_.mean_.shape[0]:
            raise ValueError(f"bags have instances of {bags.shape[-1]} samples; the model was "
                             f"fitted on {self.scaler_.mean_.shape[0]}")
        self.network_.eval()
        out = []
        for start in range(0, len(bags), batch):
            x = torch.as_tensor(self.scaler_(bags[start:start + batch]), device=self.device)
            out.append(torch.sigmoid(self.network_(x)[0]).cpu().numpy())
        return np.concatenate(out)
