"""The unit_scaling chapter under its contract: a broken unit-scaled linear fails the
chapter's correctness claims at smoke, every correctness claim is enforced at smoke, and the
claims judge the stored gpu run (and the rewritten transfer claim can fail)."""

import math

import pandas as pd
import pytest

from effnotes.chapters import get_chapter
from effnotes.claims import ClaimFailed, assert_claims
from effnotes.contract import stored_result
from effnotes.unit_scaling import functional
from effnotes.unit_scaling.claims import claims, headline
from effnotes.unit_scaling.experiment import EXPERIMENT

SMOKE = get_chapter("unit_scaling").profile("smoke")
GPU = get_chapter("unit_scaling").profile("gpu")
SCALE_STAGES = ("load_corpus", "variance_checks", "depth_analysis")


def _scale_stages() -> dict:
    """The stages the correctness claims read, at smoke (a few seconds); their outputs."""
    run = EXPERIMENT.start(SMOKE)
    for name in SCALE_STAGES:
        run.stage(name)
    return dict(run.state)


def test_unit_scaling_is_checked_both_ways(monkeypatch):
    """Intact, the correctness claims hold; with the 1/sqrt(fan-in) multiplier dropped from
    the unit-scaled linear (alpha forced to 1), they fail and the page's assert raises."""
    table = claims(_scale_stages(), SMOKE).set_index("name")
    assert table.loc[["mc_variances", "mus_input_rms_high"], "holds"].all()
    correct = table[table["kind"] == "correctness"]
    assert correct["holds"].all(), correct[~correct["holds"]]

    original = functional.scaled_linear

    def unscaled(x, weight, *, alpha=None, precision="fp32"):
        return original(x, weight, alpha=1.0, precision=precision)

    monkeypatch.setattr(functional, "scaled_linear", unscaled)
    broken = claims(_scale_stages(), SMOKE)
    rows = broken.set_index("name")
    assert not rows.loc["mc_variances", "holds"]  # the linear's variance is fan-in, not 1
    assert not rows.loc["mus_input_rms_high", "holds"]
    with pytest.raises(ClaimFailed, match="mc_variances"):
        assert_claims(broken)


def test_correctness_claims_are_enforced_at_every_profile():
    result = stored_result("unit_scaling", "gpu")
    for name in ("smoke", "ci", "gpu"):
        profile = get_chapter("unit_scaling").profile(name)
        table = claims(result, profile)
        correct = table[table["kind"] == "correctness"]
        assert len(correct) >= 8 and correct["enforced"].all()
    smoke = claims(result, SMOKE)
    assert not smoke.loc[smoke["kind"] == "result", "enforced"].any()


def test_stored_gpu_run_is_judged_and_shows_its_failures():
    """The stored run breaks claims the live run asserts; they must read failing."""
    table = claims(stored_result("unit_scaling", "gpu"), GPU).set_index("name")
    for name in ("sp_residual_peak", "mus_transfer_penalty", "mus_matches_sp_widest"):
        assert not table.loc[name, "holds"], name
    assert table.loc["mus_transfer_penalty", "value"] == pytest.approx(0.0211, abs=1e-4)
    assert table.loc["sp_residual_peak", "value"] == pytest.approx(0.688, abs=1e-3)
    assert table.loc["mc_variances", "holds"] and table.loc["parity_mus", "holds"]
    numbers = headline(stored_result("unit_scaling", "gpu"))
    assert numbers["sp_fp32"] < numbers["mus_fp32"]  # SP ends lower there, as the page says


def _sweep(mus_loss_at_base_rate: float, sp_loss_at_base_rate: float) -> pd.DataFrame:
    """A two-width, two-rate sweep whose best rate at the narrow width is 0.01 for both, and
    whose wide width's best loss is 1.0 at rate 0.02."""
    rows = []
    for param, at_base in (("mus", mus_loss_at_base_rate), ("sp", sp_loss_at_base_rate)):
        rows += [{"parametrisation": param, "width": 32, "lr": 0.01, "loss": 1.0},
                 {"parametrisation": param, "width": 32, "lr": 0.02, "loss": 2.0},
                 {"parametrisation": param, "width": 64, "lr": 0.01, "loss": at_base},
                 {"parametrisation": param, "width": 64, "lr": 0.02, "loss": 1.0}]
    return pd.DataFrame(rows)


def test_sp_penalty_claim_can_fail_when_mus_penalty_is_zero():
    """The old claim (SP's penalty >= 3x μS's) held whenever μS's penalty was 0; the
    rewritten one needs SP's to exceed μS's by the transfer tolerance."""
    ci = get_chapter("unit_scaling").profile("ci")
    close = claims({"sweep": _sweep(1.0, 1.0 + ci.transfer_tolerance / 2)}, ci).set_index("name")
    assert close.loc["mus_transfer_penalty", "value"] == 0
    assert not close.loc["sp_penalty_over_mus", "holds"]
    apart = claims({"sweep": _sweep(1.0, 1.0 + 2 * ci.transfer_tolerance)}, ci).set_index("name")
    assert apart.loc["sp_penalty_over_mus", "holds"]
    # an older run without a sweep reads NaN and fails, rather than raising
    empty = claims({}, ci).set_index("name")
    assert math.isnan(empty.loc["sp_penalty_over_mus", "value"])
    assert not empty.loc["sp_penalty_over_mus", "holds"]
