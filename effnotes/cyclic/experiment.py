"""The chapter's experiment as named stages: the schedule, the runs, and the three
comparisons (gaps, method effects, the saving).

``effnotes experiment cyclic_tradeoff --profile gpu --store`` runs every stage and stores
the result as ``results/cyclic_tradeoff/gpu.json``; the notebook calls the stages one at a
time. ``python -m effnotes.cyclic.experiment`` is the same command (kept as an alias).
"""

from __future__ import annotations

import contextlib
from dataclasses import replace

from effnotes.contract import Experiment, Result
from effnotes.cyclic.analysis import analyse
from effnotes.cyclic.compare import bootstrap_correlation, method_differences
from effnotes.cyclic.runs import CyclicSetup, get_methods, run_comparison
from effnotes.cyclic.schedule import largest_difference_from_torch
from effnotes.experiment_runner import experiment_main

CHAPTER = "cyclic_tradeoff"

#: PyTorch's ``LinearLR`` cannot start a warm-up at 0 (the paper's), so the schedule is
#: compared with PyTorch's composition with its warm-up starting at this fraction instead.
TORCH_WARMUP_START = 1e-3


def setup_of(profile) -> CyclicSetup:
    """The :class:`~effnotes.cyclic.runs.CyclicSetup` (schedule and read-off grid, in epochs)
    a profile describes."""
    return CyclicSetup(warmup_epochs=profile.warmup_epochs,
                       first_cycle_epochs=profile.first_cycle_epochs,
                       multiplier=profile.multiplier, n_cycles=profile.n_cycles,
                       lr=profile.lr, channels=profile.channels,
                       eval_every_steps=profile.eval_every_steps, window=profile.window)


def schedule(profile, state, *, progress=False) -> dict:
    """The data and the schedule: ``steps_per_epoch`` (batch 64), the troughs in steps and in
    epochs, the saving predicted from step counts (a ratio), and ``max_torch_difference``,
    the largest difference in learning rate from PyTorch's ``LinearLR`` +
    ``CosineAnnealingWarmRestarts`` at any step of the cyclic run."""
    from effnotes.data.digits import make_loaders
    from effnotes.data.images import data_record, load_images

    split = load_images(profile.data_path, CHAPTER)
    setup = setup_of(profile)
    per_epoch = len(make_loaders(split, batch_size=setup.batch_size)[0])
    cyclic = setup.schedule(per_epoch)
    total = cyclic.steps_for_cycles(profile.n_cycles)
    difference = largest_difference_from_torch(
        replace(cyclic, warmup_start=TORCH_WARMUP_START), total)
    return {"_split": split, "_setup": setup, "_schedule": cyclic, "steps_per_epoch": per_epoch,
            "total_steps": total, "trough_steps": cyclic.trough_steps(total),
            "trough_epochs": setup.trough_epochs(),
            "predicted_saving": setup.predicted_saving(),
            "max_torch_difference": difference,
            **data_record(split, {"data_path": profile.data_path})}


def runs(profile, state, *, progress=False) -> dict:
    """Every method and seed (``first_seed`` .. ``first_seed + seeds - 1``): one cyclic run
    and one standard run per trough budget. ``points``, ``runs`` and ``trace`` are the frames
    of :func:`~effnotes.cyclic.runs.run_comparison`; ``hardware`` (a record) and
    ``hardware_text`` (a sentence) say where they ran, with the profile's thread count."""
    from effnotes.runtime import choose_device, describe_hardware, torch_threads

    device = choose_device(profile.device)
    seeds = list(range(profile.first_seed, profile.first_seed + profile.seeds))
    threads = profile.torch_threads
    with torch_threads(threads) if threads else contextlib.nullcontext():
        hardware = describe_hardware(device)
        frames = run_comparison(get_methods(list(profile.methods)), seeds, state["_split"],
                                state["_setup"], device=device, progress=progress)
    return {"hardware": hardware.as_dict(), "hardware_text": str(hardware), **frames}


def _partial(profile, state) -> Result:
    data = {k: v for k, v in state.items() if not k.startswith("_")}
    from effnotes.chapters import profile_parameters

    return Result(CHAPTER, "live", profile_parameters(profile), data)


def gaps(profile, state, *, progress=False) -> dict:
    """The gap between the curves per method and budget (``gaps``: seed means, SDs, the gap
    ``cyclic - standard`` as a fraction and in pooled seed SDs), the same with the window cut
    at the trough (``one_sided_gaps``), and the agreement checks (``agreement``)."""
    analysis = analyse(_partial(profile, state))
    return {"gaps": analysis["gaps"].reset_index(),
            "one_sided_gaps": analysis["one_sided_gaps"].reset_index(),
            "agreement": analysis["agreement"],
            "first_difference": analysis["first_difference"]}


def effects(profile, state, *, progress=False) -> dict:
    """Each method's effect (method minus baseline, a fraction) on both curves, with its
    standard error, the across-budget correlation and its bootstrap interval over seeds
    (``effects``), the per-budget differences (``differences``) and the pooled correlation."""
    analysis = analyse(_partial(profile, state))
    boot = bootstrap_correlation(state["points"], n_boot=2000, seed=0)
    table = analysis["effects"].assign(low=boot["low"], high=boot["high"])
    return {"effects": table.reset_index(),
            "differences": method_differences(state["points"]),
            "pooled_correlation": analysis["pooled_correlation"]}


def saving(profile, state, *, progress=False) -> dict:
    """What one cyclic run saved: standard time over cyclic time per method and for ``all``
    (``saving``), per (method, seed) pair (``pair_savings``), and the mean training time per
    step of each kind of run, in milliseconds (``ms_per_step``)."""
    analysis = analyse(_partial(profile, state))
    frame = state["runs"]
    per_step = (1000 * frame["train_time_s"] / frame["steps"]).groupby(frame["kind"]).mean()
    return {"saving": analysis["saving"].rename_axis("method").reset_index(),
            "pair_savings": analysis["pair_savings"].reset_index(),
            "ms_per_step": {k: float(v) for k, v in per_step.items()}}


EXPERIMENT = Experiment(CHAPTER, [schedule, runs, gaps, effects, saving])


def run(profile, *, progress: bool = False) -> Result:
    """Every stage at ``profile`` (the chapter's :class:`~effnotes.cyclic.profiles.Profile`)."""
    return EXPERIMENT.run(profile, progress=progress)


def main(argv: list[str] | None = None) -> int:
    """``python -m effnotes.cyclic.experiment``: ``effnotes experiment cyclic_tradeoff``."""
    return experiment_main(CHAPTER, argv)


if __name__ == "__main__":
    raise SystemExit(main())
