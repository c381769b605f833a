"""The chapter contract: an experiment of named stages, one result object, and the profile a
notebook runs at.

Each chapter's ``experiment.py`` builds one :class:`Experiment` from its stage functions::

    EXPERIMENT = Experiment("pruning", [literature, dense_models, grid, timing])

    def run(profile, *, progress=False) -> Result:
        return EXPERIMENT.run(profile, progress=progress)

A stage is a function ``stage(profile, state, *, progress) -> dict``: it reads what earlier
stages left in ``state`` (a read-only mapping) and returns its own outputs. Outputs whose
name starts with ``_`` (a trained model, a data split) stay in memory for later stages and
are not part of the result; the rest must be storable (numbers, strings, lists, dicts,
DataFrames). A notebook calls the stages one at a time for its narrative::

    run = EXPERIMENT.start(profile)
    grid = run.stage("grid")["grid"]
    ...
    result = run.result()

and a script (``effnotes experiment CHAPTER``) calls them all with :meth:`Experiment.run`.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from effnotes.chapters import PROFILES, get_chapter, profile_parameters

Stage = Callable[..., Mapping[str, Any]]


@dataclass(frozen=True)
class Result:
    """One run of a chapter's experiment: ``data`` (the stage outputs, storable), the
    ``parameters`` it ran with, the ``profile`` name, and for a stored run its
    ``provenance`` and file ``path`` (both ``None`` for a live run).

    A live result holds DataFrames where a stored one holds lists of records; a chapter's
    ``claims`` and ``headline`` read both (see :func:`effnotes.results.as_frame`)."""

    chapter: str
    profile: str
    parameters: Mapping[str, Any]
    data: Mapping[str, Any]
    provenance: Mapping[str, Any] | None = None
    path: Path | None = None

    @property
    def stored(self) -> bool:
        """Whether this is a stored run (it has a provenance)."""
        return self.provenance is not None

    def __getitem__(self, key: str) -> Any:
        try:
            return self.data[key]
        except KeyError:
            raise KeyError(f"the {self.chapter} result has no {key!r}; it has "
                           f"{sorted(self.data)}") from None

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def describe(self) -> str:
        """Where the run came from, for the page."""
        if self.provenance is None:
            return f"this page's live run, profile {self.profile}"
        p = self.provenance
        wall = p.get("wall_time_s")
        wall_text = "?" if wall is None else f"{wall:.0f} s"
        return (f"{p.get('device', '?')}, profile {p.get('profile', '?')}, commit "
                f"{str(p.get('git_commit', '?'))[:12]}, {p.get('date_utc', '?')}, {wall_text}")


def stored_result(chapter: str, name: str = "gpu", root: Path | None = None) -> Result | None:
    """The stored run ``results/<chapter>/<name>.json`` as a :class:`Result`, or ``None`` when
    nothing is stored under that name."""
    from effnotes.results import has_result, load_result

    if not has_result(chapter, name, root):
        return None
    stored = load_result(chapter, name, root)
    p = stored.provenance
    return Result(chapter=chapter, profile=p["profile"], parameters=p["parameters"],
                  data=stored.data, provenance=p, path=stored.path)


class Experiment:
    """A chapter's experiment: an ordered list of named stage functions."""

    def __init__(self, chapter: str, stages: Sequence[Stage]):
        if not isinstance(chapter, str) or not chapter:
            raise ValueError(f"chapter must be a chapter name, got {chapter!r}")
        stages = list(stages)
        if not stages:
            raise ValueError("an experiment needs at least one stage")
        for stage in stages:
            if not callable(stage):
                raise TypeError(f"stages must be functions, got {type(stage).__name__}")
            accepted = inspect.signature(stage).parameters
            if "progress" not in accepted:
                raise TypeError(f"stage {stage.__name__} must accept a keyword 'progress'")
        names = [stage.__name__ for stage in stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be unique, got {names}")
        self.chapter = chapter
        self.stages = dict(zip(names, stages))

    @property
    def stage_names(self) -> tuple[str, ...]:
        """The stages' names, in the order they run."""
        return tuple(self.stages)

    def start(self, profile: Any, *, progress: bool = False) -> ExperimentRun:
        """A run at ``profile`` (the chapter's profile dataclass) with no stage run yet."""
        return ExperimentRun(self, check_profile_object(self.chapter, profile), progress)

    def run(self, profile: Any, *, progress: bool = False,
            profile_name: str | None = None) -> Result:
        """Every stage in order; the :class:`Result`."""
        run = self.start(profile, progress=progress)
        for name in self.stages:
            run.stage(name)
        return run.result(profile_name)


class ExperimentRun:
    """An experiment in progress: stages run in order, each once."""

    def __init__(self, experiment: Experiment, profile: Any, progress: bool):
        self.experiment = experiment
        self.profile = profile
        self.progress = bool(progress)
        self._state: dict[str, Any] = {}
        self.done: list[str] = []

    @property
    def state(self) -> Mapping[str, Any]:
        """Everything the stages run so far produced (read-only)."""
        return MappingProxyType(self._state)

    def stage(self, name: str) -> Mapping[str, Any]:
        """Run the stage ``name`` (the earlier stages must have run, and this one not yet);
        return its outputs."""
        names = self.experiment.stage_names
        if name not in names:
            raise KeyError(f"{self.experiment.chapter} has no stage {name!r}; its stages are "
                           f"{list(names)}")
        if name in self.done:
            raise RuntimeError(f"stage {name!r} has already run")
        expected = names[len(self.done)]
        if name != expected:
            raise RuntimeError(f"stage {name!r} cannot run yet: next is {expected!r} "
                               f"(stages run in the order {list(names)})")
        outputs = self.experiment.stages[name](self.profile, self.state, progress=self.progress)
        if not isinstance(outputs, Mapping):
            raise TypeError(f"stage {name!r} must return a mapping, got "
                            f"{type(outputs).__name__}")
        clash = [key for key in outputs if key in self._state]
        if clash:
            raise RuntimeError(f"stage {name!r} returned {clash}, which earlier stages made")
        self._state.update(outputs)
        self.done.append(name)
        return MappingProxyType(dict(outputs))

    def result(self, profile_name: str | None = None) -> Result:
        """The run's :class:`Result` (every stage must have run). ``profile_name`` names the
        profile (found from the registry when the profile is one of its own)."""
        missing = [n for n in self.experiment.stage_names if n not in self.done]
        if missing:
            raise RuntimeError(f"stages {missing} have not run")
        chapter = get_chapter(self.experiment.chapter)
        if profile_name is None:
            profile_name = next((name for name, p in chapter.profiles.items()
                                 if p == self.profile), "custom")
        data = {k: v for k, v in self._state.items() if not k.startswith("_")}
        return Result(chapter=self.experiment.chapter, profile=profile_name,
                      parameters=profile_parameters(self.profile), data=data)


def check_profile_object(chapter: str, profile: Any) -> Any:
    """``profile`` if it is an instance of the chapter's ``Profile`` dataclass."""
    kind = get_chapter(chapter).profile_class
    if not isinstance(profile, kind):
        raise TypeError(f"profile must be a {kind.__module__}.{kind.__name__} (for example "
                        f"effnotes.chapters.get_chapter({chapter!r}).profile('ci')), got "
                        f"{type(profile).__name__}")
    return profile


def notebook_profile(chapter: str, namespace: Mapping[str, Any]) -> Any:
    """The chapter's profile rebuilt from a notebook's namespace (``globals()``), where the
    ``parameters`` cell (and papermill's injected cell) defined one variable per field.
    Lists become tuples; a missing field without a default is an error that names it."""
    kind = get_chapter(chapter).profile_class
    missing = [f.name for f in dataclasses.fields(kind) if f.name not in namespace
               and f.default is dataclasses.MISSING]
    if missing:
        raise NameError(f"the notebook defines no {missing}: the parameters cell must set "
                        f"every field of {kind.__name__}")
    return kind(**{f.name: _frozen(namespace[f.name]) for f in dataclasses.fields(kind)
                   if f.name in namespace})


def _frozen(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def profile_with(profile: Any, **changes: Any) -> Any:
    """A copy of ``profile`` with ``changes``; an unknown field is an error that names it."""
    names = {f.name for f in dataclasses.fields(profile)}
    unknown = sorted(set(changes) - names)
    if unknown:
        raise TypeError(f"{type(profile).__name__} has no fields {unknown}")
    return dataclasses.replace(profile, **{k: _frozen(v) for k, v in changes.items()})


__all__ = ["Experiment", "ExperimentRun", "PROFILES", "Result", "check_profile_object",
           "notebook_profile", "profile_with", "stored_result"]
