"""BERT's masking, with a rate that follows a schedule step by step, and frozen eval masks.

For each position that is not a special token, draw :math:`u \\sim U(0, 1)`; the position
is a target if :math:`u < p`. A target's input is then replaced by ``[MASK]`` (80%), by a
random ordinary token (10%) or left unchanged (10%), and its label is the original token;
every other label is :data:`IGNORE` so the loss skips it.

The uniform draws do not depend on :math:`p`, so two runs that share a generator seed see
the same random numbers: at any step the targets of a lower rate are a subset of those of a
higher rate (common random numbers, which makes arms differ only by their schedules).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch

from effnotes.masking.schedules import MaskingSchedule, _check_rate
from effnotes.validation import check_integer

#: The label of a position the loss ignores (``torch.nn.functional.cross_entropy``'s default).
IGNORE = -100


@dataclass(frozen=True)
class SpecialTokens:
    """Ids of the special tokens and the vocabulary size. Ordinary tokens are all ids from
    ``n_special`` to ``vocab_size - 1``; the special ids must be the ids below ``n_special``."""

    pad: int
    unk: int
    cls: int
    sep: int
    mask: int
    vocab_size: int

    def __post_init__(self) -> None:
        for name in ("pad", "unk", "cls", "sep", "mask", "vocab_size"):
            check_integer(name, getattr(self, name))
        ids = [self.pad, self.unk, self.cls, self.sep, self.mask]
        if sorted(ids) != list(range(len(ids))):
            raise ValueError(f"special token ids must be 0..{len(ids) - 1} in some order, got {ids}")
        if self.vocab_size <= len(ids):
            raise ValueError(f"vocab_size must exceed the {len(ids)} special tokens, got {self.vocab_size}")

    @property
    def n_special(self) -> int:
        return 5

    def never_masked(self, ids: torch.Tensor) -> torch.Tensor:
        """Boolean tensor, True where ``ids`` holds a special token (never a target)."""
        return ids < self.n_special


def _check_special(special) -> None:
    if not isinstance(special, SpecialTokens):
        raise TypeError(f"special must be a SpecialTokens, got {type(special).__name__}")


def _check_ids(ids: torch.Tensor, special: SpecialTokens) -> None:
    if not isinstance(ids, torch.Tensor) or ids.dtype != torch.long:
        raise TypeError(f"token ids must be a torch.long tensor, got {getattr(ids, 'dtype', type(ids))}")
    if ids.ndim != 2:
        raise ValueError(f"token ids must have shape (batch, length), got {tuple(ids.shape)}")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= special.vocab_size):
        raise ValueError(f"token ids must lie in [0, {special.vocab_size}), got "
                         f"{int(ids.min())}..{int(ids.max())}")


def mask_tokens(ids: torch.Tensor, rate: float, special: SpecialTokens,
                generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Corrupt a batch BERT's way at masking ``rate``.

    ``ids``: ``(batch, length)`` long tensor. Returns ``(inputs, labels)`` of the same shape:
    ``labels`` holds the original id at targets and :data:`IGNORE` elsewhere. The generator
    must live on ``ids``' device; exactly three tensors of draws are taken per call,
    whatever the rate.
    """
    rate = _check_rate("masking rate", rate)
    _check_special(special)
    _check_ids(ids, special)
    return _corrupt(ids, rate, special, generator)


def _corrupt(ids: torch.Tensor, rate: float, special: SpecialTokens,
             generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`mask_tokens` without the input checks, and with no host-device synchronisation."""
    u = torch.rand(ids.shape, generator=generator, device=ids.device)
    how = torch.rand(ids.shape, generator=generator, device=ids.device)
    random_ids = torch.randint(special.n_special, special.vocab_size, ids.shape,
                               generator=generator, device=ids.device)
    targets = (u < rate) & ~special.never_masked(ids)
    labels = torch.where(targets, ids, torch.full_like(ids, IGNORE))
    inputs = torch.where(targets & (how < 0.8), torch.full_like(ids, special.mask), ids)
    inputs = torch.where(targets & (how >= 0.8) & (how < 0.9), random_ids, inputs)
    return inputs, labels


class MaskingCollator:
    """Masks each training batch at the rate its schedule gives for that step.

    ``collator(ids, step)`` masks batch ``step`` of ``total_steps`` at rate
    ``schedule.rate(step / total_steps)`` and returns ``(inputs, labels, rate)``. Its draws
    come from its own generator seeded with ``seed``, on ``device``. With ``check_ids=False``
    the batches are not checked (for a caller that checked all its data beforehand: the
    check costs a host-device synchronisation per batch on a GPU).
    """

    def __init__(self, schedule: MaskingSchedule, special: SpecialTokens, total_steps: int, *,
                 seed: int = 0, device: torch.device | str = "cpu", check_ids: bool = True) -> None:
        if not isinstance(schedule, MaskingSchedule):
            raise TypeError(f"schedule must be a MaskingSchedule, got {type(schedule).__name__}")
        _check_special(special)
        total_steps = check_integer("total_steps", total_steps, minimum=1)
        seed = check_integer("seed", seed, minimum=0)
        if not isinstance(check_ids, bool):
            raise TypeError(f"check_ids must be True or False, got {check_ids!r}")
        self.schedule, self.special, self.total_steps = schedule, special, total_steps
        self.check_ids = check_ids
        self.generator = torch.Generator(device=torch.device(device))
        self.generator.manual_seed(seed)

    def rate_at(self, step: int) -> float:
        """The masking rate of batch ``step`` (an integer in ``[0, total_steps)``)."""
        check_integer("step", step)
        if not 0 <= step < self.total_steps:
            raise ValueError(f"step must lie in [0, {self.total_steps}), got {step}")
        return self.schedule.rate(step / self.total_steps)

    def __call__(self, ids: torch.Tensor, step: int) -> tuple[torch.Tensor, torch.Tensor, float]:
        rate = self.rate_at(step)
        if self.check_ids:
            _check_ids(ids, self.special)
        inputs, labels = _corrupt(ids, rate, self.special, self.generator)
        return inputs, labels, rate


@dataclass(frozen=True)
class FrozenMasks:
    """A held-out batch masked once: ``inputs`` and ``labels`` of shape ``(n, length)``."""

    inputs: torch.Tensor
    labels: torch.Tensor
    rate: float
    seed: int

    @property
    def n_targets(self) -> int:
        return int((self.labels != IGNORE).sum())

    def checksum(self) -> str:
        """SHA-256 of the inputs and labels: equal checksums mean identical eval masks."""
        digest = hashlib.sha256()
        for tensor in (self.inputs, self.labels):
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()

    def to(self, device: torch.device | str) -> FrozenMasks:
        return FrozenMasks(self.inputs.to(device), self.labels.to(device), self.rate, self.seed)


def frozen_eval_masks(ids: torch.Tensor, special: SpecialTokens, *, rate: float = 0.15,
                      seed: int = 12345) -> FrozenMasks:
    """Mask held-out ``ids`` (``(n, length)``) once, on the CPU with a fixed ``seed``, so
    every run is evaluated on the same targets and the same corrupted inputs."""
    seed = check_integer("seed", seed, minimum=0)
    _check_special(special)
    _check_ids(ids, special)
    generator = torch.Generator()
    generator.manual_seed(seed)
    inputs, labels = mask_tokens(ids.cpu(), rate, special, generator)
    if not (labels != IGNORE).any():
        raise ValueError("the frozen evaluation masks hold no targets: use more held-out text")
    return FrozenMasks(inputs, labels, float(rate), int(seed))


def corruption_shares(masks: FrozenMasks, original: torch.Tensor,
                      special: SpecialTokens) -> dict[str, float]:
    """How ``masks`` corrupted the ``original`` ids it was made from (``(n, length)``, the
    same shape as ``masks.inputs``), as fractions: ``target_share``, the targets among the
    ordinary (non-special) tokens; and among the targets, ``mask_share`` replaced by
    ``[MASK]``, ``random_share`` replaced by another token, ``kept_share`` left as they were
    (BERT's 80/10/10 puts a random token that happens to be the original here)."""
    if original.shape != masks.inputs.shape:
        raise ValueError(f"original has shape {tuple(original.shape)}, but the masks were made "
                         f"for {tuple(masks.inputs.shape)}")
    targets = masks.labels != IGNORE
    if not targets.any():
        raise ValueError("the masks hold no targets")
    ordinary = ~special.never_masked(original)
    corrupted, originals = masks.inputs[targets], original[targets]
    mask_share = float((corrupted == special.mask).float().mean())
    kept_share = float((corrupted == originals).float().mean())
    return {"target_share": float(targets.sum() / ordinary.sum()), "mask_share": mask_share,
            "random_share": 1.0 - mask_share - kept_share, "kept_share": kept_share}
