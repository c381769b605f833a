"""The chapter's experiment as named stages: the literature, the main grid, the layer
sensitivity, the two checkpoint grids and the inference timing.

``effnotes experiment pruning --profile gpu --store`` runs every stage and stores
``results/pruning/gpu.json`` with provenance; the notebook calls the stages one at a time.
``python -m effnotes.pruning.experiment`` is the same command (an alias).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from effnotes.contract import Experiment, Result
from effnotes.data.digits import make_loaders
from effnotes.data.images import data_record, load_images
from effnotes.experiment_runner import experiment_main
from effnotes.models import DigitsCNN
from effnotes.pruning import literature as lit
from effnotes.pruning.analysis import inference_speedup, layer_sensitivity
from effnotes.pruning.grid import PruningGrid, run_pruning_grid, train_dense
from effnotes.pruning.metrics import size_report
from effnotes.pruning.report import flip_summary
from effnotes.pruning.strategies import prune_model
from effnotes.runtime import choose_device, describe_hardware
from effnotes.training import TrainConfig

CHAPTER = "pruning"

#: Two starting checkpoints for the same architecture, differing only in the optimiser's
#: learning rate (the paper's ResNet-56 example used Adam at 1e-3 and 1e-4).
CHECKPOINTS = {"adam-1e-3": 1e-3, "adam-1e-4": 1e-4}


def _field(profile, name: str):
    return profile[name] if isinstance(profile, Mapping) else getattr(profile, name)


def seeds_of(profile) -> tuple[int, ...]:
    """The seeds a profile runs: ``first_seed .. first_seed + seeds - 1``."""
    return tuple(range(profile.first_seed, profile.first_seed + profile.seeds))


def grids(profile) -> dict[str, PruningGrid]:
    """The main grid and the two checkpoint grids of a profile (a ``Profile``)."""
    pretrain = TrainConfig(epochs=profile.pretrain_epochs, lr=0.05, momentum=0.9,
                           schedule="cosine", progress=False)
    finetune = TrainConfig(epochs=profile.finetune_epochs, lr=0.01, momentum=0.9,
                           schedule="cosine", progress=False)
    seeds = seeds_of(profile)
    made = {"main": PruningGrid(compressions=tuple(profile.compressions), seeds=seeds,
                                pretrain=pretrain, finetune=finetune)}
    for name, lr in CHECKPOINTS.items():
        made[name] = PruningGrid(strategies=("global_magnitude", "layer_magnitude"),
                                 compressions=tuple(profile.flip_compressions), seeds=seeds,
                                 pretrain=TrainConfig(epochs=profile.pretrain_epochs, lr=lr,
                                                      optimizer="adamw", schedule="cosine",
                                                      progress=False),
                                 finetune=finetune)
    return made


def model_factory(profile, split=None):
    """A factory of the profile's CNN (``profile`` a ``Profile`` or a mapping with
    ``channels`` and ``hidden``), sized for ``split``'s images (the digits if None)."""
    channels, hidden = _field(profile, "channels"), _field(profile, "hidden")
    if split is None:
        return lambda: DigitsCNN(channels, hidden)
    c, h, w = split.image_shape
    return lambda: DigitsCNN(channels, hidden, split.n_classes, in_channels=c,
                             image_size=(h, w))


def literature(profile, state, *, progress=False) -> dict:
    """The meta-analysis rebuilt from the shipped ShrinkBench tables: ``literature`` (the
    counts, and the inputs of the checks that they add up), ``gale`` (magnitude against random
    pruning of ResNet-50, top-1 in %, per sparsity), and in memory the tables the figures
    draw (``_comparisons``, ``_fragments``, ``_tradeoffs``, ``_architectures``,
    ``_pruned_points``)."""
    papers = lit.load_papers()
    comparisons = lit.comparison_summary(lit.comparison_counts(papers))
    fragments = lit.fragmentation(papers)
    tradeoffs = lit.reported_tradeoffs(lit.load_results())
    architectures = lit.architecture_families()
    points = lit.pruned_on_architecture_axes(tradeoffs.table, architectures)
    dominated = lit.dominated_by_architectures(points, architectures).dropna()
    histogram = comparisons.histogram
    counts = {
        "n_papers": int(comparisons.n_papers), "n_paper_rows": int(len(papers)),
        "n_papers_in_histogram": int(histogram["n_papers"].sum()),
        "n_none": int(comparisons.n_compare_to_none),
        "n_at_most_one": int(comparisons.n_compare_to_at_most_one),
        "n_at_most_one_in_histogram": int(
            histogram.loc[histogram["n_compares_to"] <= 1, "n_papers"].sum()),
        "n_datasets": int(fragments.n_datasets), "n_architectures": int(fragments.n_architectures),
        "n_pairs": int(fragments.n_pairs), "n_pairs_paper": lit.PAPER_PAIR_COUNT,
        "common_pair": " / ".join(fragments.most_common_pair),
        "common_pair_papers": int(fragments.most_common_pair_papers),
        "top_pair_papers": int(fragments.pairs["n_papers"].max()),
        "n_single_pairs": int(fragments.n_pairs_in_one_paper),
        "n_results": int(tradeoffs.n_results),
        "n_vs_compression": int(tradeoffs.n_vs_compression),
        "n_vs_speedup": int(tradeoffs.n_vs_speedup),
        "n_pruned_points": int(len(dominated)),
        "dominated_share": float(dominated.astype(bool).mean()),
    }
    return {"literature": counts, "gale": lit.magnitude_vs_random().reset_index(drop=True),
            "_comparisons": comparisons, "_fragments": fragments, "_tradeoffs": tradeoffs,
            "_architectures": architectures, "_pruned_points": points}


def main_grid(profile, state, *, progress=False) -> dict:
    """The controlled experiment: every strategy at every compression for every seed (one
    row per cell, see :func:`~effnotes.pruning.grid.run_pruning_grid`) as ``grid``; the
    ``hardware``; in memory the data split, device and model factory."""
    device = choose_device(profile.device)
    split = load_images(profile.data_path, CHAPTER)
    factory = model_factory(profile, split)
    grid = run_pruning_grid(factory, split, grids(profile)["main"], model_name="cnn-main",
                            device=device, input_shape=split.image_shape, progress=progress)
    return {"hardware": describe_hardware(device).as_dict(),
            **data_record(split, {"data_path": profile.data_path}), "grid": grid,
            "n_params": int(sum(p.numel() for p in factory().parameters())),
            "_split": split, "_device": device, "_factory": factory}


def sensitivity(profile, state, *, progress=False) -> dict:
    """Validation accuracy after pruning half of one layer's weights at random, one layer at a
    time, of the first seed's dense model (``sensitivity``: layer, weights, accuracy)."""
    split, device = state["_split"], state["_device"]
    dense = train_dense(state["_factory"], split, grids(profile)["main"].pretrain,
                        seed=profile.first_seed, device=device)
    _, val_loader, _ = make_loaders(split)
    table = layer_sensitivity(dense, val_loader, amount=0.5, device=device)
    return {"sensitivity": table, "_dense": dense}


def checkpoints(profile, state, *, progress=False) -> dict:
    """Pitfall 1: global against layerwise magnitude pruning from two dense checkpoints
    (AdamW at the two rates of :data:`CHECKPOINTS`): ``checkpoints`` (each one's grid) and
    ``flip`` (the comparison in numbers and the sentence the page prints, see
    :func:`~effnotes.pruning.report.flip_summary`)."""
    made = grids(profile)
    frames = {name: run_pruning_grid(state["_factory"], state["_split"], made[name],
                                     model_name=f"cnn-{name}", device=state["_device"],
                                     input_shape=state["_split"].image_shape,
                                     progress=progress)
              for name in CHECKPOINTS}
    return {"checkpoints": frames, "flip": flip_summary(frames)}


def timing(profile, state, *, progress=False) -> dict:
    """Pitfall 3: seconds of one forward pass of ``timing_batch`` images through the dense
    model, its global-magnitude-pruned copy at the largest compression as pruned and with the
    masks folded in, the two measured speedups, and the pruned copy's
    ``theoretical_speedup`` (see :func:`~effnotes.pruning.analysis.inference_speedup`)."""
    dense, split = state["_dense"], state["_split"]
    pruned = copy.deepcopy(dense)
    prune_model(pruned, "global_magnitude", max(profile.compressions))
    measured = inference_speedup(dense, pruned, split.image_shape, batch=profile.timing_batch,
                                 min_run_time=profile.timing_min_run_time)
    theoretical = size_report(pruned, split.image_shape).theoretical_speedup
    return {"timing": {**measured, "theoretical_speedup": float(theoretical),
                       "compression": float(max(profile.compressions))}}


EXPERIMENT = Experiment(CHAPTER, [literature, main_grid, sensitivity, checkpoints, timing])


def run(profile, *, progress: bool = False) -> Result:
    """Every stage at ``profile`` (the chapter's ``Profile``); the
    :class:`~effnotes.contract.Result`."""
    return EXPERIMENT.run(profile, progress=progress)


def main(argv: list[str] | None = None) -> int:
    """``python -m effnotes.pruning.experiment``: an alias of ``effnotes experiment pruning``."""
    return experiment_main(CHAPTER, argv)


if __name__ == "__main__":
    raise SystemExit(main())
