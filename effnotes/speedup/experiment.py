"""The speedup chapter's experiment, as named stages the page calls one at a time.

``effnotes experiment speedup --profile gpu --store`` runs every stage and stores the result
as ``results/speedup/gpu.json`` with provenance; ``python -m effnotes.speedup.experiment``
is the same command under its old name. The stages, in the page's order:

========== ===================================================================================
data       the images (the bundled digits, or the reader's), the device and its description
sweep      both recipes at every budget and seed (a complete run each)
speedups   the speedup at the target in wall time and in epochs, with bootstrap intervals,
           and ``S(q)`` over a range of targets
bottleneck the injected loading delay: where the harness books it, and what workers hide
stalls     the synchronous run again with one thread and with all of them
amdahl     Amdahl's law predicted from a measured step breakdown, then measured
kernels    theoretical and measured speedups of a sparse and a narrow linear layer
taxonomy   the book's chapters placed on the survey's taxonomy
========== ===================================================================================
"""

from __future__ import annotations

from dataclasses import asdict

from torch.utils.data import TensorDataset

from effnotes.contract import Experiment, Result
from effnotes.data.images import data_record, load_images
from effnotes.experiment_runner import experiment_main
from effnotes.runtime import choose_device, describe_hardware
from effnotes.speedup.kernels import sparse_vs_narrow
from effnotes.speedup.pipeline import amdahl_experiment, bottleneck_experiment, stall_by_threads
from effnotes.speedup.recipes import (RECIPES, DigitsMLP, curve_targets, run_budget_sweep,
                                      speedup_over_targets, sweeps_by_recipe)
from effnotes.speedup.taxonomy import book_taxonomy
from effnotes.tradeoff import bootstrap_speedup

#: hidden width of the MLP the pipeline experiments train (the recipes' width)
PIPELINE_WIDTH = 256


def data(profile, state, *, progress=False) -> dict:
    """The split (``_split``: images ``(n, c, h, w)`` as float32 tensors and labels), the
    training set as a dataset (``_dataset``), the torch device (``_device``), the hardware's
    description (``hardware``) and the split's sizes (``split_sizes``, images per split)."""
    device = choose_device(profile.device)
    split = load_images(profile.data_path, "speedup")
    return {"_split": split, "_device": device,
            "_dataset": TensorDataset(split.x_train, split.y_train),
            "hardware": describe_hardware(device).as_dict(),
            "split_sizes": split.sizes(),
            **data_record(split, {"data_path": profile.data_path})}


def sweep(profile, state, *, progress=False) -> dict:
    """Every recipe at every budget (epochs) with seeds ``first_seed ..``: ``sweep`` has one
    row per run (costs in training wall seconds, accuracies as fractions)."""
    runs = run_budget_sweep(list(RECIPES.values()), list(profile.budgets), profile.seed_list,
                            state["_split"], device=state["_device"], progress=progress)
    return {"sweep": runs}


def speedups(profile, state, *, progress=False) -> dict:
    """``speedup``: the speedup at ``target_accuracy`` in wall time (``"time"``) and in
    epochs (``"epochs"``), each a point estimate with a bootstrap interval over seeds;
    ``speedup_curve``: ``S(q)`` in wall time over a range of targets (one row per target)."""
    runs = state["sweep"]
    by_time = sweeps_by_recipe(runs)
    by_epochs = sweeps_by_recipe(runs.assign(epochs=runs["budget"]), cost="epochs",
                                 cost_unit="epochs")
    estimates = {unit: asdict(bootstrap_speedup(sweeps["baseline"], sweeps["improved"],
                                                profile.target_accuracy, n_boot=profile.n_boot))
                 for unit, sweeps in (("time", by_time), ("epochs", by_epochs))}
    curve = speedup_over_targets(by_time["baseline"], by_time["improved"],
                                 curve_targets(runs, profile.target_accuracy),
                                 n_boot=max(200, profile.n_boot // 4), seed=1)
    return {"speedup": estimates, "speedup_curve": curve}


def _pipeline_model(state):
    split = state["_split"]
    return lambda: DigitsMLP.for_split(split, PIPELINE_WIDTH)


def bottleneck(profile, state, *, progress=False) -> dict:
    """``bottleneck``: one row per DataLoader worker count (0, 1, 2) with the epoch,
    data-wait and compute seconds with and without the injected delay, and the fractions of
    the delay booked to data-wait and to compute and hidden by the workers."""
    frame = bottleneck_experiment(_pipeline_model(state), state["_dataset"],
                                  delay_s=profile.pipeline_delay_ms / 1000, workers=(0, 1, 2),
                                  batches=profile.pipeline_batches,
                                  repeats=profile.pipeline_repeats, device=state["_device"])
    return {"bottleneck": frame}


def stalls(profile, state, *, progress=False) -> dict:
    """``stalls``: the synchronous run's compute seconds with and without the delay, at one
    thread and at the thread pool's size (one row per thread count)."""
    frame = stall_by_threads(_pipeline_model(state), state["_dataset"],
                             delay_s=profile.pipeline_delay_ms / 1000,
                             batches=profile.pipeline_batches,
                             repeats=profile.pipeline_repeats, device=state["_device"])
    return {"stalls": frame}


def amdahl(profile, state, *, progress=False) -> dict:
    """``amdahl``: Amdahl's law on the wide and narrow MLPs (width ``amdahl_wide`` and a
    quarter of it) in a pipeline whose loading costs about the wide model's compute: the
    compute fraction, compute speedups, predicted and measured end-to-end speedups, and the
    four timed runs (seconds), and the
    models' ratio of multiply-adds per sample (``multiply_add_ratio``)."""
    split, wide = state["_split"], profile.amdahl_wide
    result = amdahl_experiment(lambda: DigitsMLP.for_split(split, wide),
                               lambda: DigitsMLP.for_split(split, wide // 4),
                               state["_dataset"], batches=profile.amdahl_batches,
                               repeats=profile.pipeline_repeats, device=state["_device"])
    ratio = (DigitsMLP.for_split(split, wide).multiply_adds() /
             DigitsMLP.for_split(split, wide // 4).multiply_adds())
    return {"amdahl": result | {"multiply_add_ratio": ratio}}


def kernels(profile, state, *, progress=False) -> dict:
    """``kernels``: a ``timing_width``-square linear layer, dense, 90% sparse (dense and CSR
    kernels) and 3x narrower: useful GFLOP, seconds per product, theoretical and measured
    speedups (one row per variant)."""
    frame = sparse_vs_narrow(profile.timing_width, profile.timing_batch,
                             device=state["_device"], min_run_time=profile.timing_min_run_time)
    return {"kernels": frame}


def taxonomy(profile, state, *, progress=False) -> dict:
    """``taxonomy``: the book's chapters on the survey's taxonomy (one row per chapter)."""
    return {"taxonomy": book_taxonomy()}


EXPERIMENT = Experiment("speedup", [data, sweep, speedups, bottleneck, stalls, amdahl, kernels,
                                    taxonomy])


def run(profile, *, progress: bool = False) -> Result:
    """Every stage at ``profile`` (the chapter's :class:`~effnotes.speedup.profiles.Profile`);
    the :class:`~effnotes.contract.Result`."""
    return EXPERIMENT.run(profile, progress=progress)


def main(argv: list[str] | None = None) -> int:
    """``python -m effnotes.speedup.experiment ...``: ``effnotes experiment speedup ...``."""
    return experiment_main("speedup", argv)


if __name__ == "__main__":
    raise SystemExit(main())
