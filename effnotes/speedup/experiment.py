"""The chapter's whole experiment as one call, for running a profile without Jupyter.

``python -m effnotes.speedup.experiment --profile gpu --store`` runs what the notebook runs,
with the registry's parameters for that profile, and stores the outcome as
``results/speedup/<profile>.json`` with provenance; the notebook shows it beside its live run.
"""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd
from torch.utils.data import TensorDataset

from effnotes.data.images import data_record, load_images
from effnotes.profile_runner import profile_main
from effnotes.results import as_frame
from effnotes.runtime import choose_device, describe_hardware
from effnotes.speedup.kernels import sparse_vs_narrow
from effnotes.speedup.pipeline import amdahl_experiment, bottleneck_experiment
from effnotes.speedup.recipes import RECIPES, DigitsMLP, run_budget_sweep, sweeps_by_recipe
from effnotes.tradeoff import bootstrap_speedup


def run_profile(params: dict, *, progress: bool = False) -> dict:
    """Run the sweep, the pipeline experiments and the kernel timings with ``params`` (a
    profile's parameters from the registry); return plain data ready to store."""
    device = choose_device(params["device"])
    split = load_images(params.get("data_path"), "speedup")
    seeds = list(range(params["seeds"]))
    runs = run_budget_sweep(list(RECIPES.values()), list(params["budgets"]), seeds, split,
                            device=device, progress=progress)
    by_time = sweeps_by_recipe(runs)
    by_epochs = sweeps_by_recipe(runs.assign(epochs=runs["budget"]), cost="epochs", cost_unit="epochs")
    estimates = {
        unit: asdict(bootstrap_speedup(sweeps["baseline"], sweeps["improved"],
                                       params["target_accuracy"], n_boot=params["n_boot"]))
        for unit, sweeps in (("time", by_time), ("epochs", by_epochs))}
    dataset = TensorDataset(split.x_train, split.y_train)
    bottleneck = bottleneck_experiment(lambda: DigitsMLP.for_split(split, 256), dataset,
                                       delay_s=params["pipeline_delay_ms"] / 1000,
                                       batches=params["pipeline_batches"],
                                       repeats=params["pipeline_repeats"], device=device)
    amdahl = amdahl_experiment(lambda: DigitsMLP.for_split(split, params["amdahl_wide"]),
                               lambda: DigitsMLP.for_split(split, params["amdahl_wide"] // 4),
                               dataset,
                               batches=params["amdahl_batches"],
                               repeats=params["pipeline_repeats"], device=device)
    kernels = sparse_vs_narrow(params["timing_width"], params["timing_batch"], device=device,
                               min_run_time=params["timing_min_run_time"])
    return {
        "hardware": describe_hardware(device).as_dict(),
        **data_record(split, params),
        "sweep": runs,
        "speedup": estimates,
        "bottleneck": bottleneck,
        "amdahl": {k: v for k, v in amdahl.items() if k != "runs"} | {"runs": amdahl["runs"]},
        "kernels": kernels,
    }


def headline_numbers(result: dict) -> pd.Series:
    """The chapter's headline figures from a :func:`run_profile` result, live (with frames)
    or read back from JSON (with lists of records), so two runs can be set side by side."""
    bottleneck = as_frame(result["bottleneck"]).set_index("workers")
    kernels = as_frame(result["kernels"]).set_index("variant")["measured_speedup"]
    amdahl = result["amdahl"]
    numbers = {
        "recipe speedup at the target (wall time)": result["speedup"]["time"]["speedup"],
        "recipe speedup at the target (epochs)": result["speedup"]["epochs"]["speedup"],
        "injected delay charged to data-wait (0 workers)": bottleneck.loc[0, "attributed_to_data_wait"],
        "Amdahl: compute speedup s (in the pipeline)": amdahl["compute_speedup"],
        "Amdahl: compute speedup s (no delay)": amdahl.get("compute_speedup_clean", float("nan")),
        "Amdahl: predicted speedup": amdahl["predicted_speedup"],
        "Amdahl: predicted from the no-delay s": amdahl.get("predicted_from_clean", float("nan")),
        "Amdahl: measured speedup": amdahl["measured_speedup"],
    }
    numbers |= {f"layer: {variant}": value for variant, value in kernels.iloc[1:].items()}
    return pd.Series(numbers, dtype=float)


def _report(data: dict, params: dict) -> None:
    print(f"speedup at accuracy {params['target_accuracy']}: {data['speedup']}")
    print(data["kernels"].to_string())


def main(argv: list[str] | None = None) -> int:
    return profile_main("speedup", run_profile, _report, argv, description=__doc__)


if __name__ == "__main__":
    raise SystemExit(main())
