"""The MADDNESS chapter's claims can fail: a broken piece of the method fails the chapter at
smoke, the same run unbroken passes, every correctness claim is enforced at smoke, and the
stored gpu run is judged without raising."""


import numpy as np
import pytest

from effnotes.chapters import get_chapter
from effnotes.claims import ClaimFailed, assert_claims
from effnotes.contract import Result, stored_result
from effnotes.maddness import claims as mclaims
from effnotes.maddness import experiment, tables
from effnotes.maddness.profiles import SMOKE

#: The stages up to the implementation checks (the accuracy and speed stages are left out:
#: the claims they feed report NaN, unenforced or not measured).
CHECKED = ("hash_function", "split_search", "prototypes", "lookup_tables", "averaging",
           "backends")


@pytest.fixture(scope="module")
def fitted():
    """The smoke run's state after the stages up to the tables (the digits MLP and the
    fitted estimator), made once."""
    run = experiment.EXPERIMENT.start(SMOKE)
    for name in CHECKED[:4]:
        run.stage(name)
    return dict(run.state)


def _partial_result(state) -> Result:
    """The later implementation stages run again on ``state``, as a result to judge."""
    state = dict(state)
    for name in CHECKED[4:]:
        state.update(experiment.EXPERIMENT.stages[name](SMOKE, state))
    data = {k: v for k, v in state.items() if not k.startswith("_")}
    return Result("maddness", "smoke", {}, data)


def _correctness(table):
    return table[table["kind"] == "correctness"].set_index("name")


def test_a_wrong_bias_correction_fails_the_chapter(monkeypatch, fitted):
    """Forgetting the round-up averaging's bias (the correction subtracts 0) must fail the
    bias claim and the kernels-against-reference claim; unbroken, both hold."""
    unbroken = _correctness(mclaims.claims(_partial_result(fitted), SMOKE))
    assert unbroken["holds"].all(), unbroken[~unbroken["holds"]]
    assert_claims(unbroken.reset_index())

    monkeypatch.setattr(tables, "averaging_bias", lambda ncodebooks: 0.0)
    broken = _correctness(mclaims.claims(_partial_result(fitted), SMOKE))
    assert not broken.loc["bias_correction_removes_overshoot", "holds"]
    assert not broken.loc["estimator_output_equals_table_arithmetic", "holds"]
    with pytest.raises(ClaimFailed, match="bias_correction_removes_overshoot"):
        assert_claims(broken.reset_index())


def test_a_wrong_split_search_fails_the_chapter(monkeypatch):
    """Prefix-sum losses off by a thousandth must fail the split claim."""
    real = experiment.split_losses

    def off_by_one(rows):
        return real(rows) * (1 + 1e-3)

    monkeypatch.setattr(experiment, "split_losses", off_by_one)
    split = experiment.split_search(SMOKE, {"_rng": np.random.default_rng(0)})
    table = mclaims.claims(Result("maddness", "smoke", {}, dict(split)), SMOKE)
    row = table.set_index("name").loc["split_search_matches_brute_force"]
    assert not row["holds"] and row["value"] > 1


def test_every_correctness_claim_is_enforced_at_smoke():
    table = mclaims.claims(Result("maddness", "smoke", {}, {}), SMOKE)
    correctness = table[table["kind"] == "correctness"]
    assert len(correctness) >= 8 and correctness["enforced"].all()
    # the speed targets stay rows of the table at smoke, not asserted there
    speed = table[table["name"].str.contains("_speedup_")]
    targets = speed[~speed["name"].str.startswith("goal_")]
    assert len(targets) == 2 * len(SMOKE.speed_targets) and not speed["enforced"].any()
    for name in ("ci", "gpu"):  # asserted only on a machine of its own (gpu)
        profile = get_chapter("maddness").profile(name)
        judged = mclaims.claims(Result("maddness", name, {}, {}), profile)
        speed = judged[judged["name"].str.contains("_speedup_")]
        goals = speed["name"].str.startswith("goal_")
        assert speed[~goals]["enforced"].all() == (name == "gpu")
        assert not speed[goals]["enforced"].any()


def test_the_stored_gpu_run_is_judged():
    stored = stored_result("maddness", "gpu")
    table = mclaims.claims(stored, get_chapter("maddness").profile("gpu")).set_index("name")
    # est.matmul's rows and the correctness checks are measured on it, and the checks hold
    assert table.loc["call_speedup_row_major_m10", "value"] > 0
    for name in ("tree_walk_matches_codes", "kernel_codes_match_reference",
                 "estimator_output_equals_table_arithmetic"):
        assert table.loc[name, "holds"], name
    # the raw kernel's speed targets and the accuracy are measured on it
    assert table.loc["kernel_speedup_column_major_m100", "value"] > 0
    assert table.loc["relative_accuracy_at_16", "value"] > 0
    assert len(mclaims.versus_two_core(stored)) == 4
    numbers = mclaims.headline(stored)
    assert "digits relative accuracy, C=16" in numbers


def test_the_cold_call_sentence_follows_the_data():
    from effnotes.maddness.claims import cold_sentence

    assert "lose to BLAS" in cold_sentence(0.45, 16) and "0.45x" in cold_sentence(0.45, 16)
    assert "beat BLAS at every shape" in cold_sentence(1.6, 16)
    assert "did not time" in cold_sentence(float("nan"), 16)
