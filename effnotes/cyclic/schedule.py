r"""A per-step multiplicative cyclic learning-rate schedule (cosine annealing with warm
restarts whose cycles grow by a factor :math:`m`).

With warm-up length :math:`W`, first cycle :math:`T_0` and multiplier :math:`m \ge 1`, all in
optimiser steps, the rate for step :math:`t` (0-based) is

.. math::

    \eta(t) = \eta_{max}\,\bigl(a + (1 - a)\,t / W\bigr) \quad (t < W),

where :math:`a` is the warm-up's starting fraction, and after it, with :math:`s = t - W`,
cycle :math:`k` starting at :math:`S_k = T_0 (m^k - 1)/(m - 1)` (:math:`S_k = k T_0` if
:math:`m = 1`) and lasting :math:`T_0 m^k` steps, :math:`\tau = (s - S_k) / (T_0 m^k)`:

.. math::

    \eta(t) = \eta_{min} + (\eta_{max} - \eta_{min})\,\tfrac12 (1 + \cos \pi\tau).

Cycle :math:`k` ends after :math:`W + S_{k+1}` completed steps: a *trough*, where the rate has
been annealed to (nearly) :math:`\eta_{min}` and the next step restarts at :math:`\eta_{max}`.
This is PyTorch's ``LinearLR`` warm-up followed by ``CosineAnnealingWarmRestarts(T_0,
T_mult=m, eta_min)``, stepped once per batch (:func:`torch_reference_scheduler` builds that
composition; the tests compare the two step by step).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from effnotes.validation import check_integer, check_real


@dataclass(frozen=True)
class CyclicSchedule:
    """Warm-up, then cosine cycles whose lengths grow geometrically.

    ``first_cycle`` (:math:`T_0`) and ``warmup`` (:math:`W`) are numbers of optimiser steps;
    ``multiplier`` (:math:`m \\ge 1`) scales each cycle's length over the previous one;
    ``lr_max`` and ``lr_min`` are absolute learning rates (the peak of every cycle and the
    floor it anneals to); ``warmup_start`` is the fraction of ``lr_max`` at step 0 (the
    paper's warm-up starts at 0).

    Use it with any optimiser whose learning rate is ``lr_max``: as a
    ``TrainConfig.schedule`` callable ``(step, total_steps) -> multiplier``, or through
    :meth:`lambda_lr` as a :class:`torch.optim.lr_scheduler.LambdaLR`.
    """

    first_cycle: int
    multiplier: float = 2.0
    warmup: int = 0
    lr_max: float = 1.0
    lr_min: float = 0.0
    warmup_start: float = 0.0

    def __post_init__(self) -> None:
        check_integer("first_cycle (T0, a number of steps)", self.first_cycle, minimum=1)
        check_integer("warmup (W, a number of steps)", self.warmup, minimum=0)
        check_real("multiplier (m)", self.multiplier)
        if self.multiplier < 1:
            raise ValueError(f"multiplier (m) must be >= 1 (cycles that shrink would never "
                             f"end), got {self.multiplier!r}")
        for name in ("lr_max", "lr_min", "warmup_start"):
            check_real(name, getattr(self, name))
        if not self.lr_max > 0:
            raise ValueError(f"lr_max must be positive, got {self.lr_max}")
        if not 0 <= self.lr_min <= self.lr_max:
            raise ValueError(f"lr_min must be in [0, lr_max={self.lr_max}], got {self.lr_min}")
        if not 0 <= self.warmup_start <= 1:
            raise ValueError(f"warmup_start must be in [0, 1], got {self.warmup_start}")

    # --- the cycles ---------------------------------------------------------------------

    def cycle_start(self, k: int) -> float:
        """:math:`S_k`, steps after the warm-up at which cycle ``k`` (0-based) starts."""
        k = check_integer("cycle index k", k, minimum=0)
        m = float(self.multiplier)
        if m == 1.0:
            return float(self.first_cycle * k)
        return self.first_cycle * (m**k - 1.0) / (m - 1.0)

    def cycle_length(self, k: int) -> float:
        """:math:`T_0 m^k`, the length of cycle ``k`` in steps."""
        k = check_integer("cycle index k", k, minimum=0)
        return self.first_cycle * float(self.multiplier) ** k

    def cycle_index(self, step: int) -> int:
        """The cycle that step ``step`` (>= ``warmup``) belongs to."""
        step = check_integer("step", step)
        s = step - self.warmup
        if s < 0:
            raise ValueError(f"step {step} is in the warm-up (W={self.warmup}), not in a cycle")
        m = float(self.multiplier)
        if m == 1.0:
            k = int(s // self.first_cycle)
        else:
            k = int(math.floor(math.log1p(s * (m - 1.0) / self.first_cycle) / math.log(m)))
        # guard the logarithm's rounding at cycle boundaries
        while self.cycle_start(k + 1) <= s:
            k += 1
        while k > 0 and self.cycle_start(k) > s:
            k -= 1
        return k

    # --- the rate -----------------------------------------------------------------------

    def lr(self, step: int) -> float:
        """The absolute learning rate used for optimiser step ``step`` (0-based)."""
        step = check_integer("step", step, minimum=0)
        if step < self.warmup:
            fraction = self.warmup_start + (1.0 - self.warmup_start) * step / self.warmup
            return self.lr_max * fraction
        k = self.cycle_index(step)
        tau = (step - self.warmup - self.cycle_start(k)) / self.cycle_length(k)
        return self.lr_min + (self.lr_max - self.lr_min) * 0.5 * (1.0 + math.cos(math.pi * tau))

    def factor(self, step: int) -> float:
        """``lr(step) / lr_max``: the multiplier of an optimiser whose rate is ``lr_max``."""
        return self.lr(step) / self.lr_max

    def __call__(self, step: int, total_steps: int) -> float:
        """The ``TrainConfig.schedule`` protocol: the multiplier at ``step`` of a run of
        ``total_steps`` steps (which must outlast the warm-up). ``step`` is an integer in
        ``[0, total_steps]`` (``total_steps`` itself: the value a scheduler asks for once the
        run has ended)."""
        total_steps = self.check_budget(total_steps)
        step = check_integer("step", step, minimum=0)
        if step > total_steps:
            raise ValueError(f"step must be an integer in [0, total_steps={total_steps}], "
                             f"got {step!r}")
        return self.factor(step)

    def check_budget(self, total_steps: int) -> int:
        """Raise unless a run of ``total_steps`` steps gets past the warm-up."""
        total_steps = check_integer("total_steps", total_steps, minimum=1)
        if total_steps <= self.warmup:
            raise ValueError(f"total_steps={total_steps} is not longer than the warm-up "
                             f"(W={self.warmup} steps): the schedule never leaves its warm-up")
        return int(total_steps)

    def rates(self, total_steps: int) -> list[float]:
        """The rate of every step of a run of ``total_steps`` steps."""
        self.check_budget(total_steps)
        return [self.lr(t) for t in range(total_steps)]

    # --- troughs --------------------------------------------------------------------------

    def trough_steps(self, total_steps: int, *, include_end: bool = False) -> list[int]:
        """Completed-step counts :math:`W + S_{k+1}` (rounded up to a whole step) at which a
        cycle ends, up to ``total_steps``. With ``include_end`` the run's last step is added
        if it is not a trough already (the paper's read-off uses it as the last point)."""
        self.check_budget(total_steps)
        troughs = []
        k = 0
        while True:
            end = self.warmup + math.ceil(self.cycle_start(k + 1) - 1e-9)
            if end > total_steps:
                break
            troughs.append(int(end))
            k += 1
        if include_end and (not troughs or troughs[-1] != total_steps):
            troughs.append(int(total_steps))
        return troughs

    def steps_for_cycles(self, n_cycles: int) -> int:
        """Steps needed to finish ``n_cycles`` cycles: :math:`W + S_{n}` (rounded up)."""
        n_cycles = check_integer("n_cycles", n_cycles, minimum=1)
        return int(self.warmup + math.ceil(self.cycle_start(n_cycles) - 1e-9))

    def standard(self, total_steps: int) -> CyclicSchedule:
        """The *standard* schedule for a budget of ``total_steps``: the same warm-up, then one
        cosine cycle that anneals to ``lr_min`` exactly at the end of the budget."""
        self.check_budget(total_steps)
        return CyclicSchedule(first_cycle=int(total_steps - self.warmup), multiplier=1.0,
                              warmup=self.warmup, lr_max=self.lr_max, lr_min=self.lr_min,
                              warmup_start=self.warmup_start)

    # --- torch ------------------------------------------------------------------------------

    def lambda_lr(self, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LambdaLR:
        """A ``LambdaLR`` following this schedule; step it once per batch. Every parameter
        group's learning rate must be ``lr_max`` (the multiplier is relative to it)."""
        _check_optimizer(optimizer)
        _check_base_rates(optimizer, self.lr_max)
        return torch.optim.lr_scheduler.LambdaLR(optimizer, self.factor)


def _check_optimizer(optimizer) -> None:
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")


def _check_base_rates(optimizer: torch.optim.Optimizer, lr_max: float) -> None:
    for index, group in enumerate(optimizer.param_groups):
        base = group.get("initial_lr", group["lr"])
        if not math.isclose(base, lr_max, rel_tol=1e-12):
            raise ValueError(f"parameter group {index} has learning rate {base}, but the schedule's "
                             f"lr_max is {lr_max}: set the optimiser's lr to lr_max")


def torch_reference_scheduler(optimizer: torch.optim.Optimizer,
                              schedule: CyclicSchedule) -> torch.optim.lr_scheduler.LRScheduler:
    """The same schedule from PyTorch's own parts: ``LinearLR`` over the warm-up, then
    ``CosineAnnealingWarmRestarts(T_0, T_mult=m, eta_min)``, joined by ``SequentialLR``.

    PyTorch needs an integer ``m`` and (with a warm-up) a positive ``warmup_start``.
    """
    _check_optimizer(optimizer)
    if not isinstance(schedule, CyclicSchedule):
        raise TypeError(f"schedule must be a CyclicSchedule, got {type(schedule).__name__}")
    _check_base_rates(optimizer, schedule.lr_max)
    if float(schedule.multiplier) != int(schedule.multiplier):
        raise ValueError(f"PyTorch's CosineAnnealingWarmRestarts needs an integer multiplier, "
                         f"got {schedule.multiplier}")
    restarts = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        optimizer, T_0=schedule.first_cycle, T_mult=int(schedule.multiplier),
        eta_min=schedule.lr_min)
    if schedule.warmup == 0:
        return restarts
    if not schedule.warmup_start > 0:
        raise ValueError("PyTorch's LinearLR needs a positive start factor: set warmup_start > 0")
    # the restarts scheduler has already set the rate; put the warm-up's first value back
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"]
    warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=schedule.warmup_start,
                                               end_factor=1.0, total_iters=schedule.warmup)
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, restarts],
                                                 milestones=[schedule.warmup])


def largest_difference_from_torch(schedule: CyclicSchedule, total_steps: int) -> float:
    """Step the schedule and :func:`torch_reference_scheduler` side by side on a one-parameter
    SGD for ``total_steps`` steps; return the largest absolute difference of their rates."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=schedule.lr_max)
    reference = torch_reference_scheduler(optimizer, schedule)
    largest = 0.0
    for step, ours in enumerate(schedule.rates(total_steps)):
        largest = max(largest, abs(optimizer.param_groups[0]["lr"] - ours))
        if step + 1 < total_steps:
            optimizer.step()
            reference.step()
    return largest
