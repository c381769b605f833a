"""The chapter's whole experiment as one call, for running a profile without Jupyter.

``python -m effnotes.cyclic.experiment --profile gpu --store`` runs what the notebook runs,
with the registry's parameters for that profile, and stores the outcome as
``results/cyclic_tradeoff/<profile>.json`` with provenance; the notebook shows it beside its
live run. It needs torch, numpy, pandas and scikit-learn only (no Jupyter).
"""

from __future__ import annotations

import contextlib

import pandas as pd

from effnotes.cyclic.compare import (cost_saving, curve_gaps, effect_summary, pair_savings,
                                     pooled_correlation)
from effnotes.cyclic.runs import CyclicSetup, get_methods, run_comparison
from effnotes.data.images import data_record, load_images
from effnotes.profile_runner import profile_main
from effnotes.results import as_frame
from effnotes.runtime import choose_device, describe_hardware, torch_threads

CHAPTER = "cyclic_tradeoff"


def setup_from_params(params: dict) -> CyclicSetup:
    """The :class:`CyclicSetup` a profile's parameters describe."""
    return CyclicSetup(warmup_epochs=params["warmup_epochs"],
                       first_cycle_epochs=params["first_cycle_epochs"],
                       multiplier=params["multiplier"], n_cycles=params["n_cycles"],
                       lr=params["lr"], channels=params["channels"],
                       eval_every_steps=params["eval_every_steps"], window=params["window"])


def run_profile(params: dict, *, progress: bool = False) -> dict:
    """Run every method with every seed, cyclic and standard, with ``params`` (a profile's
    parameters from the registry); return plain data ready to store."""
    device = choose_device(params["device"])
    setup = setup_from_params(params)
    methods = get_methods(list(params["methods"]))
    split = load_images(params.get("data_path"), CHAPTER)
    threads = params["torch_threads"]
    with torch_threads(threads) if threads else contextlib.nullcontext():
        hardware = describe_hardware(device).as_dict()
        frames = run_comparison(methods, list(range(params["seeds"])), split, setup,
                                device=device, progress=progress)
    return {"hardware": hardware, **data_record(split, params),
            "predicted_saving": setup.predicted_saving(),
            "trough_epochs": setup.trough_epochs(), **frames}


def analyse(result: dict) -> dict:
    """Gaps, effects, correlations and savings of a :func:`run_profile` result, live (with
    frames) or read back from JSON (with lists of records)."""
    points, runs = as_frame(result["points"]), as_frame(result["runs"])
    return {"gaps": curve_gaps(points), "effects": effect_summary(points),
            "pooled_correlation": pooled_correlation(points), "saving": cost_saving(runs),
            "pair_savings": pair_savings(runs)}


def headline_numbers(result: dict) -> pd.Series:
    """The chapter's headline figures, so two runs (CPU live, GPU stored) sit side by side."""
    analysis = analyse(result)
    gaps, effects = analysis["gaps"], analysis["effects"]
    later = gaps[~gaps["first_budget"]]
    numbers = {
        "cost saving, measured (x)": analysis["saving"]["all"],
        "cost saving, median over (method, seed) pairs (x)": analysis["pair_savings"].median(),
        "cost saving, predicted from steps (x)": result["predicted_saving"],
        "largest |gap| after the first budget (seed SDs)": later["gap_in_sd"].max(),
        "largest |gap| after the first budget (pp)": 100 * later["gap"].abs().max(),
        "correlation, all methods pooled": analysis["pooled_correlation"],
    }
    for method, row in effects.iterrows():
        numbers[f"{method}: effect on standard curve (pp)"] = 100 * row["standard_effect"]
        numbers[f"{method}: effect / SE"] = row["z"]
        numbers[f"{method}: correlation"] = row["correlation"]
    return pd.Series(numbers, dtype=float)


def _report(data: dict, params: dict) -> None:
    with pd.option_context("display.width", 120):
        print(headline_numbers(data).round(3).to_string())


def main(argv: list[str] | None = None) -> int:
    return profile_main(CHAPTER, run_profile, _report, argv, description=__doc__)


if __name__ == "__main__":
    raise SystemExit(main())
