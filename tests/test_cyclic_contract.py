"""The cyclic chapter's contract: its correctness claims catch a broken method at smoke, and
its claims judge a live run and the stored gpu run alike."""

from dataclasses import replace

import pandas as pd
import pytest

from effnotes.claims import ClaimFailed, assert_claims
from effnotes.contract import Result, profile_with, stored_result
from effnotes.cyclic import experiment
from effnotes.cyclic.claims import claims, headline, sentences
from effnotes.cyclic.profiles import GPU, SMOKE
from effnotes.cyclic.schedule import CyclicSchedule

#: smoke, with three cycles instead of four: the same stages in a few seconds
TINY = profile_with(SMOKE, n_cycles=3)


def _holds(table, name):
    return bool(table.set_index("name").loc[name, "holds"])


@pytest.fixture(scope="module")
def tiny_result():
    return experiment.run(TINY)


def test_every_correctness_claim_is_enforced_at_smoke(tiny_result):
    table = claims(tiny_result, SMOKE)
    correctness = table[table["kind"] == "correctness"]
    assert len(correctness) == 4 and correctness["enforced"].all()
    assert correctness["holds"].all(), correctness
    assert not table.loc[table["kind"] == "result", "enforced"].any()
    assert_claims(table)


def test_a_standard_schedule_that_anneals_to_the_wrong_floor_fails_the_chapter(monkeypatch):
    """Break the standard runs' schedule (anneal to a tenth of the peak, not to the floor):
    the first trough's cyclic run is no longer its standard twin, and the chapter fails."""
    right = CyclicSchedule.standard

    def wrong(self, total_steps):
        return replace(right(self, total_steps), lr_min=0.1 * self.lr_max)

    monkeypatch.setattr(CyclicSchedule, "standard", wrong)
    table = claims(experiment.run(TINY), SMOKE)
    assert not _holds(table, "first_trough_is_standard_run")
    with pytest.raises(ClaimFailed, match="first_trough_is_standard_run"):
        assert_claims(table)


def test_a_schedule_with_a_flipped_cosine_fails_against_torch(monkeypatch, tiny_result):
    """Flip the cosine's sign (the rate rises through a cycle): the schedule stage measures
    the difference from PyTorch's composition and the claim fails; the unbroken one holds."""
    assert _holds(claims(tiny_result, SMOKE), "schedule_matches_torch")
    right = CyclicSchedule.lr

    def flipped(self, step):
        rate = right(self, step)
        return rate if step < self.warmup else self.lr_max + self.lr_min - rate

    monkeypatch.setattr(CyclicSchedule, "lr", flipped)
    run = experiment.EXPERIMENT.start(TINY)
    measured = run.stage("schedule")["max_torch_difference"]
    assert measured > 1e-3
    broken = Result(tiny_result.chapter, "smoke", tiny_result.parameters,
                    dict(tiny_result.data, max_torch_difference=measured))
    table = claims(broken, SMOKE)
    assert not _holds(table, "schedule_matches_torch")
    with pytest.raises(ClaimFailed, match="schedule_matches_torch"):
        assert_claims(table)
    with pytest.raises(RuntimeError, match="troughs"):  # and the runs refuse to go on
        run.stage("runs")


def test_claims_read_live_and_stored_results_alike(tiny_result, tmp_path, monkeypatch):
    from effnotes.results import save_result

    monkeypatch.setenv("EFFNOTES_RESULTS", str(tmp_path))
    save_result("cyclic_tradeoff", "smoke", dict(tiny_result.data), profile="smoke",
                parameters=dict(tiny_result.parameters), wall_time_s=1.0)
    stored = stored_result("cyclic_tradeoff", "smoke", tmp_path)
    live_table, stored_table = claims(tiny_result, SMOKE), claims(stored, SMOKE)
    pd.testing.assert_frame_equal(live_table, stored_table)
    pd.testing.assert_series_equal(headline(tiny_result), headline(stored))
    assert sentences(tiny_result) == sentences(stored)


def test_the_stored_gpu_run_shows_the_papers_direction_reversed():
    """The stored gpu run (PyTorch's default kernels, the reason recorded): the cyclic curve
    over-rates the regularisers, the reverse of the paper; its first-trough twins differ
    (the kernels were not deterministic); its schedule matches PyTorch's."""
    stored = stored_result("cyclic_tradeoff", "gpu")
    table = claims(stored, GPU).set_index("name")
    assert table.loc["paper_underrates_regularisers", "value"] < 0
    assert not table.loc["paper_underrates_regularisers", "holds"]
    assert table.loc["first_trough_is_standard_run", "value"] > 0
    assert stored.provenance["deterministic"]["requested"] is False
    assert stored.provenance["deterministic"]["waived_because"]
    assert table.loc["schedule_matches_torch", "holds"]
    for name in ("troughs_at_formula", "readoff_consistent", "gaps_within_chance",
                 "strong_effects_agree", "saving_at_least", "saving_near_prediction"):
        assert table.loc[name, "holds"], name
    assert "reverse of the paper" in sentences(stored)["direction"]
