"""The pruning chapter's contract: a broken method fails its correctness claims at smoke, the
correctness claims are enforced at every profile, and the stored gpu run is judged."""

import pytest

from effnotes.claims import ClaimFailed, assert_claims
from effnotes.contract import Result, profile_with, stored_result
from effnotes.pruning import experiment, grid as grid_module
from effnotes.pruning.claims import claims, headline
from effnotes.pruning.profiles import CI, GPU, SMOKE
from effnotes.pruning.strategies import make_permanent

#: SMOKE made smaller still, so the test runs the grid twice in seconds.
TINY = profile_with(SMOKE, seeds=2, compressions=(1, 2, 8), pretrain_epochs=1)


def _judged_grid(profile):
    """The claims at smoke of a run of the stages the masks affect (the literature and the
    main grid), the rest of the result (sensitivity, checkpoints, timing) taken from the
    stored gpu run, which those claims do not read."""
    run = experiment.EXPERIMENT.start(profile)
    run.stage("literature")
    run.stage("main_grid")
    data = {**stored_result("pruning", "gpu").data,
            **{k: v for k, v in run.state.items() if not k.startswith("_")}}
    return claims(Result("pruning", "smoke", {}, data), SMOKE)


def _row(table, name):
    return table.set_index("name").loc[name]


def test_unpinned_masks_fail_the_masks_claim(monkeypatch):
    """Pruning that drops the masks (folding them into the weights before fine-tuning, so the
    pruned weights grow back) is caught by the masks_held claim at smoke, and
    ``assert_claims`` raises; the same run with the masks in place passes that claim."""
    honest = _judged_grid(TINY)
    assert _row(honest, "masks_held")["holds"]
    assert _row(honest, "compression_reached")["holds"]

    real = grid_module.prune_model

    def forgetful(model, *args, **kwargs):
        outcome = real(model, *args, **kwargs)
        make_permanent(model)
        return outcome

    monkeypatch.setattr(grid_module, "prune_model", forgetful)
    broken = _judged_grid(TINY)
    row = _row(broken, "masks_held")
    assert not row["holds"] and row["enforced"] and row["value"] > 0.1
    with pytest.raises(ClaimFailed, match="masks_held"):
        assert_claims(broken)


def test_correctness_claims_are_enforced_at_every_profile():
    stored = stored_result("pruning", "gpu")
    for profile in (SMOKE, CI, GPU):
        table = claims(stored, profile)
        correctness = table[table["kind"] == "correctness"]
        assert len(correctness) >= 5
        assert correctness["enforced"].all()
    smoke = claims(stored, SMOKE)
    # at smoke only the findings from the shipped literature tables (fixed data) are asserted
    enforced = smoke[(smoke["kind"] == "result") & smoke["enforced"]]
    assert set(enforced["name"]) == {"gale_magnitude_beats_random", "architectures_dominate"}


def test_stored_gpu_run_is_judged_as_when_it_was_stored():
    """Today's claims() gives the stored run the verdicts recorded with it, and its
    correctness claims hold (the z at 8x is what the run measured, whichever side of 2)."""
    stored = stored_result("pruning", "gpu")
    table = claims(stored, GPU)
    for recorded in stored.provenance.get("claims", []):
        assert _row(table, recorded["name"])["holds"] == recorded["holds"], recorded["name"]
    for name in ("masks_held", "compression_reached", "papers_counted_once"):
        assert _row(table, name)["holds"], name
    row = _row(table, "global_beats_random_from_8x")
    assert row["holds"] == (row["value"] > 2)
    assert headline(stored)["z_global_vs_random_8x"] >= row["value"]  # 8x is among the levels

