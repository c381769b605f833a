"""``effnotes experiment CHAPTER``: run a chapter's experiment at a profile without Jupyter,
judge its claims, and store it with provenance or check it against the stored run.

``--store`` refuses a tree whose experiment code differs from its commit, unless
``--dirty-reason`` says why (the reason is stored). ``--check`` re-runs a stored experiment
and prints each headline number beside the stored one. ``--seed-set K`` runs the profile on
its K-th disjoint set of seeds (K = 1 is the profile's own), stored as ``<name>-seedsK``.
"""

from __future__ import annotations

import os
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from effnotes.chapters import Chapter, get_chapter, profile_parameters
from effnotes.claims import as_records, check_table, failing, summary
from effnotes.contract import Result, profile_with, stored_result

CUBLAS_SETTING = ":4096:8"


def stored_name(profile: str, data_path: str | None = None, seed_set: int = 1) -> str:
    """The stored result's name: the profile, then ``-<data folder>`` for a run on the reader's
    data (lower case, other characters as ``-``) so it never replaces the bundled-data run,
    then ``-seeds<K>`` for the K-th seed set."""
    name = profile
    if data_path is not None:
        stem = Path(str(data_path).rstrip("/")).name.lower()
        name += "-" + (re.sub(r"[^a-z0-9_]+", "-", stem).strip("-") or "data")
    if seed_set != 1:
        name += f"-seeds{seed_set}"
    return name


def seed_set_profile(profile: Any, seed_set: int) -> Any:
    """``profile`` moved to its ``seed_set``-th disjoint set of seeds (1 is itself): its
    ``first_seed`` becomes ``(seed_set - 1) * seeds``. A profile without ``seeds`` and
    ``first_seed`` fields has no seed sets."""
    if isinstance(seed_set, bool) or not isinstance(seed_set, int) or seed_set < 1:
        raise ValueError(f"seed_set must be an integer >= 1, got {seed_set!r}")
    if seed_set == 1:
        return profile
    names = {f.name for f in fields(profile)}
    if not {"seeds", "first_seed"} <= names:
        raise ValueError(f"{type(profile).__module__} has no seed sets (its profile has no "
                         "'seeds' and 'first_seed' fields)")
    return profile_with(profile, first_seed=(seed_set - 1) * profile.seeds)


def judge(chapter: Chapter | str, result: Result, profile: Any) -> pd.DataFrame:
    """The chapter's ``claims(result, profile)``, checked to be a claims table."""
    chapter = get_chapter(chapter) if isinstance(chapter, str) else chapter
    return check_table(chapter.module("claims").claims(result, profile))


def headline(chapter: Chapter | str, result: Result) -> pd.Series:
    """The chapter's ``headline(result)``: the named numbers the page glues."""
    chapter = get_chapter(chapter) if isinstance(chapter, str) else chapter
    numbers = chapter.module("claims").headline(result)
    if not isinstance(numbers, pd.Series):
        raise TypeError(f"{chapter.package}.claims.headline must return a Series, got "
                        f"{type(numbers).__name__}")
    return numbers


def compare_headlines(stored: pd.Series, rerun: pd.Series) -> pd.DataFrame:
    """Stored and re-run headline numbers side by side, with their difference and the
    difference relative to the stored value."""
    table = pd.concat({"stored": stored, "rerun": rerun}, axis=1, sort=False)
    table["difference"] = table["rerun"] - table["stored"]
    scale = table["stored"].abs().where(table["stored"] != 0)
    table["relative"] = table["difference"] / scale
    return table


@dataclass(frozen=True)
class Determinism:
    """What was asked of PyTorch to make the run repeatable, and which operations warned
    that they have no deterministic implementation (an empty list: none did)."""

    requested: bool
    cublas_workspace_config: str | None
    nondeterministic_ops: tuple[str, ...]
    #: why determinism was not asked for (``None`` when it was)
    waived_because: str | None = None

    @property
    def deterministic(self) -> bool:
        """Whether the run asked for determinism and no operation warned against it."""
        return self.requested and not self.nondeterministic_ops

    def as_dict(self) -> dict[str, Any]:
        """The record stored in a result's provenance."""
        return {"requested": self.requested, "deterministic": self.deterministic,
                "cublas_workspace_config": self.cublas_workspace_config,
                "nondeterministic_ops": list(self.nondeterministic_ops),
                **({"waived_because": self.waived_because} if self.waived_because else {})}


def determinism_sentence(provenance: dict[str, Any]) -> str:
    """What a stored run's provenance says of its kernels' determinism, as a sentence for the
    page (the record :meth:`Determinism.as_dict` wrote, or its absence in older files)."""
    record = provenance.get("deterministic") if isinstance(provenance, dict) else None
    if not isinstance(record, dict):
        return "It does not record whether its kernels were deterministic."
    if record.get("deterministic"):
        return "It ran with PyTorch's deterministic kernels."
    if not record.get("requested"):
        why = record.get("waived_because")
        return ("It ran with PyTorch's default, non-deterministic kernels"
                + (f" ({why})" if why else "") + ", so a claim that two runs agree bit for "
                "bit can fail on it.")
    ops = ", ".join(record.get("nondeterministic_ops") or []) or "some operations"
    return f"It asked for deterministic kernels, but {ops} had none."


def run_deterministically(run: Callable[[], Result]) -> tuple[Result, Determinism]:
    """``run()`` with ``torch.use_deterministic_algorithms(True, warn_only=True)``, cuDNN
    autotuning off and cuBLAS's fixed workspace (set before CUDA starts, when it has not);
    the settings are restored afterwards."""
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_SETTING)
    before = (torch.are_deterministic_algorithms_enabled(),
              torch.is_deterministic_algorithms_warn_only_enabled(),
              torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = run()
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = before[2:]
    for warning in caught:
        if "deterministic" not in str(warning.message):
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)
    ops = sorted({str(w.message).split(" does not have")[0].strip()
                  for w in caught if "does not have a deterministic" in str(w.message)})
    return result, Determinism(True, os.environ.get("CUBLAS_WORKSPACE_CONFIG"), tuple(ops))


def run_nondeterministically(run: Callable[[], Result], reason: str
                             ) -> tuple[Result, Determinism]:
    """``run()`` with PyTorch's default (fast, not bit-for-bit repeatable) kernels, for a run
    that would not fit its time limit in deterministic mode; ``reason`` is recorded."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("reason must say why the run is not deterministic, got "
                         f"{reason!r}")
    return run(), Determinism(False, os.environ.get("CUBLAS_WORKSPACE_CONFIG"), (),
                              reason.strip())


def source_provenance(dirty_reason: str | None) -> tuple[dict[str, Any], list[str]]:
    """The source hashes of the code this process ran and whether it matched its commit:
    ``(provenance entries, files that differ from the commit)``."""
    from effnotes.results import git_commit
    from effnotes.sources import differs_from_commit, loaded_sources

    sources = loaded_sources()
    commit = git_commit()
    differ = differs_from_commit(sources, commit) if commit != "unknown" else None
    entries: dict[str, Any] = {"source_files": sources,
                               "tree_clean": None if differ is None else not differ}
    if differ:
        entries["dirty_files"] = differ
    if dirty_reason:
        entries["dirty_reason"] = dirty_reason
    return entries, differ or []


def _print_claims(table: pd.DataFrame, label: str) -> None:
    print(f"\nclaims of the {label}: {summary(table)}")
    for row in table.itertuples():
        mark = "ok  " if row.holds else ("FAIL" if row.enforced else "no  ")
        print(f"  [{mark}] {row.name}: {row.claim} ({row.verdict}"
              f"{'' if row.enforced else ', not enforced'})")


def run_experiment(chapter_name: str, profile_name: str, *, store: bool = False,
                   check: bool = False, data_path: str | None = None,
                   dirty_reason: str | None = None, seed_set: int = 1,
                   device: str | None = None, progress: bool = True,
                   nondeterministic_reason: str | None = None) -> int:
    """The command's work (``device`` overrides the profile's, for a run that is not stored;
    ``nondeterministic_reason``, when given, runs with PyTorch's default kernels and records
    why);
    returns an exit code (0: done and every enforced claim holds, or
    stored; 1: an enforced claim fails and nothing was stored; 2: refused)."""
    from effnotes.results import COMMIT_ENV, save_result
    from effnotes.runtime import choose_device
    from effnotes.sources import tree_state

    chapter = get_chapter(chapter_name)
    profile = chapter.profile(profile_name)
    if data_path is not None:
        if "data_path" not in {f.name for f in fields(profile)}:
            print(f"--data-path: chapter {chapter.name} takes no data_path parameter")
            return 2
        profile = profile_with(profile, data_path=data_path)
    profile = seed_set_profile(profile, seed_set)
    name = stored_name(profile_name, data_path, seed_set)
    if device is not None:
        if "device" not in {f.name for f in fields(profile)}:
            print(f"--device: chapter {chapter.name} takes no device parameter")
            return 2
        if store:
            print("--device: a stored run keeps its profile's device; run without --store")
            return 2
        profile = profile_with(profile, device=device)
    if store and not dirty_reason and not os.environ.get(COMMIT_ENV):
        # with the commit stated (a copy of the tree on another machine, whose .git may be a
        # stale one) git status here cannot be trusted; the stored source hashes are checked
        # against the stated commit instead, here if this history has it, else later by
        # `effnotes status`
        state = tree_state()
        if state.clean is False:
            print(f"refusing to store: the tree has uncommitted changes in "
                  f"{', '.join(state.dirty_files)}; commit them, or pass --dirty-reason")
            return 2
    earlier = stored_result(chapter.name, name) if check else None
    if check and earlier is None:
        print(f"--check: nothing is stored as results/{chapter.name}/{name}.json")
        return 2
    experiment = chapter.module("experiment")
    start = time.perf_counter()
    if nondeterministic_reason is not None and not nondeterministic_reason.strip():
        print("--nondeterministic: give the reason the run cannot be deterministic")
        return 2
    job = lambda: experiment.run(profile, progress=progress)  # noqa: E731
    result, determinism = (run_nondeterministically(job, nondeterministic_reason)
                           if nondeterministic_reason is not None else
                           run_deterministically(job))
    wall = time.perf_counter() - start
    print(f"{chapter.name} at profile {profile_name}: {wall:.1f} s "
          f"({'deterministic' if determinism.deterministic else 'not bit-for-bit deterministic'})")
    table = judge(chapter, result, profile)
    _print_claims(table, "live run")
    numbers = headline(chapter, result)
    print("\nheadline numbers:\n" + numbers.to_string())
    if check:
        print(f"\nagainst the stored run ({earlier.describe()}):")
        print(compare_headlines(headline(chapter, earlier), numbers).to_string())
    if not store:
        return 1 if len(failing(table)) else 0
    entries, differ = source_provenance(dirty_reason)
    if differ and not dirty_reason:
        print(f"refusing to store: {', '.join(differ)} differ from commit; commit them, or "
              "pass --dirty-reason")
        return 2
    device = choose_device(profile.device) if hasattr(profile, "device") else None
    entries |= {"claims": as_records(table), "deterministic": determinism.as_dict(),
                "seed_set": seed_set}
    stored_as = f"{name}-rerun" if check else name
    path = save_result(chapter.name, stored_as, dict(result.data), profile=profile_name,
                       parameters=profile_parameters(profile), wall_time_s=wall,
                       device=device if device is not None and device.type == "cuda" else None,
                       extra_provenance=entries)
    print(f"stored {path}")
    return 0


def experiment_main(chapter: str, argv: list[str] | None = None) -> int:
    """``python -m effnotes.<package>.experiment``: the same as ``effnotes experiment
    CHAPTER`` (kept so the old commands still work)."""
    from effnotes.cli import main

    return main(["experiment", chapter, *(argv or [])])
