"""Claims: what a chapter says its run shows, each judged by code against a fixed threshold.

Every chapter's ``claims(result, profile)`` returns a :func:`claims_table` built from
:class:`Claim` rows. One row per claim:

========== ==============================================================================
name       a short identifier (``"global_beats_random_8x"``)
claim      the sentence the page prints
value      the measured number (NaN when the run could not measure it)
threshold  the number it is compared with (NaN for a plain yes/no claim)
relation   how: ``">="``, ``"<="``, ``">"``, ``"<"``, ``"within"`` or ``"is true"``
holds      whether it holds (a NaN value never holds)
enforced   whether the profile asserts it (the notebook and ``--store`` fail on it)
kind       ``"correctness"`` (the method is implemented right: enforced at every profile)
           or ``"result"`` (what the experiment finds: enforced where the profile is large
           enough for the finding to show)
verdict    a sentence saying why it holds or fails, e.g. "2.11 > 2 (at most 2 was claimed)"
========== ==============================================================================

The same function judges a live run and a stored one, at the thresholds of the profile it is
given; a threshold is part of the profile or of the claim's code, never of the data.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

KINDS = ("correctness", "result")
RELATIONS = (">=", "<=", ">", "<", "within", "is true")
#: The columns of a claims table, in order.
COLUMNS = ("name", "claim", "value", "threshold", "relation", "holds", "enforced", "kind",
           "verdict")


def _number(name: str, value, *, allow_nan: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not allow_nan and math.isnan(value):
        raise ValueError(f"{name} must not be NaN")
    return value


@dataclass(frozen=True)
class Claim:
    """One judged claim. Build it with :meth:`at_least`, :meth:`at_most`, :meth:`above`,
    :meth:`below`, :meth:`within` or :meth:`true`, which compute ``holds`` from the value and
    the threshold, so a row can never say it holds when its numbers say otherwise."""

    name: str
    claim: str
    value: float
    threshold: float
    relation: str
    holds: bool
    enforced: bool
    kind: str
    #: why the value is NaN, when it can be (e.g. "no method had a strong effect"); the
    #: verdict says so instead of "the run did not measure it"
    missing_reason: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.claim, str) or not self.claim.strip():
            raise ValueError(f"claim must be a non-empty sentence, got {self.claim!r}")
        if self.relation not in RELATIONS:
            raise ValueError(f"relation must be one of {RELATIONS}, got {self.relation!r}")
        if not isinstance(self.missing_reason, str):
            raise TypeError(f"missing_reason must be a string, got "
                            f"{type(self.missing_reason).__name__}")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        for flag in ("holds", "enforced"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"{flag} must be a bool, got {type(getattr(self, flag)).__name__}")

    @classmethod
    def _compare(cls, name, claim, value, threshold, relation, enforced, kind,
                 missing_reason="") -> Claim:
        value = _number("value", value)
        threshold = _number("threshold", threshold, allow_nan=False)
        if math.isnan(value):
            holds = False
        else:
            holds = {">=": value >= threshold, "<=": value <= threshold,
                     ">": value > threshold, "<": value < threshold}[relation]
        return cls(name, claim, value, threshold, relation, bool(holds), _flag(enforced), kind,
                   missing_reason)

    @classmethod
    def at_least(cls, name: str, claim: str, value, threshold, *, enforced: bool = True,
                 kind: str = "result", missing_reason: str = "") -> Claim:
        """``value >= threshold``."""
        return cls._compare(name, claim, value, threshold, ">=", enforced, kind,
                            missing_reason)

    @classmethod
    def at_most(cls, name: str, claim: str, value, threshold, *, enforced: bool = True,
                kind: str = "result", missing_reason: str = "") -> Claim:
        """``value <= threshold``."""
        return cls._compare(name, claim, value, threshold, "<=", enforced, kind,
                            missing_reason)

    @classmethod
    def above(cls, name: str, claim: str, value, threshold, *, enforced: bool = True,
              kind: str = "result", missing_reason: str = "") -> Claim:
        """``value > threshold``."""
        return cls._compare(name, claim, value, threshold, ">", enforced, kind,
                            missing_reason)

    @classmethod
    def below(cls, name: str, claim: str, value, threshold, *, enforced: bool = True,
              kind: str = "result", missing_reason: str = "") -> Claim:
        """``value < threshold``."""
        return cls._compare(name, claim, value, threshold, "<", enforced, kind,
                            missing_reason)

    @classmethod
    def within(cls, name: str, claim: str, value, target, tolerance, *,
               enforced: bool = True, kind: str = "result",
               missing_reason: str = "") -> Claim:
        """``|value - target| <= tolerance``; the row's value is the distance and its
        threshold the tolerance."""
        value = _number("value", value)
        target = _number("target", target, allow_nan=False)
        tolerance = _number("tolerance", tolerance, allow_nan=False)
        if tolerance < 0:
            raise ValueError(f"tolerance must be >= 0, got {tolerance}")
        distance = abs(value - target)
        holds = not math.isnan(distance) and distance <= tolerance
        return cls(name, claim, distance, tolerance, "within", bool(holds), _flag(enforced),
                   kind, missing_reason)

    @classmethod
    def true(cls, name: str, claim: str, condition, *, value=float("nan"),
             enforced: bool = True, kind: str = "result") -> Claim:
        """A yes/no claim; ``value`` may carry the number it rests on (shown, not compared)."""
        if not isinstance(condition, bool) and type(condition).__name__ != "bool_":
            raise TypeError(f"condition must be a bool, got {type(condition).__name__}")
        return cls(name, claim, _number("value", value), float("nan"), "is true",
                   bool(condition), _flag(enforced), kind)

    @property
    def verdict(self) -> str:
        """Why the claim holds or fails, in words."""
        if self.relation == "is true":
            return "holds" if self.holds else "fails"
        if math.isnan(self.value):
            return "fails: " + (self.missing_reason or "the run did not measure it")
        shown = f"{self.value:.4g}"
        limit = f"{self.threshold:.4g}"
        if self.relation == "within":
            text = f"off by {shown}, allowed {limit}"
        else:
            text = f"{shown} {self.relation} {limit}" if self.holds else \
                f"{shown}, not {self.relation} {limit}"
        return ("holds: " if self.holds else "fails: ") + text


def _flag(value) -> bool:
    if not isinstance(value, bool) and type(value).__name__ != "bool_":
        raise TypeError(f"enforced must be a bool, got {type(value).__name__}")
    return bool(value)


def claims_table(claims: Iterable[Claim]) -> pd.DataFrame:
    """The claims as a table with the columns :data:`COLUMNS`, one row per claim, in order;
    two claims of one name are refused."""
    rows = []
    for claim in claims:
        if not isinstance(claim, Claim):
            raise TypeError(f"claims must be Claim objects, got {type(claim).__name__}")
        rows.append({column: getattr(claim, column) for column in COLUMNS})
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    repeated = table["name"][table["name"].duplicated()].tolist()
    if repeated:
        raise ValueError(f"claim names must be unique; repeated: {repeated}")
    return table


def check_table(table) -> pd.DataFrame:
    """``table`` if it is a claims table (a DataFrame with :data:`COLUMNS`); else a clear error."""
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"a claims table must be a DataFrame, got {type(table).__name__}")
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"not a claims table: missing columns {missing}")
    return table


def failing(table: pd.DataFrame, *, enforced_only: bool = True) -> pd.DataFrame:
    """The rows of ``table`` that fail (only the enforced ones by default)."""
    table = check_table(table)
    rows = ~table["holds"].astype(bool)
    if enforced_only:
        rows &= table["enforced"].astype(bool)
    return table[rows]


class ClaimFailed(AssertionError):
    """An enforced claim does not hold."""


def assert_claims(table: pd.DataFrame) -> None:
    """Raise :class:`ClaimFailed` listing every enforced claim that fails."""
    broken = failing(table)
    if len(broken):
        lines = [f"- {row.name}: {row.claim} ({row.verdict})" for row in broken.itertuples()]
        raise ClaimFailed(f"{len(broken)} enforced claim(s) fail:\n" + "\n".join(lines))


def summary(table: pd.DataFrame) -> str:
    """"n of m claims hold (k enforced fail)" for a table."""
    table = check_table(table)
    holds = int(table["holds"].sum())
    broken = len(failing(table))
    return f"{holds} of {len(table)} claims hold ({broken} enforced fail)"


def as_records(table: pd.DataFrame) -> list[dict]:
    """The table as JSON-ready records (stored in a result's provenance)."""
    return check_table(table)[list(COLUMNS)].to_dict(orient="records")


def _shown_verdict(row) -> str:
    return row.verdict + ("" if row.enforced else " (not enforced)")


def side_by_side(tables: Mapping[str, pd.DataFrame | None]) -> pd.DataFrame:
    """Several runs' claims tables in one: a row per claim (by name, in first-seen order),
    the claim's sentence, then each run's verdict (with its numbers) under the run's label.
    A run that lacks a claim shows "not in this run" rather than hiding the row; a ``None``
    table (nothing stored) is left out."""
    present = {label: check_table(t) for label, t in tables.items() if t is not None}
    order: list[str] = []
    sentences: dict[str, str] = {}
    for table in present.values():
        for row in table.itertuples():
            if row.name not in sentences:
                order.append(row.name)
                sentences[row.name] = row.claim
    joined = pd.DataFrame({"claim": [sentences[n] for n in order]}, index=pd.Index(order,
                                                                                   name="name"))
    for label, table in present.items():
        verdicts = {row.name: _shown_verdict(row) for row in table.itertuples()}
        joined[label] = [verdicts.get(n, "not in this run") for n in order]
    return joined


def across_seed_sets(tables: Mapping[str, pd.DataFrame]) -> pd.Series:
    """For runs of one profile on disjoint seed sets: per claim, "holds on every seed set",
    "fails on every seed set", or "not established" (it holds on some and not on others).
    A claim missing from a run counts as not holding there."""
    present = [check_table(t).set_index("name")["holds"] for t in tables.values()]
    if len(present) < 2:
        raise ValueError("across_seed_sets needs the tables of at least two seed sets")
    joined = pd.concat(present, axis=1).fillna(False).astype(bool)
    return joined.apply(lambda r: "holds on every seed set" if r.all() else
                        ("fails on every seed set" if not r.any() else "not established"),
                        axis=1).rename("across seed sets")
