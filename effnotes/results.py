"""Stored results with provenance.

Expensive runs (the ``gpu`` profile) are stored as ``results/<chapter>/<name>.json``:

.. code-block:: json

    {"provenance": {"git_commit": ..., "effnotes_version": ..., "torch_version": ...,
                    "device": ..., "profile": ..., "parameters": {...},
                    "wall_time_s": ..., "date_utc": ...},
     "data": {...}}

and chapters load them to show beside their live CPU run.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from effnotes import __version__
from effnotes.runtime import describe_hardware

_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
RESULTS_ENV = "EFFNOTES_RESULTS"
COMMIT_ENV = "EFFNOTES_GIT_COMMIT"


def repository_root() -> Path:
    """The source tree the package was loaded from (the folder holding ``effnotes/``)."""
    return Path(__file__).resolve().parent.parent


def results_root() -> Path:
    """Where results live: ``$EFFNOTES_RESULTS`` if set, else ``<repository>/results``."""
    override = os.environ.get(RESULTS_ENV)
    return Path(override) if override else repository_root() / "results"


def _check_name(kind: str, value: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(f"{kind} must be lower-case letters, digits, '_' or '-', got {value!r}")
    return value


def git_commit(root: Path | None = None) -> str:
    """The commit a result comes from: ``$EFFNOTES_GIT_COMMIT`` when the caller set it (a copy
    of the tree sent to another machine may carry a stale ``.git``, so the caller's word wins),
    else the current commit of the repository at ``root`` ("+dirty" if it has changes), else
    ``"unknown"`` outside a git checkout."""
    stated = os.environ.get(COMMIT_ENV)
    if stated:
        return stated
    root = root or repository_root()
    fallback = "unknown"
    if not (root / ".git").exists():
        return fallback
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):  # no git, or not a repository after all
        return fallback
    return commit + ("+dirty" if dirty else "")


def provenance(*, profile: str, parameters: dict[str, Any], wall_time_s: float,
               device: torch.device | str | None = None) -> dict[str, Any]:
    """Everything needed to say where a result came from."""
    hardware = describe_hardware(device)
    return {
        "git_commit": git_commit(),
        "effnotes_version": __version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "device": hardware.accelerator if hardware.accelerator != "none" else hardware.cpu,
        "hardware": hardware.as_dict(),
        "profile": profile,
        "parameters": parameters,
        "wall_time_s": float(wall_time_s),
        "date_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a DataFrame: list of records
        return _to_jsonable(value.to_dict(orient="records"))
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    raise TypeError(f"cannot store a value of type {type(value).__name__} as JSON")


def as_frame(table) -> pd.DataFrame:
    """A table of a result as a DataFrame, whether it is one already (a live result) or a list
    of records (the same table read back from JSON)."""
    return table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)


@dataclass(frozen=True)
class StoredResult:
    """A result read back from disk: its ``data`` and its ``provenance``."""

    data: dict[str, Any]
    provenance: dict[str, Any]
    path: Path

    def describe(self) -> str:
        p = self.provenance
        return (f"{p.get('device', '?')}, profile {p.get('profile', '?')}, commit "
                f"{str(p.get('git_commit', '?'))[:12]}, {p.get('date_utc', '?')}, "
                f"{p.get('wall_time_s', float('nan')):.0f} s")


def result_path(chapter: str, name: str, root: Path | None = None) -> Path:
    return (root or results_root()) / _check_name("chapter", chapter) / f"{_check_name('name', name)}.json"


def save_result(chapter: str, name: str, data: dict[str, Any], *, profile: str,
                parameters: dict[str, Any], wall_time_s: float,
                device: torch.device | str | None = None, root: Path | None = None) -> Path:
    """Write ``data`` with its provenance to ``results/<chapter>/<name>.json``; return the path."""
    if not isinstance(data, dict):
        raise TypeError(f"data must be a dict, got {type(data).__name__}")
    path = result_path(chapter, name, root)
    record = {"provenance": _to_jsonable(provenance(profile=profile, parameters=parameters,
                                                    wall_time_s=wall_time_s, device=device)),
              "data": _to_jsonable(data)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def load_result(chapter: str, name: str, root: Path | None = None) -> StoredResult:
    """Read ``results/<chapter>/<name>.json``; a clear error if it is missing or malformed."""
    path = result_path(chapter, name, root)
    if not path.is_file():
        raise FileNotFoundError(f"no stored result at {path}; run the chapter's gpu profile to make it")
    record = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(record, dict) or set(record) != {"provenance", "data"}:
        raise ValueError(f"{path} is not a stored result (expected keys 'provenance' and 'data')")
    return StoredResult(data=record["data"], provenance=record["provenance"], path=path)


def has_result(chapter: str, name: str, root: Path | None = None) -> bool:
    return result_path(chapter, name, root).is_file()


@dataclass(frozen=True)
class LiveAndStored:
    """A chapter's headline numbers from this run beside those of a stored run, if any.

    ``live`` and ``stored_numbers`` are Series of named figures (the same names where both
    runs measured them); ``stored`` is the :class:`StoredResult` (``None`` when nothing is
    stored, and then ``stored_numbers`` is ``None`` too)."""

    live: pd.Series
    stored: StoredResult | None
    stored_numbers: pd.Series | None

    @property
    def source(self) -> str:
        """Where the stored run came from, for the prose ("none is stored yet" without one)."""
        return "none is stored yet" if self.stored is None else self.stored.describe()

    def table(self) -> pd.DataFrame:
        """Both runs' numbers side by side, the live run first, rows in the live run's order
        followed by those only the stored run has."""
        columns = {"CPU (this page, live)": self.live}
        if self.stored is not None:
            device = self.stored.provenance.get("device", "?")
            columns[f"stored {self.stored.provenance.get('profile', '?')} run ({device})"] = \
                self.stored_numbers
        return pd.concat(columns, axis=1, sort=False)

    def figure(self, key: str, spec: str = ".2f", *, scale: float = 1.0,
               missing: str = "n/a") -> str:
        """The stored run's figure ``key`` times ``scale``, formatted with ``spec``; ``missing``
        when nothing is stored. An unknown key raises (a typo must not render as n/a)."""
        if self.stored_numbers is None:
            return missing
        if key not in self.stored_numbers.index:
            raise KeyError(f"the stored run has no figure {key!r}")
        return format(scale * float(self.stored_numbers[key]), spec)


def live_and_stored(chapter: str, live: pd.Series, headline, *, name: str = "gpu",
                    root: Path | None = None) -> LiveAndStored:
    """This run's headline numbers ``live`` beside ``headline(stored.data)`` for the stored
    result ``results/<chapter>/<name>.json``, when there is one. ``headline`` maps a result's
    data dict to a Series of named figures (each chapter's ``headline_numbers``)."""
    if not isinstance(live, pd.Series):
        raise TypeError(f"live must be a pandas Series of named figures, got {type(live).__name__}")
    if not has_result(chapter, name, root):
        return LiveAndStored(live=live, stored=None, stored_numbers=None)
    stored = load_result(chapter, name, root)
    return LiveAndStored(live=live, stored=stored, stored_numbers=headline(stored.data))

