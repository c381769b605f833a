"""Where a training step's time goes: an input pipeline with an injected per-sample cost.

:class:`DelayedDataset` makes every sample cost ``delay_s`` seconds to load (a sleep, as a
slow disk or decoder would). :func:`bottleneck_experiment` checks that the training loop's
timer charges that cost to *data-wait* and not to compute, and shows how DataLoader workers
hide it behind compute. :func:`amdahl_experiment` predicts from a measured step breakdown
what a faster model buys end to end, then measures it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from effnotes.runtime import seed_everything
from effnotes.tradeoff import amdahl_speedup
from effnotes.training import TrainConfig, train
from effnotes.validation import check_integer, check_real


class DelayedDataset(Dataset):
    """Wraps ``base`` so that fetching any item first sleeps ``delay_s`` seconds."""

    def __init__(self, base: Dataset, delay_s: float) -> None:
        check_real("delay_s", delay_s)
        if not delay_s >= 0:
            raise ValueError(f"delay_s must be non-negative seconds, got {delay_s}")
        self.base = base
        self.delay_s = float(delay_s)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int):
        if self.delay_s > 0:
            time.sleep(self.delay_s)
        return self.base[index]


def actual_sleep_s(delay_s: float, calls: int = 200) -> float:
    """Mean wall seconds one ``time.sleep(delay_s)`` really takes here: the OS wakes a
    sleeper late by tens of microseconds, so the injected cost is measured, not assumed."""
    check_real("delay_s", delay_s)
    check_integer("calls", calls, 1)
    if not delay_s > 0 or calls < 1:
        raise ValueError(f"need delay_s > 0 and calls >= 1, got {delay_s}, {calls}")
    start = time.perf_counter()
    for _ in range(calls):
        time.sleep(delay_s)
    return (time.perf_counter() - start) / calls


@dataclass(frozen=True)
class PipelineRun:
    """One timed epoch. Times are wall seconds; ``injected_s`` is delay x samples."""

    label: str
    workers: int
    delay_s: float
    batches: int
    batch_size: int
    epoch_s: float
    data_wait_s: float
    compute_s: float

    @property
    def injected_s(self) -> float:
        return self.delay_s * self.batches * self.batch_size


def _check_factory(name: str, factory) -> None:
    if not callable(factory):
        raise TypeError(f"{name} must be a callable that builds a fresh model, got "
                        f"{type(factory).__name__}")


def _check_sizes(*, batches, batch_size, repeats, dataset) -> None:
    for name, value in (("batches", batches), ("batch_size", batch_size), ("repeats", repeats)):
        check_integer(name, value, 1)
    if len(dataset) == 0:
        raise ValueError("the dataset is empty")


def time_one_epoch(model_factory: Callable[[], nn.Module], dataset: Dataset, *, delay_s: float,
                   workers: int, batches: int, batch_size: int, repeats: int = 3,
                   device: torch.device | str = "cpu", seed: int = 0, label: str = "") -> PipelineRun:
    """Train a fresh model for one epoch of ``batches`` batches (cycling through ``dataset``
    if it is smaller) with a
    per-sample ``delay_s`` and ``workers`` loader processes; repeat ``repeats`` times and keep
    the median of each time (the first batches of a process are no slower than the rest)."""
    _check_factory("model_factory", model_factory)
    check_integer("workers", workers, 0)
    check_integer("seed", seed, 0)
    if not isinstance(label, str):
        raise TypeError(f"label must be a string, got {type(label).__name__}")
    for name, value in (("batches", batches), ("batch_size", batch_size), ("repeats", repeats)):
        check_integer(name, value, 1)
    check_real("delay_s", delay_s)
    if workers < 0 or batches < 1 or batch_size < 1 or repeats < 1:
        raise ValueError("workers must be >= 0 and batches, batch_size, repeats >= 1")
    if len(dataset) == 0:
        raise ValueError("the dataset is empty")
    needed = batches * batch_size  # cycle through the dataset if it is smaller than that
    subset = DelayedDataset(Subset(dataset, [i % len(dataset) for i in range(needed)]), delay_s)
    runs = []
    for repeat in range(repeats):
        seed_everything(seed + repeat)
        loader = DataLoader(subset, batch_size=batch_size, shuffle=False, num_workers=workers)
        history = train(model_factory(), loader, TrainConfig(epochs=1, lr=0.01, progress=False),
                        device=device)
        runs.append(history.final)
    return PipelineRun(label=label, workers=workers, delay_s=delay_s, batches=batches,
                       batch_size=batch_size,
                       epoch_s=statistics.median(r.epoch_s for r in runs),
                       data_wait_s=statistics.median(r.data_wait_s for r in runs),
                       compute_s=statistics.median(r.compute_s for r in runs))


def bottleneck_experiment(model_factory: Callable[[], nn.Module], dataset: Dataset, *,
                          delay_s: float, workers: tuple[int, ...] = (0, 1, 2), batches: int = 20,
                          batch_size: int = 64, repeats: int = 3,
                          device: torch.device | str = "cpu") -> pd.DataFrame:
    """Time one epoch with and without the injected delay at each worker count.

    Returns one row per worker count with the epoch, data-wait and compute times of both
    runs and the *attribution*: the extra data-wait caused by the delay divided by the delay
    injected (1.0 means every injected second was charged to data-wait). The injected total
    is samples x the measured length of one sleep (:func:`actual_sleep_s`), not the nominal
    ``delay_s``. With workers, the
    loader prefetches while the model computes, so part of the delay is hidden and the extra
    data-wait falls below the injected total.
    """
    _check_factory("model_factory", model_factory)
    if not check_real("delay_s", delay_s) > 0:
        raise ValueError(f"delay_s must be positive to measure its attribution, got {delay_s}")
    if isinstance(workers, (str, bytes)) or not hasattr(workers, "__iter__"):
        raise TypeError(f"workers must be a sequence of worker counts, got "
                        f"{type(workers).__name__}")
    workers = tuple(workers)
    if not workers:
        raise ValueError("workers must name at least one worker count")
    for count in workers:
        check_integer("workers", count, 0)
    _check_sizes(batches=batches, batch_size=batch_size, repeats=repeats, dataset=dataset)
    per_sample = actual_sleep_s(delay_s)
    rows = []
    for n_workers in workers:
        common = dict(workers=n_workers, batches=batches, batch_size=batch_size, repeats=repeats,
                      device=device)
        clean = time_one_epoch(model_factory, dataset, delay_s=0.0, **common)
        slow = time_one_epoch(model_factory, dataset, delay_s=delay_s, **common)
        injected = per_sample * batches * batch_size
        rows.append({
            "workers": n_workers, "nominal_injected_s": slow.injected_s, "injected_s": injected,
            "epoch_s_clean": clean.epoch_s, "epoch_s_delayed": slow.epoch_s,
            "data_wait_s_clean": clean.data_wait_s, "data_wait_s_delayed": slow.data_wait_s,
            "compute_s_clean": clean.compute_s, "compute_s_delayed": slow.compute_s,
            "attributed_to_data_wait": (slow.data_wait_s - clean.data_wait_s) / injected,
            "attributed_to_compute": (slow.compute_s - clean.compute_s) / injected,
            "hidden_by_workers": 1 - (slow.epoch_s - clean.epoch_s) / injected,
        })
    return pd.DataFrame(rows)


def amdahl_experiment(wide_factory: Callable[[], nn.Module], narrow_factory: Callable[[], nn.Module],
                      dataset: Dataset, *, batches: int = 20, batch_size: int = 64,
                      delay_s: float | None = None, repeats: int = 3,
                      device: torch.device | str = "cpu") -> dict:
    """Predict, then measure, what a faster model buys in a synchronous input pipeline.

    1. Time the wide and narrow models with no delay. If ``delay_s`` is None, choose it so
       that loading a batch costs about as long as the wide model's compute on it.
    2. Time both models with the delay. The wide model's step breakdown gives the fraction
       ``p`` of its time that is compute.
    3. Predict the end-to-end speedup ``1 / ((1 - p) + p / s)`` twice: with ``s`` the compute
       speedup measured in the slow pipeline itself (``predicted_speedup``), and with ``s``
       measured without delay (``predicted_from_clean``), then compare both with the measured
       ratio of epoch times.

    Returns ``delay_s``, ``compute_fraction``, ``compute_speedup`` (in the pipeline),
    ``compute_speedup_clean``, ``predicted_speedup``, ``predicted_from_clean``,
    ``measured_speedup`` and the four timed runs.
    """
    _check_factory("wide_factory", wide_factory)
    _check_factory("narrow_factory", narrow_factory)
    _check_sizes(batches=batches, batch_size=batch_size, repeats=repeats, dataset=dataset)
    if delay_s is not None and not check_real("delay_s", delay_s) >= 0:
        raise ValueError(f"delay_s must be non-negative seconds or None, got {delay_s}")
    common = dict(workers=0, batches=batches, batch_size=batch_size, repeats=repeats, device=device)
    wide_clean = time_one_epoch(wide_factory, dataset, delay_s=0.0, label="wide", **common)
    narrow_clean = time_one_epoch(narrow_factory, dataset, delay_s=0.0, label="narrow", **common)
    if delay_s is None:
        delay_s = wide_clean.compute_s / (batches * batch_size)
    wide = time_one_epoch(wide_factory, dataset, delay_s=delay_s, label="wide", **common)
    narrow = time_one_epoch(narrow_factory, dataset, delay_s=delay_s, label="narrow", **common)
    compute_fraction = wide.compute_s / wide.epoch_s
    in_pipeline = wide.compute_s / narrow.compute_s
    clean = wide_clean.compute_s / narrow_clean.compute_s
    return {
        "delay_s": delay_s,
        "compute_fraction": compute_fraction,
        "compute_speedup": in_pipeline,
        "compute_speedup_clean": clean,
        "predicted_speedup": amdahl_speedup(compute_fraction, in_pipeline),
        "predicted_from_clean": amdahl_speedup(compute_fraction, clean),
        "measured_speedup": wide.epoch_s / narrow.epoch_s,
        "runs": pd.DataFrame([asdict(r) for r in (wide_clean, narrow_clean, wide, narrow)]),
    }


def stall_by_threads(model_factory: Callable[[], nn.Module], dataset: Dataset, *,
                     delay_s: float, batches: int = 20, batch_size: int = 64, repeats: int = 3,
                     device: torch.device | str = "cpu") -> pd.DataFrame:
    """The synchronous (0 workers) run of :func:`bottleneck_experiment` repeated with
    PyTorch's thread pool held to one thread and at its current size (once if that is one).

    Returns one row per thread count: ``torch_threads``, ``compute_s_clean`` and
    ``compute_s_delayed`` (compute seconds per epoch without and with the delay) and
    ``attributed_to_compute`` (the compute growth over the injected delay, a fraction)."""
    from effnotes.runtime import torch_threads

    _check_factory("model_factory", model_factory)
    if not check_real("delay_s", delay_s) > 0:
        raise ValueError(f"delay_s must be positive to measure its attribution, got {delay_s}")
    _check_sizes(batches=batches, batch_size=batch_size, repeats=repeats, dataset=dataset)
    rows = []
    for count in sorted({1, torch.get_num_threads()}):
        with torch_threads(count):
            row = bottleneck_experiment(model_factory, dataset, delay_s=delay_s, workers=(0,),
                                        batches=batches, batch_size=batch_size,
                                        repeats=repeats, device=device).iloc[0]
        rows.append({"torch_threads": count, "compute_s_clean": row["compute_s_clean"],
                     "compute_s_delayed": row["compute_s_delayed"],
                     "attributed_to_compute": row["attributed_to_compute"]})
    return pd.DataFrame(rows)
