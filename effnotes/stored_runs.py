"""The stored runs of each chapter, re-judged by today's code, and whether their code is stale.

A chapter's stored runs are ``results/<chapter>/<profile>.json`` and
``results/<chapter>/<profile>-<suffix>.json`` (another seed set, the reader's data, a
re-run); other files there are benchmarks with their own reports.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from effnotes.chapters import PROFILES, Chapter, chapters, get_chapter
from effnotes.contract import Result, stored_result
from effnotes.results import repository_root, results_root


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
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=repository_root(), timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"could not import the {chapter} experiment: "
                           f"{done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def staleness(result: Result, chapter: Chapter | str | None = None) -> Staleness:
    """How ``result`` (a stored run) stands against today's source files."""
    from effnotes.sources import committed_blobs, changed_since

    if result.provenance is None:
        raise ValueError("staleness is a property of a stored run; this result is live")
    sources = result.provenance.get("source_files")
    if sources:
        return Staleness(tuple(changed_since(sources)), True,
                         "compared with the source hashes stored with it")
    chapter = get_chapter(chapter or result.chapter) if not isinstance(chapter, Chapter) \
        else chapter
    today = experiment_sources(chapter.name)
    commit = str(result.provenance.get("git_commit", "")).split("+", 1)[0]
    then = committed_blobs(commit, today) if commit and commit != "unknown" else None
    if then is None:
        return Staleness((), False, f"it predates stored source hashes, and commit "
                         f"{commit[:12] or '?'} is not in this checkout's history")
    changed = tuple(path for path, blob in today.items() if then.get(path) != blob)
    return Staleness(changed, True, f"it predates stored source hashes: the files the "
                     f"experiment imports today, compared with commit {commit[:12]}")


def rejudge(result: Result, chapter: Chapter | str | None = None) -> pd.DataFrame:
    """Today's ``claims()`` of the chapter on a stored run, at the thresholds of the profile
    the run was made at (the registry's profile of that name)."""
    from effnotes.experiment_runner import judge

    chapter = get_chapter(chapter or result.chapter) if not isinstance(chapter, Chapter) \
        else chapter
    return judge(chapter, result, chapter.profile(result.profile))


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


def status_rows(root: Path | None = None) -> pd.DataFrame:
    """One row per stored run of every chapter: where it came from, its claims as judged
    today, and whether its code is stale. A run whose data no longer fits today's claims
    shows the error instead of a count."""
    rows = []
    for chapter in chapters():
        for name in stored_run_names(chapter, root):
            try:
                result = stored_result(chapter.name, name, root)
            except (OSError, ValueError) as error:
                rows.append({"chapter": chapter.name, "run": name, "source": f"unreadable: {error}",
                             "claims_today": "-", "failing": "-", "matched_commit": "unknown",
                             "code_changed_since": "unknown"})
                continue
            try:
                table = rejudge(result, chapter)
                claims = f"{int(table['holds'].sum())}/{len(table)} hold"
                failing = ", ".join(table.loc[~table["holds"], "name"]) or "-"
            except Exception as error:  # a schema that no longer fits: show it, do not crash
                claims, failing = f"cannot judge: {type(error).__name__}: {error}", "?"
            stale = staleness(result, chapter)
            rows.append({"chapter": chapter.name, "run": name, "source": result.describe(),
                         "claims_today": claims, "failing": failing,
                         "matched_commit": matched_commit(result),
                         "code_changed_since": _files(stale.changed) if stale.known
                         else "unknown"})
    return pd.DataFrame(rows)


def seeds_of(result: Result) -> str:
    """The seeds a stored run trained with, as "first–last" (from its parameters)."""
    parameters = result.parameters
    first, count = parameters.get("first_seed", 0), parameters.get("seeds")
    if not isinstance(count, int) or count < 1:
        return "seeds not recorded"
    return f"seed {first}" if count == 1 else f"seeds {first}–{first + count - 1}"


def _names(names, enforced: pd.Series) -> str:
    """Claim names as code, each unenforced one marked so."""
    return ", ".join(f"`{name}`" + ("" if enforced.get(name, True) else " (not enforced)")
                     for name in names)


def seed_set_sentence(chapter: Chapter | str, profile: str = "gpu",
                      root: Path | None = None) -> str:
    """One sentence for a chapter page on how the stored ``profile`` run's verdicts stand on
    a second, disjoint set of seeds (``<profile>-seeds2``, from ``effnotes experiment CHAPTER
    --seed-set 2 --store``): which seeds each run drew, how many of today's claims hold on
    each, and the names of the claims that hold on one set and fail on the other (not
    established) and of those that fail on both. Says so when either run is not stored."""
    from effnotes.claims import across_seed_sets

    chapter = get_chapter(chapter) if isinstance(chapter, str) else chapter
    first = stored_result(chapter.name, profile, root=root)
    second = stored_result(chapter.name, f"{profile}-seeds2", root=root)
    if first is None or second is None:
        return (f"No run of the `{profile}` profile on a second, disjoint set of seeds is "
                f"stored yet (`effnotes experiment {chapter.name} --profile {profile} "
                "--seed-set 2 --store` makes one), so no verdict here has been checked "
                "against the seeds it happened to draw.")
    tables = {"first": rejudge(first, chapter), "second": rejudge(second, chapter)}
    verdicts = across_seed_sets(tables)
    unsettled = verdicts.index[verdicts == "not established"]
    failing = verdicts.index[verdicts == "fails on every seed set"]
    held = [int(table["holds"].sum()) for table in tables.values()]
    total = len(tables["first"])
    enforced = tables["first"].set_index("name")["enforced"]
    sentence = (f"The stored `{profile}` run ({seeds_of(first)}) holds {held[0]} of {total} "
                f"claims; the same profile on a disjoint seed set ({seeds_of(second)}; "
                f"{second.describe()}) holds {held[1]} of {len(tables['second'])}. ")
    sentence += (f"Not established, because they hold on one set and fail on the other: "
                 f"{_names(unsettled, enforced)}. " if len(unsettled) else
                 "No claim holds on one set and fails on the other. ")
    sentence += (f"Failing on both: {_names(failing, enforced)}." if len(failing) else
                 "None fails on both.")
    return sentence


def stored_verdict(result: Result, claim: str) -> str:
    """"holds" or "fails": today's verdict of the claim named ``claim`` on a stored run."""
    table = rejudge(result).set_index("name")
    if claim not in table.index:
        raise KeyError(f"claim: {result.chapter!r} has no claim named {claim!r}; "
                       f"its claims are {list(table.index)}")
    return "holds" if bool(table.loc[claim, "holds"]) else "fails"


def seed_set_verdict(chapter: Chapter | str, claim: str, profile: str = "gpu",
                     root: Path | None = None) -> str:
    """How the claim named ``claim`` stands across the stored ``profile`` run and its second
    seed set: "holds on every seed set", "fails on every seed set", "not established", or
    "judged on one seed set only" when the second is not stored."""
    from effnotes.claims import across_seed_sets

    chapter = get_chapter(chapter) if isinstance(chapter, str) else chapter
    runs = [stored_result(chapter.name, name, root=root) for name in
            (profile, f"{profile}-seeds2")]
    if any(run is None for run in runs):
        return "judged on one seed set only"
    verdicts = across_seed_sets({str(i): rejudge(run, chapter) for i, run in enumerate(runs)})
    if claim not in verdicts.index:
        raise KeyError(f"claim: {chapter.name!r} has no claim named {claim!r}")
    return str(verdicts[claim])
