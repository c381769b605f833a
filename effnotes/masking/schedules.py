r"""Masking-rate schedules: the share of tokens an MLM corrupts, as a function of progress.

With training progress :math:`u = t/T \in [0, 1]`, a start rate :math:`p_i` and an end rate
:math:`p_f`:

- ``constant``: :math:`p(u) = p_i`;
- ``linear``: :math:`p(u) = p_i + (p_f - p_i)\,u`;
- ``cosine``: :math:`p(u) = p_f + (p_i - p_f)\,(1 + \cos \pi u)/2`;
- ``step``: :math:`p_i` for :math:`u < 1/2`, then :math:`p_f`.

Rates must lie strictly between 0 and 1: a rate of 0 gives the loss no targets, a rate of 1
leaves no context to predict them from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

KINDS = ("constant", "linear", "cosine", "step")


def _check_rate(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie in the open interval (0, 1), got {value}")
    return value


def check_progress(progress) -> float:
    """``progress`` as a float in [0, 1]; a clear error otherwise."""
    if isinstance(progress, bool) or not isinstance(progress, (int, float, np.integer,
                                                               np.floating)):
        raise TypeError(f"training progress must be a number, got {type(progress).__name__}")
    progress = float(progress)
    if not 0.0 <= progress <= 1.0 or math.isnan(progress):
        raise ValueError(f"training progress must lie in [0, 1], got {progress}")
    return progress


def _spec_rate(rate: float) -> str:
    """A rate as written in a schedule's name: two decimals (``0.30``) when that is exact,
    else every digit needed to read it back (``0.151``), so different schedules never share
    a name."""
    return f"{rate:.2f}" if round(rate, 2) == rate else repr(rate)


@dataclass(frozen=True)
class MaskingSchedule:
    """A masking rate that moves from ``start`` to ``end`` over training along ``kind``.

    ``end`` defaults to ``start``; a ``constant`` schedule must have ``end == start``.
    """

    kind: str = "constant"
    start: float = 0.15
    end: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown schedule kind {self.kind!r}; choose one of {KINDS}")
        start = _check_rate("start rate", self.start)
        end = start if self.end is None else _check_rate("end rate", self.end)
        if self.kind == "constant" and end != start:
            raise ValueError(f"a constant schedule has one rate; got start {start} and end {end}")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    def rate(self, progress: float) -> float:
        """The masking rate at training ``progress`` in [0, 1] (step / total steps)."""
        u = check_progress(progress)
        if self.kind == "constant":
            return self.start
        if self.kind == "linear":
            return self.start + (self.end - self.start) * u
        if self.kind == "cosine":
            return self.end + (self.start - self.end) * 0.5 * (1.0 + math.cos(math.pi * u))
        return self.start if u < 0.5 else self.end

    def rates(self, total_steps: int) -> np.ndarray:
        """The rate of every step ``t = 0 .. total_steps - 1``, at progress ``t / total_steps``;
        shape ``(total_steps,)``."""
        if not isinstance(total_steps, (int, np.integer)) or total_steps < 1:
            raise ValueError(f"total_steps must be a positive integer, got {total_steps!r}")
        return np.array([self.rate(t / total_steps) for t in range(total_steps)])

    def mean_rate(self, total_steps: int) -> float:
        """The average rate over ``total_steps`` steps: the share of tokens that are targets."""
        return float(self.rates(total_steps).mean())

    @property
    def name(self) -> str:
        """A short spec, ``"linear-0.30-0.15"``, that :func:`parse_schedule` reads back."""
        if self.kind == "constant":
            return f"constant-{_spec_rate(self.start)}"
        return f"{self.kind}-{_spec_rate(self.start)}-{_spec_rate(self.end)}"

    @property
    def label(self) -> str:
        """A label for tables and plots, ``"linear 30→15%"``."""
        if self.kind == "constant":
            return f"constant {100 * self.start:g}%"
        return f"{self.kind} {100 * self.start:g}→{100 * self.end:g}%"


def parse_schedule(spec: str) -> MaskingSchedule:
    """Read ``"constant-0.15"``, ``"linear-0.30-0.15"``, ``"cosine-0.3-0.15"`` or
    ``"step-0.3-0.15"`` into a :class:`MaskingSchedule`."""
    if not isinstance(spec, str):
        raise TypeError(f"a schedule spec is a string like 'linear-0.30-0.15', got {spec!r}")
    kind, *rates = spec.split("-")
    expected = 1 if kind == "constant" else 2
    if kind not in KINDS or len(rates) != expected:
        raise ValueError(f"cannot read schedule spec {spec!r}; write 'constant-P' or "
                         f"'KIND-START-END' with KIND one of {KINDS[1:]}")
    try:
        values = [float(r) for r in rates]
    except ValueError:
        raise ValueError(f"the rates in schedule spec {spec!r} are not numbers") from None
    return MaskingSchedule(kind, *values)
