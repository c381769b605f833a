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

Pruning an already pruned model prunes further, to the new target compression of the whole
model (which must not be below the one it has); a weight that is exactly zero counts as pruned
already, so a model whose masks were folded into its weights (:func:`make_permanent`) is
pruned from where it stands. A target that would leave a layer without any
weight is refused for the per-layer strategies (every layer keeps the same fraction, so that
fraction is too small) and warned about, naming the layers, for the global ones (where a
layer can lose all its weights to the global ranking, and that is a finding); a target that
would leave no prunable weight at all is refused for every strategy, the message naming the
largest compression that keeps one and the model's maximum.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import prune

from effnotes.validation import check_integer

#: The strategies :func:`prune_model` accepts: magnitude or gradient scores ranked over the
#: whole model or per layer, and random pruning as the control.
STRATEGIES = ("global_magnitude", "layer_magnitude", "global_gradient", "layer_gradient", "random")


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The ``(name, module)`` pairs of every ``Conv2d`` and ``Linear`` except the last one in
    module order, which is taken to be the classifier and never pruned."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
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
    if isinstance(compression, bool) or not isinstance(compression, numbers.Real):
        raise TypeError(f"compression must be a number, got {type(compression).__name__}")
    compression = float(compression)
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
    try:
        model.zero_grad(set_to_none=True)
        logits = model(inputs)
        classes = logits.shape[-1] if logits.ndim == 2 else None
        if classes is None or int(targets.max()) >= classes:
            raise ValueError(f"batch targets must be class indices below the model's "
                             f"{classes} outputs, got a largest target of {int(targets.max())}"
                             f" for logits of shape {tuple(logits.shape)}")
        nn.functional.cross_entropy(logits, targets).backward()
    finally:
        model.train(was_training)


def _check_batch(batch) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2
            and all(isinstance(t, torch.Tensor) for t in batch)):
        raise TypeError("batch must be a pair (inputs, targets) of tensors, got "
                        f"{type(batch).__name__}")
    inputs, targets = batch
    if inputs.shape[:1] != targets.shape[:1] or inputs.shape[0] == 0:
        raise ValueError(f"batch must hold the same nonzero number of inputs and targets, got "
                         f"{tuple(inputs.shape)} and {tuple(targets.shape)}")
    if inputs.is_floating_point() and not torch.isfinite(inputs).all():
        raise ValueError("batch inputs must be finite: they hold NaN or infinite values")
    if targets.ndim != 1 or targets.is_floating_point() or targets.is_complex() \
            or targets.dtype == torch.bool:
        raise TypeError(f"batch targets must be a 1-D tensor of integer class indices, got "
                        f"{targets.dtype} of shape {tuple(targets.shape)}")
    if int(targets.min()) < 0:
        raise ValueError(f"batch targets must be class indices >= 0, got {int(targets.min())}")
    return inputs, targets


class LayerEmptiedWarning(UserWarning):
    """A global pruning strategy removed every weight of a layer."""


@dataclass(frozen=True)
class PruningOutcome:
    """What :func:`prune_model` did: the strategy, the target compression, the keep fraction
    of the prunable weights, how many prunable weights were kept (nonzero after masking) of
    how many, and the compression of the whole model actually reached (``|θ| / |θ≠0|`` counted
    through the masked weights, the non-prunable parameters as dense)."""

    strategy: str
    compression: float
    keep_fraction: float
    kept: int
    prunable: int
    compression_reached: float = float("nan")


def _current_mask(module: nn.Module) -> torch.Tensor:
    """What the layer keeps now: its mask (all ones if it has none) without the weights that
    are exactly zero, so that a model pruned before and made permanent (its zeros folded into
    the weights, the masks dropped) counts as pruned as it is."""
    mask = getattr(module, "weight_mask", None)
    mask = torch.ones_like(module.weight) if mask is None else mask.detach().clone()
    return mask * (module.weight.detach() != 0).to(mask.dtype)


def _new_mask(method: prune.BasePruningMethod, scores: torch.Tensor,
              current: torch.Tensor) -> torch.Tensor:
    """The mask ``torch.nn.utils.prune`` computes for ``method`` on top of ``current``: the
    amount counts among the weights still kept."""
    container = prune.PruningContainer()
    container._tensor_name = method._tensor_name = "weight"
    container.add_pruning_method(method)
    return container.compute_mask(scores, current)


def prune_model(model: nn.Module, strategy: str, compression: float, *,
                batch: tuple[torch.Tensor, torch.Tensor] | None = None,
                seed: int = 0) -> PruningOutcome:
    """Prune ``model`` in place to ``compression`` with ``strategy`` (one of :data:`STRATEGIES`).

    ``batch`` = ``(inputs, targets)`` is needed by the gradient strategies; ``seed`` seeds the
    random strategy. An already pruned model is pruned further to ``compression`` (it must
    not be below the model's current one). Nothing changes when an error is raised.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown pruning strategy {strategy!r}; choose one of {STRATEGIES}")
    if strategy.endswith("gradient") and batch is None:
        raise ValueError(f"strategy {strategy!r} scores weights by |w * dL/dw| and needs a batch")
    if batch is not None:
        batch = _check_batch(batch)
    seed = check_integer("seed", seed, 0)
    named = prunable_layers(model)
    layers = [m for _, m in named]
    fraction = keep_fraction(model, compression)
    sizes = [_weight(m).numel() for m in layers]
    prunable = sum(sizes)
    total = sum(p.numel() for p in model.parameters())
    current = [_current_mask(m) for m in layers]
    kept_now = [int(c.sum()) for c in current]

    def outcome(kept: int) -> PruningOutcome:
        return PruningOutcome(strategy, float(compression), fraction, kept, prunable,
                              total / (total - prunable + kept))

    target = int(round(fraction * prunable))
    if sum(kept_now) < target - len(layers):  # beyond the rounding of one weight per layer
        raise ValueError(f"compression {compression} is below the model's current "
                         f"{outcome(sum(kept_now)).compression_reached:.3g}: pruning cannot "
                         "restore weights")
    if fraction >= 1.0:
        return outcome(sum(kept_now))
    most = total / (total - prunable)  # every prunable weight removed
    if strategy.startswith("global") and target == 0:
        raise ValueError(f"compression {compression} removes every prunable weight (it keeps "
                         f"{fraction * prunable:.3g} of {prunable}, rounded to 0): {strategy} "
                         f"keeps at least one below {total / (total - prunable + 0.5):.6g}; "
                         f"this model's maximum, with no prunable weight left, is {most:.6g}")
    scores = []
    if strategy.endswith("gradient"):
        try:
            _compute_gradients(model, batch)
            scores = [_scores(m, strategy) for m in layers]
        finally:
            model.zero_grad(set_to_none=True)
        for name, score in zip((n for n, _ in named), scores):
            if not torch.isfinite(score).all():
                raise ValueError(f"the gradients on batch are not finite in layer {name!r} "
                                 "(NaN or infinite weights or inputs): |w * dL/dw| cannot "
                                 "rank its weights")
    elif strategy != "random":
        scores = [_scores(m, strategy) for m in layers]
    if strategy.startswith("global"):
        flat = torch.cat([s.flatten() for s in scores])
        new = _new_mask(prune.L1Unstructured(amount=max(0, sum(kept_now) - target)), flat,
                        torch.cat([c.flatten() for c in current]))
        new_masks = list(torch.split(new, sizes))
        new_masks = [m.view_as(c) for m, c in zip(new_masks, current)]
        emptied = [name for (name, _), m in zip(named, new_masks) if not m.any()]
        if emptied:
            warnings.warn(f"compression {compression} with {strategy} removes every weight of "
                          f"layer(s) {emptied} (this model's maximum compression is "
                          f"{most:.6g})", LayerEmptiedWarning, stacklevel=2)
    else:
        amounts = [k - int(round(fraction * size)) for k, size in zip(kept_now, sizes)]
        # a layer keeps round(fraction * size) weights: at least one while fraction * size > 1/2
        limit = total / (total - prunable + 0.5 * prunable / min(sizes))
        for (name, _), size, amount, k in zip(named, sizes, amounts, kept_now):
            if int(round(fraction * size)) == 0:
                raise ValueError(f"compression {compression} leaves layer {name!r} no weights: "
                                 f"{strategy} keeps a fraction {fraction:.3g} of each layer's "
                                 f"{size} weights; it keeps a weight in every layer only below "
                                 f"{limit:.6g} (this model's maximum, with no prunable weight "
                                 f"left, is {most:.6g})")
            if amount < 0:
                raise ValueError(f"compression {compression} is below layer {name!r}'s "
                                 f"current one ({k} of {size} weights kept): pruning cannot "
                                 "restore weights")
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        try:
            new_masks = []
            for index, (module, amount) in enumerate(zip(layers, amounts)):
                if strategy == "random":
                    method = prune.RandomUnstructured(amount=amount)
                    layer_scores = _weight(module).detach()
                else:
                    method = prune.L1Unstructured(amount=amount)
                    layer_scores = scores[index]
                new_masks.append(_new_mask(method, layer_scores, current[index]))
        finally:
            torch.random.set_rng_state(generator_state)
    for module, mask in zip(layers, new_masks):
        prune.custom_from_mask(module, "weight", mask)
    model.zero_grad(set_to_none=True)
    return outcome(sum(int(torch.count_nonzero(m.weight)) for m in layers))


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
