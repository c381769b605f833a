import numpy as np
import pytest

from effnotes.notebook import _plain, glue_values


def test_plain_values():
    assert _plain("a", np.float64(1.5)) == 1.5 and type(_plain("a", np.float64(1.5))) is float
    assert type(_plain("a", np.int64(3))) is int
    assert _plain("a", np.bool_(True)) is True
    assert _plain("a", "text") == "text"


@pytest.mark.parametrize("bad, error", [(float("nan"), ValueError), (np.inf, ValueError),
                                        ([1, 2], TypeError), (None, TypeError)])
def test_bad_glue_values(bad, error):
    with pytest.raises(error, match="'x'"):
        _plain("x", bad)


def test_glue_values_outside_a_kernel_runs(capsys):
    glue_values(answer=np.float64(42.0))  # displays nothing when display=False


def test_interval_text_scales_and_formats_a_triple():
    from effnotes.notebook import interval_text

    assert interval_text((-0.0861, -0.1159, -0.0571)) == "-0.086 (95% interval -0.116 to -0.057)"
    assert interval_text((0.033, 0.003, 0.063), 100, "+.1f") == "+3.3 (95% interval +0.3 to +6.3)"
