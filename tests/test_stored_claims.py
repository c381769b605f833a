"""Every stored chapter run is re-judged by today's ``claims()``: a result whose data no
longer fits the claims (a changed schema) fails here; a claim that fails on a stored run is
reported, not failed, so that a changed claim is seen in CI."""

import warnings

import pytest

from effnotes.chapters import chapters
from effnotes.contract import stored_result
from effnotes.stored_runs import rejudge, stored_run_names

RUNS = [(chapter, name) for chapter in chapters() for name in stored_run_names(chapter)]


def test_every_chapter_has_a_stored_gpu_run():
    assert {chapter.name for chapter, name in RUNS if name == "gpu"} == \
        {chapter.name for chapter in chapters()}


@pytest.mark.parametrize("chapter,name", RUNS, ids=lambda v: getattr(v, "name", v))
def test_stored_run_is_judged_by_todays_claims(chapter, name):
    result = stored_result(chapter.name, name)
    table = rejudge(result, chapter)
    assert len(table), "a chapter makes at least one claim"
    broken = table[~table["holds"]]
    for row in broken.itertuples():
        warnings.warn(f"results/{chapter.name}/{name}.json fails the claim {row.name}: "
                      f"{row.claim} ({row.verdict})", stacklevel=1)
    recorded = result.provenance.get("claims")
    if recorded is not None:  # stored with its claims: today's names cover the stored ones
        changed = {c["name"] for c in recorded} ^ set(table["name"])
        if changed:
            warnings.warn(f"results/{chapter.name}/{name}.json: claims added or removed "
                          f"since it was stored: {sorted(changed)}", stacklevel=1)
