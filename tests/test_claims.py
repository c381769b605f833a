"""The claims table: rows compute whether they hold, tables refuse bad rows, and the page's
side-by-side and seed-set views say what the rows say."""

import math

import pandas as pd
import pytest

from effnotes.claims import (COLUMNS, Claim, ClaimFailed, across_seed_sets, as_records,
                             assert_claims, claims_table, failing, side_by_side, summary)


def test_comparisons_compute_holds():
    assert Claim.at_least("a", "a holds", 2.0, 2.0).holds
    assert not Claim.above("a", "a holds", 2.0, 2.0).holds
    assert Claim.at_most("a", "a holds", 1.99, 2).holds
    assert not Claim.below("a", "a holds", float("nan"), 2).holds  # NaN never holds
    near = Claim.within("w", "w holds", 1.05, 1.0, 0.1)
    assert near.holds and math.isclose(near.value, 0.05) and near.threshold == 0.1
    assert Claim.true("t", "t holds", True).holds


def test_verdict_says_why():
    row = Claim.at_most("penalty", "the penalty is small", 2.11, 2.0)
    assert row.verdict == "fails: 2.11, not <= 2"
    assert "did not measure" in Claim.at_least("x", "x", float("nan"), 1).verdict


@pytest.mark.parametrize("bad,match", [
    (dict(value="2"), "value must be a real number"),
    (dict(threshold=float("nan")), "threshold must not be NaN"),
    (dict(kind="vibe"), "kind must be one of"),
    (dict(enforced=1), "enforced must be a bool"),
    (dict(name=""), "name must be a non-empty"),
])
def test_bad_rows_are_refused(bad, match):
    args = dict(name="a", claim="a claim", value=1.0, threshold=0.5, enforced=True,
                kind="result") | bad
    with pytest.raises((TypeError, ValueError), match=match):
        Claim.at_least(args["name"], args["claim"], args["value"], args["threshold"],
                       enforced=args["enforced"], kind=args["kind"])


def test_table_assert_and_summary():
    table = claims_table([Claim.at_least("ok", "fine", 3, 2),
                          Claim.at_least("bad", "broken", 1, 2),
                          Claim.at_least("soft", "not enforced", 1, 2, enforced=False)])
    assert list(table.columns) == list(COLUMNS)
    assert list(failing(table)["name"]) == ["bad"]
    assert summary(table) == "1 of 3 claims hold (1 enforced fail)"
    with pytest.raises(ClaimFailed, match="bad: broken"):
        assert_claims(table)
    assert_claims(table[table["name"] != "bad"])
    assert as_records(table)[0]["name"] == "ok"
    with pytest.raises(ValueError, match="unique"):
        claims_table([Claim.true("x", "x", True), Claim.true("x", "x", False)])


def test_side_by_side_and_seed_sets():
    first = claims_table([Claim.at_least("a", "A", 3, 2), Claim.at_least("b", "B", 3, 2)])
    second = claims_table([Claim.at_least("a", "A", 3, 2), Claim.at_least("b", "B", 1, 2)])
    both = side_by_side({"live": first, "stored": second, "missing": None})
    assert list(both.columns) == ["claim", "live", "stored"]
    assert both.loc["b", "stored"].startswith("fails")
    only = side_by_side({"live": first, "stored": second.iloc[:1]})
    assert only.loc["b", "stored"] == "not in this run"
    verdicts = across_seed_sets({"one": first, "two": second})
    assert verdicts["a"] == "holds on every seed set" and verdicts["b"] == "not established"
    with pytest.raises(ValueError, match="at least two"):
        across_seed_sets({"one": first})
    assert isinstance(both, pd.DataFrame)


def test_a_nan_value_can_say_why():
    row = Claim.at_least("r", "r is high", float("nan"), 0.8,
                         missing_reason="no method had a strong effect")
    assert not row.holds and row.verdict == "fails: no method had a strong effect"
