"""Stored results with provenance.

Expensive runs (the ``gpu`` profile) are stored as ``results/<chapter>/<name>.json``:

.. code-block:: text

    {"provenance": {"git_commit": ..., "effnotes_version": ..., "torch_version": ...,
                    "device": ..., "profile": ..., "parameters": {...},
                    "wall_time_s": ..., "date_utc": ...},
     "data": {...}}

and chapters load them to show beside their live CPU run.

JSON has no NaN or infinity: a non-finite float is stored as ``null`` and its place listed in
the provenance's ``non_finite`` (``[[path, "nan" | "inf" | "-inf"], ...]``, a path being the
keys and list indices from the record's top), and :func:`load_result` puts the values back. (Results stored before this rule hold bare
``NaN``, which Python's ``json`` reads too, so they still load.)
The provenance is checked against :data:`PROVENANCE_SCHEMA` on loading.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import numbers
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
               device: torch.device | str | None = None,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything needed to say where a result came from; ``extra`` adds keys (the source
    hashes, the tree's state, the claims as judged, whether the run was deterministic)."""
    hardware = describe_hardware(device)
    reserved = sorted(set(extra or {}) & set(PROVENANCE_SCHEMA))
    if reserved:
        raise ValueError(f"extra provenance may not replace {reserved}")
    return (extra or {}) | {
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


def _to_jsonable(value: Any, path: tuple = (), non_finite: list | None = None) -> Any:
    """``value`` as plain JSON types; a non-finite float becomes ``None`` and, when
    ``non_finite`` is a list, its ``[path, "nan" | "inf" | "-inf"]`` is appended to it."""
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v, (*path, str(k)), non_finite) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v, (*path, i), non_finite) for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return _to_jsonable(value.tolist(), path, non_finite)
    if isinstance(value, np.generic):
        return _to_jsonable(value.item(), path, non_finite)
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a DataFrame: list of records
        return _to_jsonable(value.to_dict(orient="records"), path, non_finite)
    if isinstance(value, float) and not math.isfinite(value):
        if non_finite is None:
            raise ValueError(f"cannot store the non-finite value {value} at {list(path)}")
        non_finite.append([list(path), "nan" if math.isnan(value) else
                           ("inf" if value > 0 else "-inf")])
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    raise TypeError(f"cannot store a value of type {type(value).__name__} as JSON (at "
                    f"{list(path)})")


_TEXT, _NUMBER, _MAPPING, _LIST = "a string", "a number", "an object", "a list"
_FLAG = "true, false or null"
#: The provenance every stored result must have: key -> what its value must be. Other keys
#: (notes) are allowed.
PROVENANCE_SCHEMA = {"git_commit": _TEXT, "effnotes_version": _TEXT, "torch_version": _TEXT,
                     "device": _TEXT, "profile": _TEXT, "parameters": _MAPPING,
                     "wall_time_s": _NUMBER, "date_utc": _TEXT}
#: Keys a provenance may have, checked when present.
PROVENANCE_OPTIONAL = {"numpy_version": _TEXT, "python_version": _TEXT, "hardware": _MAPPING,
                       "non_finite": _LIST, "source_files": _MAPPING, "tree_clean": _FLAG,
                       "dirty_files": _LIST, "dirty_reason": _TEXT, "claims": _LIST,
                       "deterministic": _MAPPING, "seed_set": _NUMBER}


def _is(value: Any, kind: str) -> bool:
    if kind == _TEXT:
        return isinstance(value, str)
    if kind == _NUMBER:
        return value is None or (isinstance(value, numbers.Real) and not isinstance(value, bool))
    if kind == _MAPPING:
        return isinstance(value, dict)
    if kind == _FLAG:
        return value is None or isinstance(value, bool)
    return isinstance(value, list)


def check_provenance(provenance: Any, where: str = "provenance") -> dict[str, Any]:
    """``provenance`` if it matches :data:`PROVENANCE_SCHEMA`; otherwise a ``ValueError`` that
    names ``where`` (e.g. the file) and every missing or mistyped key."""
    if not isinstance(provenance, dict):
        raise ValueError(f"{where}: provenance must be an object, got "
                         f"{type(provenance).__name__}")
    problems = [f"{key!r} is missing" for key in PROVENANCE_SCHEMA if key not in provenance]
    for key, kind in {**PROVENANCE_SCHEMA, **PROVENANCE_OPTIONAL}.items():
        if key in provenance and not _is(provenance[key], kind):
            problems.append(f"{key!r} must be {kind}, got {type(provenance[key]).__name__}")
    for entry in provenance.get("non_finite", []) if isinstance(provenance.get("non_finite"),
                                                                  list) else []:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], list)
                and entry[1] in ("nan", "inf", "-inf")):
            problems.append(f"'non_finite' entries must be [path, 'nan'|'inf'|'-inf'], got "
                            f"{entry!r}")
            break
    if problems:
        raise ValueError(f"{where}: the provenance does not match the schema: "
                         + "; ".join(problems))
    return provenance


def _restore_non_finite(record: dict[str, Any], where: str) -> None:
    """Put back the non-finite floats listed in the provenance's ``non_finite``."""
    for keys, kind in record["provenance"].get("non_finite", []):
        container: Any = record
        try:
            for key in keys[:-1]:
                container = container[key]
            if container[keys[-1]] is not None:
                raise KeyError(keys[-1])
        except (KeyError, IndexError, TypeError):
            raise ValueError(f"{where}: 'non_finite' lists {keys}, which is not a null value "
                             "of the record") from None
        container[keys[-1]] = float(kind)


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
        wall = p.get("wall_time_s")
        wall = float("nan") if wall is None else wall
        return (f"{p.get('device', '?')}, profile {p.get('profile', '?')}, commit "
                f"{str(p.get('git_commit', '?'))[:12]}, {p.get('date_utc', '?')}, "
                f"{wall:.0f} s")


def result_path(chapter: str, name: str, root: Path | None = None) -> Path:
    return (root or results_root()) / _check_name("chapter", chapter) / f"{_check_name('name', name)}.json"


def save_result(chapter: str, name: str, data: dict[str, Any], *, profile: str,
                parameters: dict[str, Any], wall_time_s: float,
                device: torch.device | str | None = None, root: Path | None = None,
                extra_provenance: dict[str, Any] | None = None) -> Path:
    """Write ``data`` with its provenance (plus ``extra_provenance``) to
    ``results/<chapter>/<name>.json``; return the path.
    Non-finite floats are stored as ``null`` and listed in the provenance (see the module
    docstring). The file is written whole or not at all (a temporary file, then a rename)."""
    if not isinstance(data, dict):
        raise TypeError(f"data must be a dict, got {type(data).__name__}")
    if not isinstance(profile, str) or not profile:
        raise TypeError(f"profile must be a non-empty string, got {profile!r}")
    if not isinstance(parameters, dict):
        raise TypeError(f"parameters must be a dict, got {type(parameters).__name__}")
    if isinstance(wall_time_s, bool) or not isinstance(wall_time_s, numbers.Real) \
            or not math.isfinite(wall_time_s) or wall_time_s < 0:
        raise ValueError(f"wall_time_s must be a finite number of seconds >= 0, got "
                         f"{wall_time_s!r}")
    path = result_path(chapter, name, root)
    non_finite: list = []
    record = {"provenance": _to_jsonable(provenance(profile=profile, parameters=parameters,
                                                    wall_time_s=wall_time_s, device=device,
                                                    extra=extra_provenance),
                                         ("provenance",), non_finite),
              "data": _to_jsonable(data, ("data",), non_finite)}
    if non_finite:
        record["provenance"]["non_finite"] = non_finite
    text = json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return path


def load_result(chapter: str, name: str, root: Path | None = None) -> StoredResult:
    """Read ``results/<chapter>/<name>.json``; a ``ValueError`` naming the file and the problem
    if it is not valid JSON (e.g. truncated), not a stored result, or its provenance does not
    match :data:`PROVENANCE_SCHEMA`."""
    path = result_path(chapter, name, root)
    if not path.is_file():
        raise FileNotFoundError(f"no stored result at {path}; run the chapter's gpu profile to make it")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))  # older files hold bare NaN
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not a stored result: not UTF-8 text ({error.reason} at "
                         f"byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not a stored result: invalid JSON ({error.msg} at line "
                         f"{error.lineno}, column {error.colno}); the file may be truncated"
                         ) from None
    if not isinstance(record, dict) or set(record) != {"provenance", "data"}:
        raise ValueError(f"{path} is not a stored result (expected keys 'provenance' and 'data')")
    if not isinstance(record["data"], dict):
        raise ValueError(f"{path}: 'data' must be an object, got {type(record['data']).__name__}")
    check_provenance(record["provenance"], str(path))
    _restore_non_finite(record, str(path))
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
               missing: str = "n/a", undefined: str = "undefined") -> str:
        """The stored run's figure ``key`` times ``scale``, formatted with ``spec``; ``missing``
        when nothing is stored, ``undefined`` when the figure is NaN or infinite (never
        "nan" in the prose). An unknown key raises (a typo must not render as n/a)."""
        if self.stored_numbers is None:
            return missing
        if key not in self.stored_numbers.index:
            raise KeyError(f"the stored run has no figure {key!r}")
        value = scale * float(self.stored_numbers[key])
        return format(value, spec) if math.isfinite(value) else undefined


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

