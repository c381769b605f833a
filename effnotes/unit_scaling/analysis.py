"""Scale analysis as API: per-op forward and backward tensor RMS, and how much of each
tensor an FP8 format would flush to zero (underflow) or clip (saturation).

:func:`track_scales` runs one forward and backward pass of a :class:`~.model.Decoder`
with hooks on every op module and returns a tidy DataFrame, one row per (op, tensor):

======================  =============================================================
``op``                  the module's name in the model (``blocks.3.up``)
``op_type``             ``Linear``, ``Gelu``, ``Attention``, ``LayerNorm``, ...
``layer``               the block index (-1 outside the blocks)
``tensor``              ``input`` / ``output`` (forward), ``grad_input`` /
                        ``grad_output`` (backward)
``direction``           ``forward`` or ``backward``
``rms``                 root mean square of the tensor
``format``              the FP8 format it is judged in (E4M3 forward, E5M2 backward)
``underflow``           fraction of its non-zero entries that round to zero
``saturation``          fraction of its entries beyond the format's largest value
======================  =============================================================

For a hidden linear layer, ``input`` is what an FP8 forward GEMM would cast to E4M3 and
``grad_output`` what the backward GEMMs would cast to E5M2. :func:`plot_scales` draws one
row per op, like Graphcore's ``unit_scaling.analysis.plot``.
"""

from __future__ import annotations

import functools
import re
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from torch import nn

from effnotes.unit_scaling.formats import get_format, saturation_fraction, underflow_fraction
from effnotes.unit_scaling.model import Decoder, DecoderConfig
from effnotes.unit_scaling.modules import Attention, Embedding, Gelu, Linear, Readout, ResidualAdd

TRACKED = (Linear, Gelu, Attention, Embedding, Readout, ResidualAdd, nn.LayerNorm)
_LAYER = re.compile(r"blocks\.(\d+)\.")


def _rows(name, module, role, direction, tensors, fmt):
    rows = []
    for index, t in enumerate(tensors):
        if t is None or not isinstance(t, torch.Tensor) or not t.is_floating_point():
            continue
        t = t.detach().float()
        match = _LAYER.search(name + ".")
        tensor = role if len(tensors) == 1 else f"{role}[{index}]"
        rows.append({"op": name, "op_type": type(module).__name__,
                     "layer": int(match.group(1)) if match else -1, "tensor": tensor,
                     "direction": direction, "rms": float(t.pow(2).mean().sqrt()),
                     "format": fmt.name, "underflow": underflow_fraction(t, fmt),
                     "saturation": saturation_fraction(t, fmt)})
    return rows


def track_scales(model: Decoder, ids: torch.Tensor, targets: torch.Tensor, *,
                 forward_format: str = "e4m3", backward_format: str = "e5m2") -> pd.DataFrame:
    """One forward and backward pass of ``model`` on ``ids``/``targets`` (``(batch,
    tokens)`` int64) with the model's own loss (and its gradient scale); returns the tidy
    frame described in the module docstring. The model's gradients are left zeroed."""
    if not isinstance(model, Decoder):
        raise TypeError(f"model must be a Decoder, got {type(model).__name__}")
    if ids.shape != targets.shape or ids.dim() != 2:
        raise ValueError(f"ids and targets must both be (batch, tokens); got {tuple(ids.shape)} "
                         f"and {tuple(targets.shape)}")
    fwd, bwd = get_format(forward_format), get_format(backward_format)
    rows: list[dict] = []
    handles = []
    for name, module in model.named_modules():
        if not isinstance(module, TRACKED):
            continue

        def forward_hook(mod, args, output, name=name):
            rows.extend(_rows(name, mod, "input", "forward", args, fwd))
            rows.extend(_rows(name, mod, "output", "forward", (output,), fwd))

        def backward_hook(mod, grad_input, grad_output, name=name):
            rows.extend(_rows(name, mod, "grad_input", "backward", grad_input, bwd))
            rows.extend(_rows(name, mod, "grad_output", "backward", grad_output, bwd))

        handles.append(module.register_forward_hook(forward_hook))
        handles.append(module.register_full_backward_hook(backward_hook))
    was_training = model.training
    model.train()
    try:
        model.zero_grad(set_to_none=True)
        with warnings.catch_warnings():  # the embedding has no input that needs a gradient
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            model.loss(ids, targets).backward()
    finally:
        for handle in handles:
            handle.remove()
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return pd.DataFrame(rows)


def hidden_linear_scales(frame: pd.DataFrame) -> pd.DataFrame:
    """Per block and hidden linear layer: the RMS of its input (forward, cast to E4M3) and of
    its output gradient (backward, cast to E5M2), and their underflow fractions. Columns:
    ``layer``, ``linear`` (qkv, proj, up, down), ``input_rms``, ``input_underflow``,
    ``grad_rms``, ``grad_underflow``, ``grad_saturation``."""
    lin = frame[(frame["op_type"] == "Linear") & (frame["layer"] >= 0)]
    inputs = lin[lin["tensor"] == "input"].set_index("op")
    grads = lin[lin["tensor"] == "grad_output"].set_index("op")
    out = pd.DataFrame({
        "layer": inputs["layer"],
        "linear": [op.rsplit(".", 1)[1] for op in inputs.index],
        "input_rms": inputs["rms"], "input_underflow": inputs["underflow"],
        "grad_rms": grads["rms"].reindex(inputs.index),
        "grad_underflow": grads["underflow"].reindex(inputs.index),
        "grad_saturation": grads["saturation"].reindex(inputs.index)})
    return out.reset_index(drop=True)


def residual_rms(frame: pd.DataFrame) -> pd.Series:
    """The residual stream's RMS after each block (the output of its second residual add)."""
    res = frame[(frame["op_type"] == "ResidualAdd") & (frame["tensor"] == "output")
                & frame["op"].str.endswith("res_mlp")]
    return res.set_index("layer")["rms"].sort_index()


def plot_scales(frame: pd.DataFrame, *, ops: list[str] | None = None, ax: plt.Axes | None = None,
                title: str | None = None) -> plt.Axes:
    """One row per op (in model order), the log2 RMS of its forward (circles) and backward
    (crosses) tensors; ``ops`` restricts the rows (default: all). Shaded bands mark where
    E4M3 (forward) and E5M2 (backward) lose precision below their smallest normal."""
    data = frame if ops is None else frame[frame["op"].isin(ops)]
    if data.empty:
        raise ValueError("no rows to plot (check the names in ops)")
    data = data.assign(log2_rms=np.log2(data["rms"].clip(lower=2.0**-40)),
                       row=data["op"] + " (" + data["op_type"] + ")")
    order = list(dict.fromkeys(data["row"]))
    ax = ax or plt.figure(figsize=(7, max(3, 0.22 * len(order)))).gca()
    sns.scatterplot(data=data, x="log2_rms", y="row", hue="tensor", style="direction",
                    markers={"forward": "o", "backward": "X"}, ax=ax, s=35)
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels(order, fontsize=7)
    ax.axvspan(-40, np.log2(get_format("e5m2").min_normal), color="tab:red", alpha=0.08)
    ax.axvline(np.log2(get_format("e4m3").min_normal), color="tab:blue", ls=":", lw=1)
    ax.axvline(np.log2(get_format("e5m2").min_normal), color="tab:red", ls=":", lw=1)
    lo, hi = data["log2_rms"].min(), data["log2_rms"].max()
    ax.set_xlim(min(lo, -16) - 1, max(hi, 2) + 1)
    ax.set_xlabel("log2 of tensor RMS (dotted: smallest normal of E4M3 / E5M2)")
    ax.set_ylabel("")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=7, loc="lower left")
    return ax


@torch.no_grad()
def residual_profile(parametrisation: str, *, depth: int, width: int, tau: float | None = None,
                     n_heads: int = 4, seq_len: int = 32, batch_size: int = 2,
                     seed: int = 0) -> pd.Series:
    """The residual stream's RMS after each of ``depth`` blocks of a freshly initialised
    decoder (``parametrisation`` "sp" or "mus", ``tau`` for μS) on random tokens; a forward
    pass only. Index: block number; values: RMS. The same arguments give the same numbers,
    computed once per process."""
    rms = _residual_rms(parametrisation, depth, width, tau if parametrisation == "mus" else None,
                        n_heads, seq_len, batch_size, seed)
    return pd.Series(rms, index=pd.RangeIndex(depth, name="layer"), name="rms")


@functools.lru_cache(maxsize=256)
def _residual_rms(parametrisation: str, depth: int, width: int, tau: float | None,
                  n_heads: int, seq_len: int, batch_size: int, seed: int) -> tuple[float, ...]:
    config = DecoderConfig(d_model=width, n_layers=depth, n_heads=n_heads, seq_len=seq_len,
                           parametrisation=parametrisation, tau=tau)
    torch.manual_seed(seed)
    model = Decoder(config)
    rms: list[float] = []
    handles = [block.register_forward_hook(
        lambda mod, args, out: rms.append(float(out.pow(2).mean().sqrt()))) for block in model.blocks]
    try:
        with torch.no_grad():
            model(torch.randint(0, config.vocab_size, (batch_size, seq_len)))
    finally:
        for handle in handles:
            handle.remove()
    return tuple(rms)


def plot_residual_profiles(*, tau: float, depth: int, width: int,
                           ax: plt.Axes | None = None) -> plt.Axes:
    """:func:`residual_profile` of μS (with ``tau``) and of SP at ``depth`` and ``width``,
    block by block on a log axis, with RMS 1 dotted."""
    mus = residual_profile("mus", depth=depth, width=width, tau=tau)
    sp = residual_profile("sp", depth=depth, width=width)
    ax = ax or plt.gca()
    ax.plot(mus.index, mus.values, marker="o", ms=3, label=f"μS, τ = {tau:.2f}")
    ax.plot(sp.index, sp.values, marker="s", ms=3, label="SP (pre-LN)")
    ax.axhline(1.0, color="0.5", lw=1, ls=":")
    ax.set(yscale="log", xlabel="block", ylabel="residual-stream RMS",
           title=f"depth {depth}, width {width}")
    ax.legend(fontsize=8)
    return ax
