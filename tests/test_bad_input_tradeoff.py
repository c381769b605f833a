"""Bad input to effnotes.tradeoff: each case raises the named error type and the message names
the argument that is wrong."""

import numpy as np
import pandas as pd
import pytest

from effnotes.tradeoff import (SeedSweep, TradeoffCurve, amdahl_speedup, bootstrap_speedup,
                               pareto_mask, speedup_at)


def curve():
    return TradeoffCurve([1, 2, 4], [0.1, 0.5, 0.9])


def sweep(cost_unit="s"):
    return SeedSweep([1, 2], [[1, 2], [1.5, 2.5]], [[0.1, 0.2], [0.15, 0.3]],
                     cost_unit=cost_unit)


def frame(**columns):
    base = {"budget": [1, 2], "seed": [0, 0], "cost": [1.0, 2.0], "quality": [0.1, 0.2]}
    return pd.DataFrame({**base, **columns})


CASES = [
    ("curve 2-D", lambda: TradeoffCurve([[1, 2]], [[1, 2]]), ValueError, "cost"),
    ("curve scalar", lambda: TradeoffCurve(1.0, 0.5), ValueError, "cost"),
    ("curve text", lambda: TradeoffCurve("abc", [1, 2, 3]), ValueError, "cost"),
    ("curve bool", lambda: TradeoffCurve([True, True], [1, 2]), TypeError, "cost"),
    ("curve nan", lambda: TradeoffCurve([1, np.nan], [1, 2]), ValueError, "cost"),
    ("curve inf quality", lambda: TradeoffCurve([1, 2], [1, np.inf]), ValueError, "quality"),
    ("curve lengths", lambda: TradeoffCurve([1, 2], [1]), ValueError, "quality"),
    ("curve empty", lambda: TradeoffCurve([], []), ValueError, "point"),
    ("curve cost 0", lambda: TradeoffCurve([0, 1], [1, 2]), ValueError, "cost"),
    ("curve label int", lambda: TradeoffCurve([1], [1], label=3), TypeError, "label"),
    ("curve unit None", lambda: TradeoffCurve([1], [1], cost_unit=None), TypeError,
     "cost_unit"),
    ("target text", lambda: curve().cost_to_reach("0.5"), TypeError, "target"),
    ("target None", lambda: curve().cost_to_reach(None), TypeError, "target"),
    ("target array", lambda: curve().cost_to_reach(np.array([0.5, 0.6])), TypeError, "target"),
    ("target bool", lambda: curve().cost_to_reach(True), TypeError, "target"),
    ("target nan", lambda: curve().cost_to_reach(float("nan")), ValueError, "target"),
    ("speedup_at list", lambda: speedup_at([1, 2], curve(), 0.5), TypeError, "baseline"),
    ("speedup_at method", lambda: speedup_at(curve(), None, 0.5), TypeError, "method"),
    ("speedup_at units", lambda: speedup_at(curve(), TradeoffCurve([1], [1], cost_unit="epochs"),
                                            0.5), ValueError, "cost units"),
    ("pareto lengths", lambda: pareto_mask([1, 2], [1]), ValueError, "quality"),
    ("sweep nan", lambda: SeedSweep([1, 2], [[1, np.nan]], [[1, 2]]), ValueError, "cost"),
    ("sweep text", lambda: SeedSweep([1, 2], [["a", "b"]], [[1, 2]]), TypeError, "cost"),
    ("sweep complex", lambda: SeedSweep([1, 2], [[1 + 1j, 2]], [[1, 2]]), TypeError, "cost"),
    ("sweep cost < 0", lambda: SeedSweep([1, 2], [[-1, 2]], [[1, 2]]), ValueError, "cost"),
    ("sweep cost 0", lambda: SeedSweep([1, 2], [[0, 2]], [[1, 2]]), ValueError, "cost"),
    ("sweep shape", lambda: SeedSweep([1, 2], [1, 2], [1, 2]), ValueError, "n_budgets"),
    ("sweep no budgets", lambda: SeedSweep([], np.zeros((1, 0)), np.zeros((1, 0))), ValueError,
     "budgets"),
    ("sweep label", lambda: SeedSweep([1], [[1]], [[1]], label=None), TypeError, "label"),
    ("seeds out of range", lambda: sweep().mean_curve([5]), ValueError, "seeds"),
    ("seeds float", lambda: sweep().mean_curve([0.5]), TypeError, "seeds"),
    ("seeds empty", lambda: sweep().mean_curve([]), ValueError, "seeds"),
    ("frame dict", lambda: SeedSweep.from_frame({"a": 1}), TypeError, "frame"),
    ("frame no rows", lambda: SeedSweep.from_frame(frame().iloc[:0]), ValueError, "frame"),
    ("frame text cost", lambda: SeedSweep.from_frame(frame(cost=["x", "y"])), TypeError, "cost"),
    ("frame missing", lambda: SeedSweep.from_frame(frame().drop(columns="seed")), KeyError,
     "seed"),
    ("n_boot text", lambda: bootstrap_speedup(sweep(), sweep(), 0.2, n_boot="200"), TypeError,
     "n_boot"),
    ("n_boot float", lambda: bootstrap_speedup(sweep(), sweep(), 0.2, n_boot=150.5), TypeError,
     "n_boot"),
    ("n_boot small", lambda: bootstrap_speedup(sweep(), sweep(), 0.2, n_boot=10), ValueError,
     "n_boot"),
    ("confidence nan", lambda: bootstrap_speedup(sweep(), sweep(), 0.2,
                                                 confidence=float("nan")), ValueError,
     "confidence"),
    ("confidence text", lambda: bootstrap_speedup(sweep(), sweep(), 0.2, confidence="0.9"),
     TypeError, "confidence"),
    ("confidence 1", lambda: bootstrap_speedup(sweep(), sweep(), 0.2, confidence=1.0),
     ValueError, "confidence"),
    ("bootstrap target nan", lambda: bootstrap_speedup(sweep(), sweep(), float("nan")),
     ValueError, "target"),
    ("bootstrap target text", lambda: bootstrap_speedup(sweep(), sweep(), "0.2"), TypeError,
     "target"),
    ("bootstrap curve", lambda: bootstrap_speedup(curve(), sweep(), 0.2), TypeError, "baseline"),
    ("bootstrap seed", lambda: bootstrap_speedup(sweep(), sweep(), 0.2, seed=1.5), TypeError,
     "seed"),
    ("bootstrap units", lambda: bootstrap_speedup(sweep(), sweep("epochs"), 0.2), ValueError,
     "cost units"),
    ("amdahl fraction nan", lambda: amdahl_speedup(float("nan"), 2), ValueError, "fraction"),
    ("amdahl fraction text", lambda: amdahl_speedup("0.5", 2), TypeError, "fraction"),
    ("amdahl fraction array", lambda: amdahl_speedup(np.array([0.5, 0.6]), 2), TypeError,
     "fraction"),
    ("amdahl fraction > 1", lambda: amdahl_speedup(1.5, 2), ValueError, "fraction"),
    ("amdahl factor nan", lambda: amdahl_speedup(0.5, float("nan")), ValueError, "factor"),
    ("amdahl factor text", lambda: amdahl_speedup(0.5, "2"), TypeError, "factor"),
    ("amdahl factor 0", lambda: amdahl_speedup(0.5, 0), ValueError, "factor"),
]


@pytest.mark.parametrize("call, error, name", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_named(call, error, name):
    with pytest.raises(error) as raised:
        call()
    assert name in str(raised.value), str(raised.value)


def test_valid_input_still_gives_the_same_answers():
    assert curve().cost_to_reach(np.float64(0.5)) == pytest.approx(2.0)
    assert curve().cost_to_reach(1) == float("inf")
    assert sweep().mean_curve(np.array([1, 1])).cost.tolist() == [1.5, 2.5]
    assert amdahl_speedup(0.5, float("inf")) == pytest.approx(2.0)  # the Amdahl limit
    assert pareto_mask([], []).tolist() == []
