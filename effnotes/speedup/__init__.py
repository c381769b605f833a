"""Measuring speedups: recipes compared on tradeoff curves, where a training step's time goes,
and theoretical vs measured speedups (the chapter "Measuring speedups")."""

from effnotes.chapters import Chapter, register
from effnotes.speedup.profiles import PROFILES as _PROFILES

CHAPTER = register(Chapter(
    name='speedup',
    title='Measuring speedups',
    notebook='speedup.ipynb',
    paper='Bartoldson, Kailkhura & Blalock, JMLR 2023',
    package=__name__,
    profiles=_PROFILES,
))

from effnotes.speedup.kernels import sparse_vs_narrow
from effnotes.speedup.pipeline import (DelayedDataset, actual_sleep_s, PipelineRun, amdahl_experiment,
                                       bottleneck_experiment, time_one_epoch)
from effnotes.speedup.recipes import RECIPES, DigitsMLP, Recipe, run_budget_sweep, sweeps_by_recipe
from effnotes.speedup.taxonomy import ACTIONS, COMPONENTS, book_taxonomy

__all__ = [
    "sparse_vs_narrow",
    "DelayedDataset", "actual_sleep_s", "PipelineRun", "amdahl_experiment", "bottleneck_experiment", "time_one_epoch",
    "RECIPES", "DigitsMLP", "Recipe", "run_budget_sweep", "sweeps_by_recipe",
    "ACTIONS", "COMPONENTS", "book_taxonomy",
]
