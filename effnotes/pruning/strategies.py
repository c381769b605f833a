"""Pruning strategies, built on :mod:`torch.nn.utils.prune`.

A strategy scores every weight of the *prunable* layers (each ``Conv2d`` and ``Linear`` but
the classifier) and keeps the highest-scoring fraction:

- ``global_magnitude`` / ``layer_magnitude``: score ``|w|``, one threshold over all prunable
  layers, or the same keep fraction in every layer;
- ``global_gradient`` / ``layer_gradient``: score ``|w * dL/dw|`` on one batch;
- ``random``: a random subset of the same size in every layer.

The keep fraction follows from a target *compression ratio* ``|θ| / |θ ≠ 0|`` over the whole
model: with ``N`` parameters in all, ``P`` of them prunable, ``f = (N / c - (N - P)) / P``.
Pruning is ``torch.nn.utils.prune``'s reparametrisation: each pruned layer computes with
``weight = weight_orig * weight_mask`` (the mask a buffer), so pruned weights stay zero and
get no gradient while the model is fine-tuned.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import prune

STRATEGIES = ("global_magnitude", "layer_magnitude", "global_gradient", "layer_gradient", "random")


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The ``(name, module)`` pairs of every ``Conv2d`` and ``Linear`` except the last one in
    module order, which is taken to be the classifier and never pruned."""
    layers = [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if len(layers) < 2:
        raise ValueError("the model has nothing to prune: it needs at least one Conv2d or Linear "
                         "layer besides its classifier")
    return layers[:-1]


def _weight(module: nn.Module) -> torch.Tensor:
    """The weight a layer computes with (``weight_orig * mask`` once pruned)."""
    return module.weight


def keep_fraction(model: nn.Module, compression: float) -> float:
    """The fraction of prunable weights to keep so that the whole model reaches
    ``compression`` = total parameters / nonzero parameters (counted as if dense)."""
    if not compression >= 1:
        raise ValueError(f"compression must be >= 1 (|θ| / |θ≠0|), got {compression}")
    total = sum(p.numel() for p in model.parameters())
    prunable = sum(_weight(m).numel() for _, m in prunable_layers(model))
    fraction = (total / compression - (total - prunable)) / prunable
    if fraction <= 0:
        raise ValueError(f"compression {compression} is out of reach: even with every prunable weight "
                         f"removed the model keeps {total - prunable} of {total} parameters "
                         f"(at most {total / (total - prunable):.1f}x)")
    return min(1.0, fraction)


def _scores(module: nn.Module, strategy: str) -> torch.Tensor:
    weight = _weight(module).detach()
    if strategy.endswith("magnitude"):
        return weight.abs()
    grad = module.weight_orig.grad if hasattr(module, "weight_orig") else module.weight.grad
    if grad is None:
        raise RuntimeError("gradient strategies need gradients: pass a batch to prune_model")
    return (weight * grad).abs()


def _compute_gradients(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    inputs, targets = batch
    was_training = model.training
    model.eval()  # batch-norm statistics stay as they are
    model.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(inputs), targets).backward()
    model.train(was_training)


@dataclass(frozen=True)
class PruningOutcome:
    """What :func:`prune_model` did: the strategy, the target compression, the keep fraction
    of the prunable weights, and how many prunable weights were kept of how many."""

    strategy: str
    compression: float
    keep_fraction: float
    kept: int
    prunable: int


def prune_model(model: nn.Module, strategy: str, compression: float, *,
                batch: tuple[torch.Tensor, torch.Tensor] | None = None,
                seed: int = 0) -> PruningOutcome:
    """Prune ``model`` in place to ``compression`` with ``strategy`` (one of :data:`STRATEGIES`).

    ``batch`` = ``(inputs, targets)`` is needed by the gradient strategies; ``seed`` seeds the
    random strategy. Pruning an already pruned model multiplies the new mask into the old one.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown pruning strategy {strategy!r}; choose one of {STRATEGIES}")
    if strategy.endswith("gradient") and batch is None:
        raise ValueError(f"strategy {strategy!r} scores weights by |w * dL/dw| and needs a batch")
    layers = [m for _, m in prunable_layers(model)]
    fraction = keep_fraction(model, compression)
    sizes = [_weight(m).numel() for m in layers]
    prunable = sum(sizes)
    if fraction >= 1.0:
        return PruningOutcome(strategy, compression, 1.0, prunable, prunable)
    if strategy.endswith("gradient"):
        _compute_gradients(model, batch)
    if strategy.startswith("global"):
        to_remove = prunable - int(round(fraction * prunable))
        prune.global_unstructured(
            [(m, "weight") for m in layers], pruning_method=prune.L1Unstructured, amount=to_remove,
            importance_scores={(m, "weight"): _scores(m, strategy) for m in layers})
    else:
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        for module, size in zip(layers, sizes):
            amount = size - int(round(fraction * size))
            if strategy == "random":
                prune.random_unstructured(module, "weight", amount=amount)
            else:
                prune.l1_unstructured(module, "weight", amount=amount,
                                      importance_scores=_scores(module, strategy))
        torch.random.set_rng_state(generator_state)
    model.zero_grad(set_to_none=True)
    kept = sum(int(torch.count_nonzero(m.weight_mask)) for m in layers)
    return PruningOutcome(strategy, compression, fraction, kept, prunable)


def masks(model: nn.Module) -> dict[str, torch.Tensor]:
    """The pruning masks of a pruned model, by layer name (a copy)."""
    return {name: m.weight_mask.detach().clone() for name, m in model.named_modules()
            if hasattr(m, "weight_mask")}


def make_permanent(model: nn.Module) -> nn.Module:
    """Fold every mask into its weight (``weight = weight_orig * mask``) and drop the
    reparametrisation; the zeros stay, but they are no longer protected from updates."""
    for _, module in model.named_modules():
        if prune.is_pruned(module) and hasattr(module, "weight_mask"):
            prune.remove(module, "weight")
    return model
