"""Size and cost of a (pruned) model: parameters, compression ratio, multiply-adds and the
theoretical speedup of sparsity.

Counts use the weights a model computes with, so a layer pruned by ``torch.nn.utils.prune``
is counted through its masked ``weight``, not its dense ``weight_orig``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


def effective_parameters(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter as the model uses it: ``name -> tensor``, with ``X_orig`` of a pruned
    module replaced by the masked ``X``."""
    found: dict[str, torch.Tensor] = {}
    for module_name, module in model.named_modules():
        for name, param in module.named_parameters(recurse=False):
            if name.endswith("_orig"):
                name = name[: -len("_orig")]
                param = getattr(module, name)
            found[f"{module_name}.{name}" if module_name else name] = param
    return found


@dataclass(frozen=True)
class SizeReport:
    """Parameters (all, nonzero), multiply-adds of one forward pass for one sample (dense,
    counting only nonzero weights) and the ratios between them."""

    params: int
    params_nonzero: int
    macs: int
    macs_nonzero: int

    @property
    def compression(self) -> float:
        """``|θ| / |θ ≠ 0|`` over all parameters."""
        return self.params / self.params_nonzero

    @property
    def theoretical_speedup(self) -> float:
        """Dense multiply-adds / multiply-adds with nonzero weights (Conv2d and Linear)."""
        return self.macs / self.macs_nonzero

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "compression": self.compression,
                "theoretical_speedup": self.theoretical_speedup}


def check_input_shape(input_shape) -> tuple[int, ...]:
    """``input_shape`` as a tuple, if it is a non-empty tuple or list of positive ints (one
    sample's shape, no batch axis); a ``ValueError`` naming it otherwise."""
    if not (isinstance(input_shape, (tuple, list)) and input_shape
            and all(isinstance(n, int) and not isinstance(n, bool) and n > 0
                    for n in input_shape)):
        raise ValueError(f"input_shape must be a non-empty tuple of positive ints (one "
                         f"sample, no batch axis), got {input_shape!r}")
    return tuple(input_shape)


def multiply_adds(model: nn.Module, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """Multiply-adds of one forward pass of a single sample of ``input_shape`` (without the
    batch axis), dense and scaled per layer by the density of its weight; Conv2d and Linear
    layers only (the others are cheap by comparison)."""
    check_input_shape(input_shape)
    dense = nonzero = 0
    hooks = []

    def count(module: nn.Module, inputs, output) -> None:
        nonlocal dense, nonzero
        weight = module.weight
        if isinstance(module, nn.Conv2d):
            per_output = weight[0].numel()  # (in_channels / groups) * kh * kw
            macs = output.shape[1] * output.shape[2] * output.shape[3] * per_output
        else:
            macs = output[..., 0].numel() * weight.numel()
        density = float(torch.count_nonzero(weight)) / weight.numel()
        dense += int(macs)
        nonzero += macs * density

    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            hooks.append(module.register_forward_hook(count))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            first = next(model.parameters(), None)
            device = first.device if first is not None else torch.device("cpu")
            try:
                model(torch.zeros(1, *input_shape, device=device))
            except RuntimeError as error:
                raise ValueError(f"input_shape {tuple(input_shape)} does not fit the model: "
                                 f"{_first_line(error)}") from None
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    if dense == 0:
        raise ValueError("the model has no Conv2d or Linear layer to count")
    return dense, int(round(nonzero))


def _first_line(error: BaseException) -> str:
    return next((line for line in str(error).splitlines() if line.strip()), "")


def size_report(model: nn.Module, input_shape: tuple[int, ...]) -> SizeReport:
    """Parameters and multiply-adds of ``model`` for inputs of ``input_shape`` (no batch axis)."""
    params = effective_parameters(model).values()
    total = sum(p.numel() for p in params)
    nonzero = sum(int(torch.count_nonzero(p)) for p in params)
    macs, macs_nonzero = multiply_adds(model, input_shape)
    return SizeReport(params=total, params_nonzero=nonzero, macs=macs, macs_nonzero=macs_nonzero)
