"""The chapter registry: chapter name -> package, notebook, paper and one frozen profile each.

Every chapter is a subpackage of ``effnotes`` with the same layout (see the book's design
notes): ``profiles.py`` (a frozen ``Profile`` dataclass and one instance per profile),
``experiment.py`` (named stages and ``run(profile) -> Result``), ``claims.py``
(``claims(result, profile)`` and ``headline(result)``) and ``plots.py``. Its
``__init__.py`` registers it here with :func:`register`.

The profiles:

- ``smoke``: seconds; the tests run every chapter at it, with its correctness claims enforced;
- ``ci``: the rendered book on a 2-core CPU, at most a few minutes per chapter; its values are
  the notebook's ``parameters`` cell;
- ``gpu``: one modern GPU, minutes; its outputs are stored under ``results/<chapter>/``.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

#: The profile names, smallest first.
PROFILES = ("smoke", "ci", "gpu")

#: The book's chapters in reading order: chapter name -> the subpackage that registers it.
BOOK_ORDER = {
    "speedup": "effnotes.speedup",
    "unit_scaling": "effnotes.unit_scaling",
    "masking_schedules": "effnotes.masking",
    "cyclic_tradeoff": "effnotes.cyclic",
    "maddness": "effnotes.maddness",
    "pruning": "effnotes.pruning",
    "mil_ecg": "effnotes.mil",
}


def _plain(value: Any) -> Any:
    """A profile value as papermill and JSON see it: tuples become lists, at any depth."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def profile_parameters(profile: Any) -> dict[str, Any]:
    """A profile dataclass as a plain dict of its fields (tuples as lists), the form papermill
    injects into a notebook and a stored result records."""
    if not dataclasses.is_dataclass(profile) or isinstance(profile, type):
        raise TypeError(f"profile must be a profile dataclass instance, got "
                        f"{type(profile).__name__}")
    return {f.name: _plain(copy.deepcopy(getattr(profile, f.name)))
            for f in dataclasses.fields(profile)}


@dataclass(frozen=True)
class Chapter:
    """One chapter: its registry ``name``, page ``title``, ``notebook`` path relative to the
    book folder, the ``paper`` it reproduces, the ``package`` that implements it and one
    frozen profile dataclass per profile name."""

    name: str
    title: str
    notebook: str
    paper: str
    package: str
    profiles: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [p for p in PROFILES if p not in self.profiles]
        if missing:
            raise ValueError(f"chapter {self.name!r} lacks profiles {missing}")
        unknown = [p for p in self.profiles if p not in PROFILES]
        if unknown:
            raise ValueError(f"chapter {self.name!r} has unknown profiles {unknown}; use {PROFILES}")
        kinds = {type(p) for p in self.profiles.values()}
        if len(kinds) != 1:
            raise TypeError(f"chapter {self.name!r}: every profile must be an instance of one "
                            f"Profile dataclass, got {sorted(k.__name__ for k in kinds)}")
        kind = kinds.pop()
        if not dataclasses.is_dataclass(kind) or not kind.__dataclass_params__.frozen:
            raise TypeError(f"chapter {self.name!r}: {kind.__name__} must be a frozen dataclass")
        object.__setattr__(self, "profiles", MappingProxyType(dict(self.profiles)))

    @property
    def profile_class(self) -> type:
        """The chapter's ``Profile`` dataclass."""
        return type(self.profiles["ci"])

    def profile(self, profile: str) -> Any:
        """The frozen profile called ``profile``."""
        check_profile(profile)
        return self.profiles[profile]

    def parameters(self, profile: str) -> dict[str, Any]:
        """The papermill parameters of ``profile``: a plain dict (tuples as lists), a fresh
        copy each call, so changing it never changes the registry."""
        return profile_parameters(self.profile(profile))

    def notebook_path(self, book_dir: Path) -> Path:
        return Path(book_dir) / self.notebook

    def module(self, name: str) -> ModuleType:
        """The chapter's ``experiment``, ``claims`` or ``plots`` module (imported on first use)."""
        return importlib.import_module(f"{self.package}.{name}")


def check_profile(profile: str) -> str:
    """``profile`` if it is one of :data:`PROFILES`; a ``ValueError`` naming them otherwise."""
    if not isinstance(profile, str) or profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {PROFILES}")
    return profile


_REGISTRY: dict[str, Chapter] = {}


def register(chapter: Chapter) -> Chapter:
    """Add a chapter (a chapter package calls this on import); registering the same chapter
    again returns it, and a different chapter under a taken name is refused."""
    if not isinstance(chapter, Chapter):
        raise TypeError(f"chapter must be a Chapter, got {type(chapter).__name__}")
    known = _REGISTRY.get(chapter.name)
    if known is not None:
        if known.package == chapter.package:
            return known
        raise ValueError(f"a chapter named {chapter.name!r} is already registered by "
                         f"{known.package}")
    _REGISTRY[chapter.name] = chapter
    return chapter


def _load_book() -> None:
    for package in BOOK_ORDER.values():
        importlib.import_module(package)


def chapters() -> list[Chapter]:
    """All the book's chapters, in reading order (then any other registered chapter)."""
    _load_book()
    return [_REGISTRY[name] for name in BOOK_ORDER if name in _REGISTRY] + \
        [chapter for name, chapter in _REGISTRY.items() if name not in BOOK_ORDER]


def get_chapter(name: str) -> Chapter:
    """The chapter called ``name``; a clear error lists the known names otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"chapter name must be a string, got {type(name).__name__}")
    if name in BOOK_ORDER:
        importlib.import_module(BOOK_ORDER[name])
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(BOOK_ORDER)
        raise KeyError(f"no chapter named {name!r}; registered chapters: {known}") from None
