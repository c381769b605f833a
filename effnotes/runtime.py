"""Seeding, device choice and a plain description of the hardware a number was measured on."""

from __future__ import annotations

import os
import platform
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np
import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, NumPy's and PyTorch's global generators with ``seed``.

    Returns a fresh :class:`torch.Generator` seeded the same way, for code (data loaders,
    samplers) that should not touch the global state.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def choose_device(prefer: str = "auto") -> torch.device:
    """The device to run on.

    ``"auto"`` takes CUDA when it is available and the CPU otherwise; ``"cuda"`` raises
    if no CUDA device is visible (it never falls back silently); ``"cpu"`` is the CPU.
    """
    if prefer not in DEVICE_CHOICES:
        raise ValueError(f"device must be one of {DEVICE_CHOICES}, got {prefer!r}")
    if prefer == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if prefer == "cuda":
        raise RuntimeError("device='cuda' was asked for, but torch sees no CUDA device")
    return torch.device("cpu")


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with PyTorch's intra-op thread pool set to ``count`` threads, then
    restore the previous setting."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _as_device(name: str, device) -> torch.device:
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"{name} must be a torch.device or a device string, got "
                        f"{type(device).__name__} {device!r}")
    try:
        return torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"{name} {device!r} is not a device torch knows: {error}") from error


def synchronize(device: torch.device | str) -> None:
    """Wait for queued work on ``device`` to finish (a no-op on the CPU), for honest timing."""
    device = _as_device("device", device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@dataclass(frozen=True)
class Hardware:
    """Where a measurement was taken: CPU model, cores visible, torch threads, accelerator."""

    cpu: str
    logical_cores: int
    torch_threads: int
    accelerator: str
    platform: str

    def as_dict(self) -> dict[str, str | int]:
        return asdict(self)

    def __str__(self) -> str:
        text = f"{self.cpu} ({self.logical_cores} logical cores, torch uses {self.torch_threads} threads)"
        if self.accelerator != "none":
            text += f"; {self.accelerator}"
        return text


def describe_hardware(device: torch.device | str | None = None) -> Hardware:
    """Describe the machine; ``device`` names the accelerator to report (default: none if CPU)."""
    accelerator = "none"
    if device is not None and _as_device("device", device).type == "cuda":
        accelerator = torch.cuda.get_device_name(torch.device(device))
    return Hardware(
        cpu=_cpu_model(),
        logical_cores=os.cpu_count() or 1,
        torch_threads=torch.get_num_threads(),
        accelerator=accelerator,
        platform=f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
    )
