"""The speedup chapter's contract: its correctness claims are enforced at smoke, a broken
method fails them, and the stored gpu run is judged (what it lacks reads as not measured)."""

import math

import pandas as pd
import pytest

import effnotes.speedup.pipeline as pipeline
import effnotes.tradeoff as tradeoff
from effnotes.chapters import profile_parameters
from effnotes.claims import ClaimFailed, assert_claims
from effnotes.contract import Result, stored_result
from effnotes.speedup import experiment
from effnotes.speedup.claims import claims, headline, headline_table, stored_run_numbers
from effnotes.speedup.profiles import CI, GPU, SMOKE


def _result(data, profile=SMOKE):
    return Result(chapter="speedup", profile="smoke", parameters=profile_parameters(profile),
                  data={k: v for k, v in data.items() if not k.startswith("_")})


def _row(table, name):
    return table.set_index("name").loc[name]


@pytest.fixture(scope="module")
def swept():
    """The data stage at smoke and a sweep table shaped like the sweep stage's (made up, so
    the test trains nothing): the improved recipe reaches each accuracy in less time."""
    import numpy as np

    state = dict(experiment.data(SMOKE, {}))
    rng = np.random.default_rng(0)
    rows = [{"recipe": recipe, "seed": seed, "budget": budget,
             "train_time_s": budget * (0.1 if recipe == "baseline" else 0.12),
             "val_accuracy": min(0.99, (0.6 if recipe == "baseline" else 0.7) + 0.03 * budget
                                 + 0.01 * rng.standard_normal())}
            for recipe in ("baseline", "improved") for budget in SMOKE.budgets
            for seed in SMOKE.seed_list]
    return state | {"sweep": pd.DataFrame(rows)}


def test_every_correctness_claim_is_enforced_at_every_profile():
    empty = _result({})
    for profile in (SMOKE, CI, GPU):
        table = claims(empty, profile)  # a run that measured nothing: NaN, never an error
        assert table["value"].isna().all() and not table["holds"].any()
        correctness = table[table["kind"] == "correctness"]
        assert len(correctness) >= 5 and correctness["enforced"].all()
    smoke = claims(empty, SMOKE).set_index("name")
    assert smoke.loc["speedup_in_epochs", "enforced"]  # not a timing claim: enforced anyway
    assert not smoke.loc["speedup_in_wall_time", "enforced"]
    # timing claims are asserted only where the machine is the run's own (gpu)
    assert not claims(empty, CI).set_index("name").loc["speedup_in_wall_time", "enforced"]
    assert claims(empty, GPU).set_index("name").loc["speedup_in_wall_time", "enforced"]


def _measured(table):
    return table[table["value"].notna()]


def test_a_flipped_speedup_fails_the_chapter(swept, monkeypatch):
    state = swept | experiment.speedups(SMOKE, swept)
    table = claims(_result(state), SMOKE)
    assert _row(table, "speedup_is_cost_ratio")["holds"]
    assert _row(table, "sweep_complete")["holds"]
    assert_claims(_measured(table))

    real = tradeoff.speedup_at
    monkeypatch.setattr(tradeoff, "speedup_at", lambda base, method, q: 1 / real(base, method, q))
    broken = swept | experiment.speedups(SMOKE, swept)
    table = claims(_result(broken), SMOKE)
    assert not _row(table, "speedup_is_cost_ratio")["holds"]
    with pytest.raises(ClaimFailed, match="speedup_is_cost_ratio"):
        assert_claims(_measured(table))


def test_a_wrong_amdahl_law_fails_the_chapter(swept, monkeypatch):
    table = claims(_result(swept | experiment.amdahl(SMOKE, swept)), SMOKE)
    assert _row(table, "amdahl_arithmetic")["holds"]
    assert_claims(_measured(table))

    monkeypatch.setattr(pipeline, "amdahl_speedup", lambda p, s: (1 - p) + p * s)  # Gustafson's
    table = claims(_result(swept | experiment.amdahl(SMOKE, swept)), SMOKE)
    assert not _row(table, "amdahl_arithmetic")["holds"]
    with pytest.raises(ClaimFailed, match="amdahl_arithmetic"):
        assert_claims(_measured(table))


def test_stored_gpu_run_is_judged_as_it_was_when_stored():
    stored = stored_result("speedup", "gpu")
    table = claims(stored, GPU).set_index("name")
    recorded = {c["name"]: c for c in stored.provenance.get("claims", [])}
    for name, row in recorded.items():  # today's claims() gives the verdicts of store time
        assert bool(table.loc[name, "holds"]) == row["holds"], name
    for name in ("sweep_complete", "speedup_is_cost_ratio", "amdahl_arithmetic",
                 "taxonomy_covers_book", "gpu_small_mlp_overhead_bound",
                 "gpu_csr_slower_than_dense"):
        assert table.loc[name, "holds"], table.loc[name, "verdict"]
    numbers = headline(stored)
    assert numbers.loc["layer: 90% sparse, CSR kernel"] < 1
    page = stored_run_numbers(stored)
    unmeasured = int(table["value"].isna().sum())
    assert page["gpu_unmeasured"] == str(unmeasured)
    assert ("did not measure" in page["gpu_unmeasured_sentence"]) == (unmeasured > 0)
    shown = headline_table(stored, stored)
    assert not shown.isna().any(axis=None)
    assert stored_run_numbers(None)["gpu_time"] == "n/a"


def test_rewritten_claims_can_fail():
    """The stall and CSR claims used to pass whatever was measured at the gpu profile."""
    bottleneck = pd.DataFrame({"workers": [0], "compute_s_clean": [0.1],
                               "compute_s_delayed": [0.04], "attributed_to_compute": [-0.02]})  # > -0.5: the old bound held
    table = claims(_result({"bottleneck": bottleneck}, GPU), GPU).set_index("name")
    assert not table.loc["compute_slower_after_stall", "holds"]
    kernels = pd.DataFrame({"variant": ["90% sparse, CSR kernel"], "measured_speedup": [6.0],
                            "theoretical_speedup": [10.0]})  # short of 10x, as once claimed
    table = claims(_result({"kernels": kernels}, GPU), GPU).set_index("name")
    assert not table.loc["csr_far_from_theory", "holds"]
