"""The Lion optimiser (Chen et al., 2023), written from its update rule.

For each parameter ``p`` with gradient ``g`` and momentum ``m`` (zero at the start), one
step with rate ``lr``, coefficients ``(beta1, beta2)`` and weight decay ``wd`` is::

    c = beta1 * m + (1 - beta1) * g          # interpolate momentum and gradient
    p = p * (1 - lr * wd) - lr * sign(c)     # decoupled weight decay, then the sign step
    m = beta2 * m + (1 - beta2) * g          # the momentum update uses beta2

Every entry moves by exactly ``lr`` (or 0 where ``c`` is 0), so the step's size does not
depend on the gradient's scale. This is the optimiser the μnit Scaling paper trains with.
Weight decay is applied as ``p * (1 - lr * wd)``, as AdamW does, so the parameter groups of
:func:`.model.optimizer_groups` (which set ``weight_decay = wd / lr`` to make the decay
fully decoupled from the rate) work for it unchanged.
"""

from __future__ import annotations


import torch

from effnotes.validation import check_real


class Lion(torch.optim.Optimizer):
    """Lion: ``p <- p (1 - lr wd) - lr sign(beta1 m + (1 - beta1) g)``, then
    ``m <- beta2 m + (1 - beta2) g``. Parameters may be on any device; gradients must be
    dense."""

    def __init__(self, params, lr: float = 1e-4, betas: tuple[float, float] = (0.9, 0.99),
                 weight_decay: float = 0.0) -> None:
        if not check_real("lr", lr) > 0:
            raise ValueError(f"lr must be a positive finite number, got {lr!r}")
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        betas = tuple(check_real(f"betas[{i}]", b) for i, b in enumerate(betas))
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        if not check_real("weight_decay", weight_decay) >= 0:
            raise ValueError(f"weight_decay must be non-negative, got {weight_decay!r}")
        super().__init__(params, {"lr": float(lr), "betas": betas,
                                  "weight_decay": float(weight_decay)})

    @torch.no_grad()
    def step(self, closure=None):
        """One Lion step over every parameter that has a gradient; returns the closure's
        loss when one is given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            if any(p.grad.is_sparse for p in params):
                raise RuntimeError("Lion does not support sparse gradients")
            grads = [p.grad for p in params]
            momenta = []
            for p in params:
                state = self.state[p]
                if "momentum" not in state:
                    state["momentum"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                momenta.append(state["momentum"])
            lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
            if wd != 0:
                torch._foreach_mul_(params, 1.0 - lr * wd)
            update = torch._foreach_lerp(momenta, grads, 1.0 - beta1)  # beta1 m + (1-beta1) g
            torch._foreach_sign_(update)
            torch._foreach_add_(params, update, alpha=-lr)
            torch._foreach_lerp_(momenta, grads, 1.0 - beta2)
        return loss


__all__ = ["Lion"]
