"""Bad input to effnotes.masking.schedules: each case raises the named error type and the
message names the argument; different schedules never share a name."""

import numpy as np
import pytest

from effnotes.masking.schedules import MaskingSchedule, check_progress, parse_schedule

LINEAR = MaskingSchedule("linear", 0.3, 0.15)

CASES = [
    ("kind", lambda: MaskingSchedule("exponential", 0.2), ValueError, "kind"),
    ("start 0", lambda: MaskingSchedule("constant", 0.0), ValueError, "start"),
    ("start 1", lambda: MaskingSchedule("constant", 1.0), ValueError, "start"),
    ("start nan", lambda: MaskingSchedule("constant", float("nan")), ValueError, "start"),
    ("start text", lambda: MaskingSchedule("constant", "0.15"), TypeError, "start"),
    ("start bool", lambda: MaskingSchedule("constant", True), TypeError, "start"),
    ("end 1", lambda: MaskingSchedule("linear", 0.3, 1.0), ValueError, "end"),
    ("end nan", lambda: MaskingSchedule("linear", 0.3, float("nan")), ValueError, "end"),
    ("constant end", lambda: MaskingSchedule("constant", 0.15, 0.3), ValueError, "end"),
    ("progress > 1", lambda: LINEAR.rate(1.5), ValueError, "progress"),
    ("progress nan", lambda: LINEAR.rate(float("nan")), ValueError, "progress"),
    ("progress text", lambda: check_progress("half"), TypeError, "progress"),
    ("total_steps 0", lambda: LINEAR.rates(0), ValueError, "total_steps"),
    ("total_steps float", lambda: LINEAR.rates(10.0), ValueError, "total_steps"),
    ("mean_rate steps", lambda: LINEAR.mean_rate(-3), ValueError, "total_steps"),
    ("spec type", lambda: parse_schedule(0.15), TypeError, "spec"),
    ("spec rates", lambda: parse_schedule("linear-0.3"), ValueError, "spec"),
    ("spec numbers", lambda: parse_schedule("linear-a-b"), ValueError, "spec"),
    ("spec kind", lambda: parse_schedule("sine-0.3-0.1"), ValueError, "spec"),
]


@pytest.mark.parametrize("call, error, name", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_named(call, error, name):
    with pytest.raises(error) as raised:
        call()
    assert name in str(raised.value), str(raised.value)


@pytest.mark.parametrize("a, b", [(("constant", 0.151), ("constant", 0.149)),
                                  (("linear", 0.3, 0.151), ("linear", 0.3, 0.149)),
                                  (("cosine", 0.301, 0.15), ("cosine", 0.3, 0.15))])
def test_different_schedules_have_different_names(a, b):
    first, second = MaskingSchedule(*a), MaskingSchedule(*b)
    assert first.name != second.name
    assert parse_schedule(first.name) == first and parse_schedule(second.name) == second


def test_names_of_two_decimal_rates_are_unchanged():
    assert MaskingSchedule("linear", 0.3, 0.15).name == "linear-0.30-0.15"
    assert MaskingSchedule("constant", np.float32(0.25)).name == "constant-0.25"
