"""FP8 weight all-gather for FSDP2: each rank casts its shard of a hidden weight to E4M3 and
the all-gather moves those bytes.

Static scales make this exact. Under μnit Scaling a hidden weight is kept at unit variance and
its scale is the fixed output multiplier ``alpha = 1/sqrt(fan_in)`` applied to the GEMM's
output; the weight itself is cast with scale 1 (clipped to E4M3's ±448). Casting is
elementwise and needs no statistic of the whole tensor (no amax), so

    cast(all_gather(shards)) == all_gather(cast(shards))

bit for bit, and the cast can move before the communication. A dynamically scaled recipe must
first agree on one amax across ranks (an extra all-reduce) to do the same.

How it plugs into FSDP2. :func:`torch.distributed.fsdp.fully_shard` lets a parameter's local
tensor define two hooks, ``fsdp_pre_all_gather`` (what to send) and ``fsdp_post_all_gather``
(how to rebuild the full parameter from what arrived). :class:`FP8AllGatherWeight` is a thin
tensor subclass that behaves as its plain data everywhere (optimizer, checkpoint, autograd)
and defines only those two hooks:

- pre: the shard, in FSDP's compute dtype (``param_dtype``, BF16 in mixed precision), clipped
  and cast to ``float8_e4m3fn``, viewed as ``uint8`` (so gloo, which has no FP8 type, can move
  it too): one byte per weight instead of two (BF16) or four (FP32);
- post: the gathered bytes, viewed back as E4M3 and widened to the compute dtype. The
  widening is exact, and the FP8 linear layer's own cast of this weight to E4M3 then returns
  the same bytes, so the training step computes exactly what it computes with a BF16
  all-gather; only the communicated bytes change.

Why this route rather than an explicit all-gather: FSDP2 keeps its scheduling (prefetch,
resharding after forward, the backward re-gather) and its sharded state and checkpoints, and
the hooks exist with this signature in the PyTorch releases this package supports (2.11 on
the GPU machines, 2.13 in CI). The cost of the route: the full weight is widened to the
compute dtype after the gather (one extra pass over it) because the FP8 GEMMs of
:mod:`.fp8_cuda` take a high-precision weight and cast it themselves; handing them the E4M3
weight directly would save that pass and is left for later.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._pytree import tree_map

from effnotes.unit_scaling.formats import E4M3, to_fp8
from effnotes.unit_scaling.modules import Linear

#: ops whose outputs stay FP8AllGatherWeight: the views, copies and allocations FSDP2 uses to
#: shard, pad and move the parameter. Every other op (the optimizer's arithmetic, zeros_like
#: for its state, ...) returns plain tensors.
_KEEP_SUBCLASS = {
    torch.ops.aten.detach.default, torch.ops.aten.alias.default,
    torch.ops.aten.view.default, torch.ops.aten._unsafe_view.default,
    torch.ops.aten.as_strided.default, torch.ops.aten.slice.Tensor,
    torch.ops.aten.split.Tensor, torch.ops.aten.split_with_sizes.default,
    torch.ops.aten.chunk.default, torch.ops.aten.new_zeros.default,
    torch.ops.aten.new_empty.default, torch.ops.aten.empty_like.default,
    torch.ops.aten.clone.default, torch.ops.aten.copy_.default,
    torch.ops.aten._to_copy.default, torch.ops.aten._pin_memory.default,
}


class FP8AllGatherWeight(torch.Tensor):
    """A weight whose FSDP2 all-gather sends E4M3 bytes. Wraps a plain tensor ``_data`` of the
    same shape, dtype and device; every operation runs on ``_data`` (see
    ``_KEEP_SUBCLASS`` for those whose result stays wrapped)."""

    _data: torch.Tensor

    @staticmethod
    def __new__(cls, data: torch.Tensor):
        if isinstance(data, FP8AllGatherWeight):
            data = data._data
        if not isinstance(data, torch.Tensor) or not data.is_floating_point():
            raise TypeError(f"data must be a floating-point tensor, got {data!r:.80}")
        return torch.Tensor._make_wrapper_subclass(
            cls, data.shape, strides=data.stride(), storage_offset=data.storage_offset(),
            dtype=data.dtype, device=data.device, layout=data.layout,
            requires_grad=data.requires_grad)

    def __init__(self, data: torch.Tensor) -> None:
        self._data = data._data if isinstance(data, FP8AllGatherWeight) else data

    def __repr__(self) -> str:
        return f"FP8AllGatherWeight({self._data!r})"

    def __tensor_flatten__(self):
        return ["_data"], None

    @staticmethod
    def __tensor_unflatten__(inner, metadata, outer_size, outer_stride):
        return FP8AllGatherWeight(inner["_data"])

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        def unwrap(t):
            return t._data if isinstance(t, FP8AllGatherWeight) else t

        out = func(*tree_map(unwrap, args), **tree_map(unwrap, kwargs or {}))
        if func not in _KEEP_SUBCLASS:
            return out
        return tree_map(lambda t: FP8AllGatherWeight(t) if isinstance(t, torch.Tensor)
                        and t.is_floating_point() else t, out)

    # FSDP2's all-gather extension (the five-argument form of fsdp_pre_all_gather)
    def fsdp_pre_all_gather(self, mesh, outer_size, outer_stride, module, mp_policy):
        shard = self._data
        if mp_policy is not None and mp_policy.param_dtype is not None:
            shard = shard.to(mp_policy.param_dtype)  # the dtype a BF16 all-gather would send
        rows = -(-outer_size[0] // mesh.size())  # FSDP pads every shard to ceil(rows / N)
        if shard.shape[0] < rows:
            shard = F.pad(shard, (0, 0) * (shard.dim() - 1) + (0, rows - shard.shape[0]))
        return (to_fp8(shard, E4M3).view(torch.uint8),), None

    def fsdp_post_all_gather(self, all_gather_outputs, metadata, param_dtype, *, out=None):
        (gathered,) = all_gather_outputs
        weight = gathered.view(torch.float8_e4m3fn)
        if out is not None:  # later steps: refill the buffer FSDP kept from the first one
            with torch.no_grad():
                out.copy_(weight[: out.shape[0]])  # drop FSDP's padding rows, widen
            return None
        full = weight.to(param_dtype)
        return full, (full,)


def cast_shard(shard: torch.Tensor, param_dtype: torch.dtype | None = None) -> torch.Tensor:
    """The bytes a rank sends for ``shard`` (any shape): cast to ``param_dtype`` (if given),
    clipped to ±448 and cast to E4M3, viewed as ``uint8`` (same shape)."""
    if param_dtype is not None:
        shard = shard.to(param_dtype)
    return to_fp8(shard, E4M3).view(torch.uint8)


def enable_fp8_all_gather(model: nn.Module) -> int:
    """Make every hidden linear weight of ``model`` (each :class:`.modules.Linear`) an
    :class:`FP8AllGatherWeight`, in place, before :func:`torch.distributed.fsdp.fully_shard` is applied. Returns how
    many weights were wrapped. The embedding, readout, norms and positions keep the usual
    all-gather (the μS recipe keeps them in high precision)."""
    count = 0
    for module in model.modules():
        if isinstance(module, Linear) and not isinstance(module.weight.data, FP8AllGatherWeight):
            weight = module.weight
            module.weight = nn.Parameter(FP8AllGatherWeight(weight.data),
                                         requires_grad=weight.requires_grad)
            count += 1
    if count == 0:
        raise ValueError("model has no effnotes.unit_scaling.modules.Linear layer to wrap")
    return count


def plain(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor``'s plain data if it is an :class:`FP8AllGatherWeight` (sharing its storage),
    else ``tensor`` itself."""
    return tensor._data if isinstance(tensor, FP8AllGatherWeight) else tensor


__all__ = ["FP8AllGatherWeight", "cast_shard", "enable_fp8_all_gather", "plain"]
