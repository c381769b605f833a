"""Counting the bytes that collectives move, as PyTorch's dispatcher sees them.

Every ``torch.distributed`` collective (eager ``c10d`` ops and the functional
``_c10d_functional`` ones) passes through the dispatcher, so a
:class:`~torch.utils._python_dispatch.TorchDispatchMode` sees each call with its tensors.
:class:`CollectiveBytes` adds up, per kind, the size of the **full** buffer of each call:

- ``all_gather``: the gathered output (``N`` shards; a rank receives ``(N-1)/N`` of it);
- ``reduce_scatter``: the full input that is reduced (a rank sends ``(N-1)/N`` of it);
- ``all_reduce``: the reduced tensor.

Its Python hook runs for every op while it is active, so count in a step that is not timed
(and not compiled). Used by :mod:`.dist_bench` and the FP8 all-gather check.
"""

from __future__ import annotations

from collections import Counter

import torch
from torch.utils._python_dispatch import TorchDispatchMode

_KINDS = {
    "_allgather_base_": ("all_gather", 0), "allgather_into_tensor_coalesced_": ("all_gather", 0),
    "all_gather_into_tensor": ("all_gather", None), "all_gather_into_tensor_out": ("all_gather", 0),
    "all_gather_into_tensor_coalesced": ("all_gather", None),
    "_reduce_scatter_base_": ("reduce_scatter", 1),
    "reduce_scatter_tensor_coalesced_": ("reduce_scatter", 1),
    "reduce_scatter_tensor": ("reduce_scatter", 0),
    "reduce_scatter_tensor_coalesced": ("reduce_scatter", 0),
    "allreduce_": ("all_reduce", 0), "all_reduce": ("all_reduce", 0),
}


def _nbytes(value) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    return 0


class CollectiveBytes(TorchDispatchMode):
    """``with CollectiveBytes() as count: ...`` then ``count.bytes`` (a Counter: kind ->
    bytes), ``count.calls`` (kind -> number of calls) and ``count.dtypes`` (kind -> set of
    dtype names)."""

    def __init__(self) -> None:
        super().__init__()
        self.bytes: Counter = Counter()
        self.calls: Counter = Counter()
        self.dtypes: dict[str, set[str]] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if func.namespace in ("c10d", "_c10d_functional"):
            name = func.overloadpacket.__name__
            if name in _KINDS:
                kind, index = _KINDS[name]
                value = out if index is None else args[index]
                self.bytes[kind] += _nbytes(value)
                self.calls[kind] += 1
                tensors = value if isinstance(value, (list, tuple)) else [value]
                self.dtypes.setdefault(kind, set()).update(
                    str(t.dtype).removeprefix("torch.") for t in tensors
                    if isinstance(t, torch.Tensor))
        return out

    def as_dict(self) -> dict:
        return {"bytes": dict(self.bytes), "calls": dict(self.calls),
                "dtypes": {k: sorted(v) for k, v in self.dtypes.items()}}


__all__ = ["CollectiveBytes"]
