"""Every registered chapter runs end to end at the smoke profile (its claims asserted)."""

import warnings

import pytest

from effnotes.chapters import chapters
from effnotes.execution import execute_chapter


@pytest.mark.chapter
@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: c.name)
def test_chapter_runs_at_smoke(chapter, repo_root, tmp_path):
    run = execute_chapter(chapter, "smoke", tmp_path, book_root=repo_root)
    assert run.ok, run.describe_failure()
    if run.attempts > 1 or run.late_replies:  # say so in the test summary
        warnings.warn(f"chapter {chapter.name!r} needed {run.attempts} attempts "
                      f"({run.wall_s:.0f} s in its last; discarded: "
                      f"{'; '.join(run.retry_reasons) or 'none'}) and found "
                      f"{run.late_replies} reply(ies) late", RuntimeWarning)
