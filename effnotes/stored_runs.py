"""The stored runs of each chapter, re-judged by today's code, and whether their code is stale.

A chapter's stored runs are ``results/<chapter>/<profile>.json`` and
``results/<chapter>/<profile>-<suffix>.json`` (another seed set, the reader's data, a
re-run); other files there are benchmarks. A chapter package whose benchmarks make claims
lists them as :class:`Benchmark` entries in ``BENCHMARKS`` of its ``bench_claims`` module;
their stored files are re-judged the same way (:func:`stored_benchmarks`,
:func:`rejudge_benchmark`) and listed by :func:`status_rows` beside the chapter's runs.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from effnotes.chapters import PROFILES, Chapter, chapters, get_chapter
from effnotes.contract import Result, stored_result
from effnotes.results import StoredResult, load_result, repository_root, results_root


def stored_run_names(chapter: Chapter | str, root: Path | None = None) -> list[str]:
    """The names of the chapter's stored runs, sorted."""
    chapter = get_chapter(chapter) if isinstance(chapter, str) else chapter
    folder = (root or results_root()) / chapter.name
    names = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        stem = path.stem
        if any(stem == p or stem.startswith(p + "-") for p in PROFILES):
            names.append(stem)
    return names


@dataclass(frozen=True)
class Staleness:
    """Whether a stored run's code differs from today's: ``changed`` lists the files (relative
    to the repository) and ``how`` says how that was found; ``known`` is false when it could
    not be told (no source hashes and no git history)."""

    changed: tuple[str, ...]
    known: bool
    how: str

    @property
    def stale(self) -> bool:
        """Whether any of the run's files has changed."""
        return bool(self.changed)

    def sentence(self) -> str:
        """What the page says about it."""
        if not self.known:
            return f"Whether its code has changed since cannot be told here ({self.how})."
        if not self.changed:
            return f"Its code is today's code ({self.how})."
        shown = ", ".join(f"`{path}`" for path in self.changed[:8])
        more = f" and {len(self.changed) - 8} more" if len(self.changed) > 8 else ""
        return (f"Its code has changed since it was stored, in {shown}{more} ({self.how}); "
                "its numbers may differ from a run of today's code.")


def experiment_sources(chapter: str) -> dict[str, str]:
    """``{path: blob id}`` of the files that running and judging the chapter's experiment
    imports today. In a process that has imported this chapter's package and no other
    chapter's (a chapter's own page), those are the ``effnotes`` modules loaded here;
    otherwise a fresh subprocess imports them, so other chapters' imports do not count."""
    from effnotes.chapters import BOOK_ORDER
    from effnotes.sources import loaded_sources

    own = get_chapter(chapter).package
    others = [p for p in BOOK_ORDER.values() if p != own and p in sys.modules]
    if own in sys.modules and not others:
        for part in ("experiment", "claims"):
            try:
                get_chapter(chapter).module(part)
            except ModuleNotFoundError:
                pass
        return loaded_sources()
    return _sources_in_subprocess(chapter)


@functools.lru_cache(maxsize=None)
def _sources_in_subprocess(chapter: str) -> dict[str, str]:
    """``{path: blob id}`` of the files a fresh process imports to run and judge the
    chapter's experiment today (found in a subprocess, so other chapters' imports in this one
    do not count)."""
    code = ("import json\nfrom effnotes.chapters import get_chapter\n"
            f"c = get_chapter({chapter!r})\nfor part in ('experiment', 'claims'):\n"
            "    try:\n        c.module(part)\n    except ModuleNotFoundError:\n        pass\n"
            "from effnotes.sources import loaded_sources\nprint(json.dumps(loaded_sources()))")
    return _loaded_in_subprocess(code, f"the {chapter} experiment")


def _loaded_in_subprocess(code: str, what: str) -> dict[str, str]:
    """Run ``code`` (which ends by printing ``loaded_sources()`` as JSON) in a fresh Python
    at the repository root and return what it printed; ``what`` names it in the error."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=repository_root(), timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"could not import {what}: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def staleness(result: Result, chapter: Chapter | str | None = None) -> Staleness:
    """How ``result`` (a stored run) stands against today's source files."""
    if result.provenance is None:
        raise ValueError("staleness is a property of a stored run; this result is live")
    chapter = get_chapter(chapter or result.chapter) if not isinstance(chapter, Chapter) \
        else chapter
    return _staleness(result.provenance, lambda: experiment_sources(chapter.name),
                      "it predates stored source hashes",
                      "it predates stored source hashes: the files the experiment imports "
                      "today")


def _staleness(provenance, today_sources, no_hashes: str, compared: str) -> Staleness:
    """Staleness from a provenance's stored source hashes, or else from the files
    ``today_sources()`` names against the provenance's commit; ``no_hashes`` and
    ``compared`` begin the two kinds of sentence."""
    from effnotes.sources import changed_since, committed_blobs

    sources = provenance.get("source_files")
    if sources:
        return Staleness(tuple(changed_since(sources)), True,
                         "compared with the source hashes stored with it")
    today = today_sources()
    commit = str(provenance.get("git_commit", "")).split("+", 1)[0]
    then = committed_blobs(commit, today) if commit and commit != "unknown" else None
    if then is None:
        return Staleness((), False, f"{no_hashes}, and commit {commit[:12] or '?'} is not in "
                         "this checkout's history")
    changed = tuple(path for path, blob in today.items() if then.get(path) != blob)
    return Staleness(changed, True, f"{compared}, compared with commit {commit[:12]}")


def rejudge(result: Result, chapter: Chapter | str | None = None) -> pd.DataFrame:
    """Today's ``claims()`` of the chapter on a stored run, at the thresholds of the profile
    the run was made at (the registry's profile of that name)."""
    from effnotes.experiment_runner import judge

    chapter = get_chapter(chapter or result.chapter) if not isinstance(chapter, Chapter) \
        else chapter
    return judge(chapter, result, chapter.profile(result.profile))


@dataclass(frozen=True)
class Benchmark:
    """A benchmark whose stored files make claims: ``name`` (the command that makes it, e.g.
    ``"python -m effnotes.maddness.bench"``), ``pattern`` (a regular expression a stored
    file's name, without ``.json``, must match in full), ``profile`` (the profile its
    provenance must name; ``None``: any), ``modules`` (the modules a fresh process imports to
    make and judge it, whose files say whether its code has changed since) and ``claims``
    (the stored or live data, a mapping, -> a claims table)."""

    name: str
    pattern: str
    profile: str | None
    modules: tuple[str, ...]
    claims: Callable[[Mapping], pd.DataFrame]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        try:
            re.compile(self.pattern)
        except (re.error, TypeError) as error:
            raise ValueError(f"pattern must be a regular expression, got {self.pattern!r} "
                             f"({error})") from None
        if not isinstance(self.modules, tuple):
            raise TypeError(f"modules must be a tuple of module names, got "
                            f"{type(self.modules).__name__}")
        if not self.modules or not all(isinstance(m, str) and m for m in self.modules):
            raise ValueError(f"modules must name at least one module, got {self.modules!r}")
        if not callable(self.claims):
            raise TypeError(f"claims must be a function, got {type(self.claims).__name__}")

    def matches(self, name: str, provenance: Mapping) -> bool:
        """Whether the stored file ``name`` (with its ``provenance``) is one of this
        benchmark's."""
        return bool(re.fullmatch(self.pattern, name)) and (
            self.profile is None or provenance.get("profile") == self.profile)


def benchmarks(chapter: Chapter | str) -> tuple[Benchmark, ...]:
    """The chapter's benchmarks that make claims (``BENCHMARKS`` of its ``bench_claims``
    module; none when it has no such module)."""
    chapter = get_chapter(chapter) if isinstance(chapter, str) else chapter
    try:
        module = chapter.module("bench_claims")
    except ModuleNotFoundError as error:
        if error.name != f"{chapter.package}.bench_claims":
            raise
        return ()
    return tuple(module.BENCHMARKS)


def stored_benchmarks(chapter: Chapter | str, root: Path | None = None
                      ) -> list[tuple[str, Benchmark]]:
    """``(file name, benchmark)`` for each stored file of the chapter that one of its
    benchmarks judges, sorted by name. A file whose name fits a benchmark but that cannot be
    read is listed with the first such benchmark (:func:`status_rows` shows it unreadable)."""
    chapter = get_chapter(chapter) if isinstance(chapter, str) else chapter
    known = benchmarks(chapter)
    folder = (root or results_root()) / chapter.name
    found = []
    for path in sorted(folder.glob("*.json")) if known and folder.is_dir() else []:
        candidates = [b for b in known if re.fullmatch(b.pattern, path.stem)]
        if not candidates:
            continue
        try:
            provenance = load_result(chapter.name, path.stem, root).provenance
        except (OSError, ValueError):  # listed, so that status shows it unreadable
            found.append((path.stem, candidates[0]))
            continue
        match = next((b for b in candidates if b.matches(path.stem, provenance)), None)
        if match is not None:
            found.append((path.stem, match))
    return found


def rejudge_benchmark(chapter: Chapter | str, name: str, root: Path | None = None
                      ) -> pd.DataFrame:
    """Today's claims of the stored benchmark file ``results/<chapter>/<name>.json``."""
    chapter = get_chapter(chapter) if isinstance(chapter, str) else chapter
    stored = load_result(chapter.name, name, root)
    match = next((b for b in benchmarks(chapter) if b.matches(name, stored.provenance)), None)
    if match is None:
        raise ValueError(f"results/{chapter.name}/{name}.json is not a file of any of the "
                         f"chapter's benchmarks {[b.name for b in benchmarks(chapter)]}")
    return judge_benchmark(match, stored.data)


@functools.lru_cache(maxsize=None)
def _module_sources(modules: tuple[str, ...]) -> dict[str, str]:
    """``{path: blob id}`` of the files a fresh process loads importing ``modules``."""
    code = (f"import importlib, json\nfor m in {list(modules)!r}:\n    importlib.import_module(m)"
            "\nfrom effnotes.sources import loaded_sources\nprint(json.dumps(loaded_sources()))")
    return _loaded_in_subprocess(code, str(list(modules)))


def benchmark_staleness(stored: StoredResult, benchmark: Benchmark) -> Staleness:
    """How a stored benchmark file stands against today's source files: its stored source
    hashes when it has them, else the files its benchmark's ``modules`` load today against
    its commit."""
    return _staleness(stored.provenance, lambda: _module_sources(benchmark.modules),
                      "it has no stored source hashes",
                      "the files its benchmark imports today")


def matched_commit(result: Result) -> str:
    """Whether a stored run's code was its commit's: "yes", "no: <files>", or "unknown"
    (no source hashes stored, or the commit is not in this checkout's history). A run stored
    where git could not tell (its commit stated by ``$EFFNOTES_GIT_COMMIT``) is checked here,
    against this checkout's history."""
    from effnotes.sources import differs_from_commit

    p = result.provenance or {}
    if p.get("tree_clean") is False:
        return "no: " + _files(p.get("dirty_files", [])) + \
            (f" (stored because: {p['dirty_reason']})" if p.get("dirty_reason") else "")
    sources = p.get("source_files")
    if not sources:
        return "unknown"
    differ = differs_from_commit(sources, str(p.get("git_commit", "")))
    if differ is None:
        return "yes" if p.get("tree_clean") else "unknown"
    return "yes" if not differ else "no: " + _files(differ)


def _files(paths, shown: int = 6) -> str:
    if not paths:
        return "no"
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return f"{len(paths)} files: " + ", ".join(paths[:shown]) + more


def _judged(table: pd.DataFrame) -> tuple[str, str]:
    return (f"{int(table['holds'].sum())}/{len(table)} hold",
            ", ".join(table.loc[~table["holds"], "name"]) or "-")


def status_rows(root: Path | None = None) -> pd.DataFrame:
    """One row per stored run of every chapter, then one per stored benchmark file that makes
    claims: its ``kind`` ("chapter run" or "benchmark"), where it came from, its claims as
    judged today, and whether its code is stale. A run whose data no longer fits today's
    claims shows the error instead of a count."""
    rows = []
    for chapter in chapters():
        for name in stored_run_names(chapter, root):
            try:
                result = stored_result(chapter.name, name, root)
            except (OSError, ValueError) as error:
                rows.append({"chapter": chapter.name, "run": name, "kind": "chapter run",
                             "source": f"unreadable: {error}",
                             "claims_today": "-", "failing": "-", "matched_commit": "unknown",
                             "code_changed_since": "unknown"})
                continue
            try:
                claims, failing = _judged(rejudge(result, chapter))
            except Exception as error:  # a schema that no longer fits: show it, do not crash
                claims, failing = f"cannot judge: {type(error).__name__}: {error}", "?"
            stale = staleness(result, chapter)
            rows.append({"chapter": chapter.name, "run": name, "kind": "chapter run",
                         "source": result.describe(),
                         "claims_today": claims, "failing": failing,
                         "matched_commit": matched_commit(result),
                         "code_changed_since": _files(stale.changed) if stale.known
                         else "unknown"})
        for name, benchmark in stored_benchmarks(chapter, root):
            try:
                stored = load_result(chapter.name, name, root)
            except (OSError, ValueError) as error:
                rows.append({"chapter": chapter.name, "run": name, "kind": "benchmark",
                             "source": f"unreadable: {error}", "claims_today": "-",
                             "failing": "-", "matched_commit": "unknown",
                             "code_changed_since": "unknown"})
                continue
            try:
                claims, failing = _judged(judge_benchmark(benchmark, stored.data))
            except Exception as error:  # a schema that no longer fits: show it, do not crash
                claims, failing = f"cannot judge: {type(error).__name__}: {error}", "?"
            stale = benchmark_staleness(stored, benchmark)
            rows.append({"chapter": chapter.name, "run": name, "kind": "benchmark",
                         "source": f"{benchmark.name}: {stored.describe()}",
                         "claims_today": claims, "failing": failing,
                         "matched_commit": matched_commit(stored),
                         "code_changed_since": _files(stale.changed) if stale.known
                         else "unknown"})
    return pd.DataFrame(rows)


def judge_benchmark(benchmark: Benchmark, data: Mapping) -> pd.DataFrame:
    """``benchmark``'s claims on ``data`` (a live result or a stored file's data), checked
    to be a claims table."""
    from effnotes.claims import check_table

    if not isinstance(data, Mapping):
        raise TypeError(f"data must be a mapping (a benchmark's result), got "
                        f"{type(data).__name__}")
    return check_table(benchmark.claims(data))


def claims_report(table: pd.DataFrame, label: str) -> str:
    """The lines a benchmark prints about its claims before storing them: the summary, then
    each claim marked ``ok``, ``FAIL`` (enforced, fails) or ``no`` (shown, fails)."""
    from effnotes.claims import check_table, summary

    table = check_table(table)
    lines = [f"claims of the {label}: {summary(table)}"]
    for row in table.itertuples():
        mark = "ok  " if row.holds else ("FAIL" if row.enforced else "no  ")
        lines.append(f"  [{mark}] {row.name}: {row.claim} ({row.verdict}"
                     f"{'' if row.enforced else ', not enforced'})")
    return "\n".join(lines)
