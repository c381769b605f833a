"""torchao's float8 training (dynamic scales) on this package's decoder, as a baseline.

torchao (the optional ``[gpu]`` extra) swaps ``torch.nn.Linear`` modules for its
``Float8Linear``, which measures each operand's amax at run time and scales it into the FP8
range: per tensor (recipe ``"tensorwise"``) or per row (``"rowwise"``). The decoder's hidden
layers are :class:`.modules.Linear` (``alpha * x @ W.T``), not ``nn.Linear``, so
:func:`convert_decoder` first replaces each one by a :class:`ScaledNNLinear`, an
``nn.Linear`` holding the same weight followed by the same multiplier ``alpha``, and then
lets torchao convert those. The embedding, the readout and the attention core stay as they
are, as in the effnotes FP8 arm.
"""

from __future__ import annotations

import importlib.util

import torch
from torch import nn

from effnotes.unit_scaling.modules import Linear

RECIPES = ("tensorwise", "rowwise")


def torchao_unavailable_reason() -> str | None:
    """Why torchao's float8 training cannot be used here (``None`` when it can)."""
    if importlib.util.find_spec("torchao") is None:
        return "torchao is not installed (pip install 'effnotes[gpu]')"
    try:
        from torchao.float8 import Float8LinearConfig, convert_to_float8_training  # noqa: F401
    except ImportError as error:  # pragma: no cover - depends on the installation
        return f"torchao.float8 cannot be imported: {error}"
    return None


class ScaledNNLinear(nn.Module):
    """``alpha * linear(x)`` with ``linear`` a bias-free ``nn.Linear`` (so that torchao can
    swap it); ``(..., in_features) -> (..., out_features)``. ``alpha == 1`` skips the
    multiply."""

    def __init__(self, in_features: int, out_features: int, alpha: float) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=False)
        self.alpha = float(alpha)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear(x)
        return out if self.alpha == 1.0 else out * self.alpha


def to_nn_linear(model: nn.Module) -> int:
    """Replace every :class:`.modules.Linear` of ``model`` (in place) by a
    :class:`ScaledNNLinear` with the same weight tensor and multiplier; returns how many.
    Only full-precision layers (``precision="fp32"``) can be replaced."""
    targets = [(name, module) for name, module in model.named_modules()
               if isinstance(module, Linear)]
    for name, module in targets:
        if module.precision != "fp32":
            raise ValueError(f"{name} has precision {module.precision!r}; torchao's float8 "
                             "replaces full-precision layers (build the model with 'fp32')")
    for name, module in targets:
        out_f, in_f = module.weight.shape
        with torch.device(module.weight.device):
            new = ScaledNNLinear(in_f, out_f, module.alpha)
        new.linear.weight = module.weight
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, new)
    return len(targets)


def apply_torchao_compile_settings() -> None:
    """Make torchao's process-wide change to the compiler now, before anything is compiled.

    ``convert_to_float8_training`` (torchao 0.18) patches inductor's Triton code for
    minimum/maximum to a ``tl.where`` form, working around a Triton miscompile of FP8
    stores next to NaN-propagating min/max; the change stays for the whole process. Calling
    this first (it converts a throwaway one-layer model) lets every arm of a benchmark
    compile under the same code generation, whichever arm runs first."""
    reason = torchao_unavailable_reason()
    if reason is not None:
        raise RuntimeError(f"torchao float8 arm unavailable: {reason}")
    from torchao.float8 import convert_to_float8_training

    convert_to_float8_training(nn.Sequential(nn.Linear(16, 16, bias=False)))


def convert_decoder(model: nn.Module, recipe: str) -> nn.Module:
    """``model`` with its hidden linear layers in torchao's float8 training with the
    ``recipe``'s dynamic scales ("tensorwise" or "rowwise"); changes ``model`` in place and
    returns it. Raises ``RuntimeError`` naming the reason when torchao is unavailable."""
    if recipe not in RECIPES:
        raise ValueError(f"unknown torchao float8 recipe {recipe!r}; choose one of {RECIPES}")
    reason = torchao_unavailable_reason()
    if reason is not None:
        raise RuntimeError(f"torchao float8 arm unavailable: {reason}")
    from torchao.float8 import Float8LinearConfig, convert_to_float8_training

    to_nn_linear(model)
    convert_to_float8_training(model, config=Float8LinearConfig.from_recipe_name(recipe),
                               module_filter_fn=lambda module, fqn: fqn.endswith(".linear"))
    return model


__all__ = ["RECIPES", "ScaledNNLinear", "apply_torchao_compile_settings", "convert_decoder",
           "to_nn_linear",
           "torchao_unavailable_reason"]
