"""Diagnostics of pruned models: where pruning hurts, and what it buys on dense kernels."""

from __future__ import annotations

import copy
import statistics
from collections.abc import Iterable

import pandas as pd
import torch
from torch import nn
from torch.nn.utils import prune

from effnotes.pruning.metrics import check_input_shape, effective_parameters
from effnotes.pruning.strategies import prunable_layers
from effnotes.runtime import _as_device
from effnotes.timing import interleaved_times, paired_speedups
from effnotes.training import evaluate
from effnotes.validation import check_integer, check_real


def _check_module(name: str, value) -> nn.Module:
    if not isinstance(value, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(value).__name__}")
    return value


def layer_sensitivity(model: nn.Module, loader, *, amount: float = 0.5, method: str = "random",
                      seed: int = 0, device: torch.device | str = "cpu") -> pd.DataFrame:
    """Accuracy after pruning one prunable layer at a time (the others left dense).

    ``method`` is ``"random"`` or ``"magnitude"``; ``amount`` is the fraction of that layer's
    weights removed. One row per layer: name, weights, accuracy.
    """
    _check_module("model", model)
    if not isinstance(loader, Iterable) or isinstance(loader, (str, bytes)):
        raise TypeError(f"loader must be an iterable of (inputs, targets) batches, got "
                        f"{type(loader).__name__}")
    if method not in ("random", "magnitude"):
        raise ValueError(f"method must be 'random' or 'magnitude', got {method!r}")
    check_real("amount", amount)
    if not 0 < amount < 1:
        raise ValueError(f"amount must be in (0, 1), got {amount}")
    check_integer("seed", seed, minimum=0)
    _as_device("device", device)
    rows = []
    for name, _ in prunable_layers(model):
        trial = copy.deepcopy(model)
        layer = dict(trial.named_modules())[name]
        torch.manual_seed(seed)
        if method == "random":
            prune.random_unstructured(layer, "weight", amount=amount)
        else:
            prune.l1_unstructured(layer, "weight", amount=amount)
        rows.append({"layer": name, "weights": layer.weight.numel(),
                     "accuracy": evaluate(trial, loader, device)["accuracy"]})
    return pd.DataFrame(rows)


def folded_copy(pruned: nn.Module, like: nn.Module) -> nn.Module:
    """A plain copy of ``like`` (same architecture, no pruning reparametrisation) holding the
    weights ``pruned`` computes with: masks folded in, zeros kept, buffers copied.
    ``pruned`` must be (a pruned copy of) a model of ``like``'s architecture."""
    _check_module("pruned", pruned)
    _check_module("like", like)
    return _fold(pruned, like, "like")


def _fold(pruned: nn.Module, like: nn.Module, like_name: str) -> nn.Module:
    state = {name: tensor.detach().clone() for name, tensor in effective_parameters(pruned).items()}
    state.update({name: buffer.detach().clone() for name, buffer in pruned.named_buffers()
                  if not name.endswith("_mask")})
    folded = copy.deepcopy(like)
    try:
        folded.load_state_dict(state)
    except RuntimeError as error:
        detail = next((line.strip() for line in str(error).splitlines()[1:] if line.strip()),
                      str(error))
        raise ValueError(f"pruned does not have {like_name}'s architecture, so its weights "
                         f"cannot be folded into a copy of {like_name}: {detail}") from None
    return folded


def inference_speedup(dense: nn.Module, pruned: nn.Module, input_shape: tuple[int, ...], *,
                      batch: int = 1024, min_run_time: float = 0.5,
                      rounds: int = 5, repeats: int = 5) -> dict[str, float]:
    """Median seconds of one forward pass of a ``batch`` of inputs (on the dense model's
    device) through three models: ``dense``; ``pruned`` as it is (under
    ``torch.nn.utils.prune`` each call recomputes ``weight_orig * mask``); and the pruned
    weights folded into a plain copy (:func:`folded_copy`), which runs exactly the dense
    model's kernels on a weight that is mostly zeros. Returns the times (``*_s``) and the
    speedups of the two pruned versions over the dense one.

    One measurement times the models in ``rounds`` alternating blocks of
    ``min_run_time / rounds`` seconds each, in an order rotated from round to round
    (:func:`effnotes.timing.interleaved_times`), and takes each model's median over its
    blocks and each speedup's median over the rounds' own ratios, so a change in machine
    load hits all three. On a shared virtual CPU a whole
    measurement can still come out skewed (one model slow in every block), so the
    measurement is made ``repeats`` times, each with a freshly allocated input batch and a
    fresh folded copy, and every figure is the median over the repeats.
    """
    _check_module("dense", dense)
    _check_module("pruned", pruned)
    input_shape = check_input_shape(input_shape)
    batch = check_integer("batch", batch, minimum=1)
    rounds = check_integer("rounds", rounds, minimum=1)
    repeats = check_integer("repeats", repeats, minimum=1)
    check_real("min_run_time", min_run_time)
    if not min_run_time > 0:
        raise ValueError(f"min_run_time must be a positive number of seconds, got {min_run_time}")
    first = next(dense.parameters(), None)
    if first is None:
        raise ValueError("dense has no parameters: there is nothing to time")
    device = first.device
    devices = {p.device for p in pruned.parameters()}
    if devices != {device}:
        raise ValueError(f"pruned must be on dense's device {device}, got parameters on "
                         f"{sorted(str(d) for d in devices)}")
    _fold(pruned, dense, "dense")  # the architectures match (a ValueError otherwise)
    _check_forward("dense", dense, input_shape, device)  # pruned has the same architecture
    measured: dict[str, list[float]] = {"dense": [], "pruned": [], "folded": [],
                                        "speedup_pruned": [], "speedup_folded": []}
    for repeat in range(repeats):
        x = torch.randn(batch, *input_shape,
                        generator=torch.Generator().manual_seed(repeat)).to(device)
        models = {"dense": dense, "pruned": pruned, "folded": folded_copy(pruned, like=dense)}
        modes = {label: model.training for label, model in models.items()}
        for model in models.values():
            model.eval()
        try:
            rounds_times = interleaved_times(
                {label: ("with torch.no_grad():\n    model(x)",
                         {"model": model, "x": x, "torch": torch})
                 for label, model in models.items()},
                min_run_time=min_run_time, rounds=rounds)
        finally:
            for label, model in models.items():
                model.train(modes[label])
        times = rounds_times.median()
        speedups = paired_speedups(rounds_times, "dense")
        for label in models:
            measured[label].append(float(times[label]))
        measured["speedup_pruned"].append(float(speedups["pruned"]))
        measured["speedup_folded"].append(float(speedups["folded"]))
    middle = {key: float(statistics.median(values)) for key, values in measured.items()}
    return {"dense_s": middle["dense"], "pruned_s": middle["pruned"],
            "folded_s": middle["folded"], "speedup_pruned": middle["speedup_pruned"],
            "speedup_folded": middle["speedup_folded"], "repeats": repeats}


def _check_forward(name: str, model: nn.Module, input_shape: tuple[int, ...], device) -> None:
    """One forward pass of a single zero input in eval mode without gradients (the model's
    mode is restored, its buffers untouched); a ``ValueError`` naming ``input_shape`` if the
    model cannot take it."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape, device=device))
    except RuntimeError as error:
        first_line = next((line for line in str(error).splitlines() if line.strip()), "")
        raise ValueError(f"input_shape {input_shape} does not fit {name}: {first_line}") from None
    finally:
        model.train(was_training)
