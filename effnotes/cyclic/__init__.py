"""Tradeoff curves from one run with a multiplicative cyclic learning rate (the chapter
"Tradeoff curves from one run", after Portes, Blalock, Stephenson & Frankle, 2022).

- :mod:`effnotes.cyclic.schedule` the schedule, as a multiplier for any torch optimiser;
- :mod:`effnotes.cyclic.readoff` trough points of one run, as tradeoff curves;
- :mod:`effnotes.cyclic.runs` methods on the digits CNN, cyclic and standard runs;
- :mod:`effnotes.cyclic.compare` gaps, method-effect correlations and the cost saving;
- :mod:`effnotes.cyclic.experiment` the experiment as named stages, and `run(profile)`;
- :mod:`effnotes.cyclic.analysis` what a run (live or stored) concludes, from its tables;
- :mod:`effnotes.cyclic.claims` the claims table, headline numbers and verdict sentences;
- :mod:`effnotes.cyclic.plots` the figures and the page's tables.
"""

from effnotes.chapters import Chapter, register
from effnotes.cyclic.profiles import PROFILES as _PROFILES

CHAPTER = register(Chapter(
    name='cyclic_tradeoff',
    title='Tradeoff curves from one run: multiplicative cyclic learning rates',
    notebook='cyclic_tradeoff.ipynb',
    paper='Portes, Blalock, Stephenson & Frankle, 2022',
    package=__name__,
    profiles=_PROFILES,
))

from effnotes.cyclic.compare import (bootstrap_correlation, chance_of_exceeding, cost_saving,
                                     curve_gaps, effect_summary, method_differences, pair_savings,
                                     pooled_correlation)
from effnotes.cyclic.readoff import (curve_from_points, evaluation_steps, reread_runs,
                                     sweep_from_points, trough_points, troughs_from_rates)
from effnotes.cyclic.runs import METHODS, CyclicSetup, Method, get_methods, run_comparison
from effnotes.cyclic.schedule import CyclicSchedule, torch_reference_scheduler

__all__ = [
    "bootstrap_correlation", "chance_of_exceeding", "cost_saving", "curve_gaps",
    "effect_summary", "method_differences", "pair_savings", "pooled_correlation",
    "curve_from_points", "evaluation_steps", "reread_runs", "sweep_from_points",
    "trough_points", "troughs_from_rates",
    "METHODS", "CyclicSetup", "Method", "get_methods", "run_comparison",
    "CyclicSchedule", "torch_reference_scheduler",
]
