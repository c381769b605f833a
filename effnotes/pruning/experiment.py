"""The chapter's controlled experiments as one call, for running a profile without Jupyter.

``python -m effnotes.pruning.experiment --profile gpu --store`` runs the grid, the pitfall
experiments and the timing with the registry's parameters and stores
``results/pruning/<profile>.json`` with provenance.
"""

from __future__ import annotations

import copy

from effnotes.data.digits import make_loaders
from effnotes.data.images import data_record, load_images
from effnotes.models import DigitsCNN
from effnotes.pruning.analysis import inference_speedup, layer_sensitivity
from effnotes.pruning.grid import PruningGrid, run_pruning_grid, train_dense
from effnotes.pruning.strategies import prune_model
from effnotes.profile_runner import profile_main
from effnotes.runtime import choose_device, describe_hardware
from effnotes.training import TrainConfig

CHAPTER = "pruning"

#: Two starting checkpoints for the same architecture, differing only in the optimiser's
#: learning rate (the paper's ResNet-56 example used Adam at 1e-3 and 1e-4).
CHECKPOINTS = {"adam-1e-3": 1e-3, "adam-1e-4": 1e-4}


def grids(params: dict) -> dict[str, PruningGrid]:
    """The main grid and the two checkpoint grids of a profile's parameters."""
    pretrain = TrainConfig(epochs=params["pretrain_epochs"], lr=0.05, momentum=0.9,
                           schedule="cosine", progress=False)
    finetune = TrainConfig(epochs=params["finetune_epochs"], lr=0.01, momentum=0.9,
                           schedule="cosine", progress=False)
    seeds = tuple(range(params["seeds"]))
    made = {"main": PruningGrid(compressions=tuple(params["compressions"]), seeds=seeds,
                                pretrain=pretrain, finetune=finetune)}
    for name, lr in CHECKPOINTS.items():
        made[name] = PruningGrid(strategies=("global_magnitude", "layer_magnitude"),
                                 compressions=tuple(params["flip_compressions"]), seeds=seeds,
                                 pretrain=TrainConfig(epochs=params["pretrain_epochs"], lr=lr,
                                                      optimizer="adamw", schedule="cosine",
                                                      progress=False),
                                 finetune=finetune)
    return made


def model_factory(params: dict, split=None):
    """A factory of the profile's CNN, sized for ``split``'s images (the digits if None)."""
    if split is None:
        return lambda: DigitsCNN(params["channels"], params["hidden"])
    c, h, w = split.image_shape
    return lambda: DigitsCNN(params["channels"], params["hidden"], split.n_classes,
                             in_channels=c, image_size=(h, w))


def run_profile(params: dict, *, progress: bool = False) -> dict:
    """Everything the chapter measures on its own models, as plain data."""
    device = choose_device(params["device"])
    split = load_images(params.get("data_path"), CHAPTER)
    factory = model_factory(params, split)
    made = grids(params)
    frames = {name: run_pruning_grid(factory, split, grid, model_name=f"cnn-{name}",
                                     device=device, progress=progress)
              for name, grid in made.items()}
    dense = train_dense(factory, split, made["main"].pretrain, seed=0, device=device)
    _, val_loader, _ = make_loaders(split)
    sensitivity = layer_sensitivity(dense, val_loader, amount=0.5, device=device)
    pruned = copy.deepcopy(dense)
    prune_model(pruned, "global_magnitude", max(params["compressions"]))
    timing = inference_speedup(dense, pruned, split.image_shape, batch=params["timing_batch"],
                               min_run_time=params["timing_min_run_time"])
    return {"hardware": describe_hardware(device).as_dict(), **data_record(split, params),
            "grid": frames["main"],
            "checkpoints": {name: frames[name] for name in CHECKPOINTS},
            "sensitivity": sensitivity, "timing": timing}


def _report(data: dict, params: dict) -> None:
    summary = data["grid"].groupby(["strategy", "compression"])["test_acc_finetuned"]
    print(summary.agg(["mean", "std"]).round(4).to_string())
    print("inference timing:", data["timing"])


def main(argv: list[str] | None = None) -> int:
    return profile_main("pruning", run_profile, _report, argv, description=__doc__)


if __name__ == "__main__":
    raise SystemExit(main())
