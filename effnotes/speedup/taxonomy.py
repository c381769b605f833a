"""The book's chapters placed on the survey's taxonomy of algorithmic speedups.

The survey (Bartoldson, Kailkhura & Blalock, JMLR 2023) sorts methods by the *component* of
training they change and the *action* they take on it. The placements below are this book's
reading of where each chapter's method sits, not the survey's own table; a chapter that is
about evaluation or about a task rather than a speedup says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from effnotes.chapters import chapters

COMPONENTS = ("function", "data", "optimization")
ACTIONS = ("remove", "restrict", "reorder", "replace", "retrofit")


@dataclass(frozen=True)
class Placement:
    """Where one chapter sits: ``component`` and ``action`` (or ``None`` when the chapter is
    not itself a speedup method), and a one-line reason."""

    chapter: str
    method: str
    component: str | None
    action: str | None
    reason: str

    def __post_init__(self) -> None:
        if self.component is not None and self.component not in COMPONENTS:
            raise ValueError(f"unknown component {self.component!r}; choose from {COMPONENTS}")
        if self.action is not None and self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}; choose from {ACTIONS}")


PLACEMENTS = (
    Placement("speedup", "measuring speedups", None, None,
              "evaluation: how to measure any method below"),
    Placement("unit_scaling", "μnit Scaling (FP8 training)", "function", "restrict",
              "hidden matrix products restricted to 8-bit floats, kept in range by static scales"),
    Placement("masking_schedules", "masking-rate schedules", "data", "reorder",
              "changes how hard each training example is as training proceeds"),
    Placement("cyclic_tradeoff", "cyclic learning rates", None, None,
              "evaluation: a whole tradeoff curve from one run"),
    Placement("maddness", "MADDNESS", "function", "replace",
              "matrix products replaced by hashing and table lookups"),
    Placement("pruning", "pruning", "function", "remove",
              "parameters removed from a trained network"),
    Placement("mil_ecg", "multiple instance learning on ECGs", None, None,
              "a learning problem, not a speedup: cheap labels (one per patient) instead of "
              "costly beat-level annotation"),
)


def book_taxonomy() -> pd.DataFrame:
    """One row per chapter: method, component, action, reason, and whether the chapter is
    already registered in this version of the book."""
    registered = {c.name for c in chapters()}
    frame = pd.DataFrame([asdict(p) for p in PLACEMENTS])
    frame["in_this_build"] = frame["chapter"].isin(registered)
    return frame.fillna({"component": "—", "action": "—"})
