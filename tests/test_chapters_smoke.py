"""Every registered chapter runs end to end at the smoke profile (its claims asserted).

The selected chapters are executed once per session, two at a time, each by ``effnotes run``
in a process of its own (:func:`effnotes.build.execute_side_by_side`): the smoke profiles
enforce no timing, so sharing the CPU changes no verdict, and the suite takes about half the
time. Each test then checks its chapter's run."""

import warnings

import pytest

from effnotes.build import execute_side_by_side
from effnotes.chapters import chapters

from conftest import ROOT

TEST_NAME = "test_chapter_runs_at_smoke"


@pytest.fixture(scope="session")
def smoke_runs(request, tmp_path_factory):
    """``{chapter name: ChapterRun}`` for the chapters this session's selection tests."""
    selected = [item.callspec.params["chapter"] for item in request.session.items
                if getattr(item, "originalname", None) == TEST_NAME]
    runs = execute_side_by_side(selected, "smoke", tmp_path_factory.mktemp("smoke"),
                                book_root=ROOT)
    return {run.chapter: run for run in runs}


def test_no_smoke_profile_enforces_timing():
    """What lets the smoke runs share the CPU: no smoke profile asserts a speed."""
    for chapter in chapters():
        profile = chapter.profile("smoke")
        for flag in ("enforce_timing", "enforce_speed"):
            assert getattr(profile, flag, False) is False, (chapter.name, flag)


@pytest.mark.chapter
@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: c.name)
def test_chapter_runs_at_smoke(chapter, smoke_runs):
    run = smoke_runs[chapter.name]
    assert run.ok, run.describe_failure()
    if run.attempts > 1 or run.late_replies:  # say so in the test summary
        warnings.warn(f"chapter {chapter.name!r} needed {run.attempts} attempts "
                      f"({run.wall_s:.0f} s in its last; discarded: "
                      f"{'; '.join(run.retry_reasons) or 'none'}) and found "
                      f"{run.late_replies} reply(ies) late", RuntimeWarning)
