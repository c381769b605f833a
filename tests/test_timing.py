"""effnotes.timing: interleaved rounds and paired speedups."""

import pandas as pd
import pytest
import torch

from effnotes.timing import interleaved_times, paired_speedups


def test_interleaved_times_has_a_row_per_round_and_tells_big_from_small():
    big, small = torch.randn(256, 256), torch.randn(16, 16)
    times = interleaved_times({"big": ("a @ a", {"a": big}), "small": ("a @ a", {"a": small})},
                              min_run_time=0.2, rounds=3)
    assert list(times.columns) == ["big", "small"] and len(times) == 3
    assert (times > 0).all().all()
    assert paired_speedups(times, "big")["small"] > 1


def test_paired_speedups_are_medians_of_round_by_round_ratios():
    # round 1 ran while the machine was slow: every statement took 10x as long
    times = pd.DataFrame({"base": [2.0, 20.0, 2.0], "fast": [1.0, 10.0, 0.5]})
    speedups = paired_speedups(times, "base")
    assert speedups["base"] == 1.0 and speedups["fast"] == 2.0
    # a ratio of the medians would mix rounds: 2.0 / 1.0 here by luck, but not in general
    assert (times["base"] / times["fast"]).tolist() == [2.0, 2.0, 4.0]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="rounds"):
        interleaved_times({"a": ("1", {})}, min_run_time=0.1, rounds=0)
    with pytest.raises(ValueError, match="min_run_time"):
        interleaved_times({"a": ("1", {})}, min_run_time=0.0)
    with pytest.raises(ValueError, match="empty"):
        interleaved_times({}, min_run_time=0.1)
    with pytest.raises(ValueError, match="baseline 'c'"):
        paired_speedups(pd.DataFrame({"a": [1.0]}), "c")
