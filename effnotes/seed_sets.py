"""Verdicts across seed sets: a stored run beside the same profile on disjoint seeds.

A chapter's ``results/<chapter>/<profile>.json`` and ``<profile>-seeds2.json`` (made with
``effnotes experiment CHAPTER --profile P --seed-set 2 --store``) are judged by today's
``claims()``; a claim that holds on one set of seeds and fails on the other is not
established. These functions give the pages their sentences and verdict words.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from effnotes.chapters import Chapter, get_chapter
from effnotes.contract import Result, stored_result
from effnotes.stored_runs import rejudge


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
