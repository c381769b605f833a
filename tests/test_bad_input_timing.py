"""Bad input to effnotes.timing and effnotes.runtime: each case raises the named error type and
the message names the argument that is wrong (refused before anything is timed)."""

import numpy as np
import pandas as pd
import pytest
import torch

from effnotes.runtime import (choose_device, describe_hardware, seed_everything, synchronize,
                              torch_threads)
from effnotes.timing import interleaved_times, paired_speedups

ONE = {"a": ("1", {})}


def times(**columns):
    return pd.DataFrame({"a": [1.0, 2.0], "b": [0.5, 1.0], **columns})


def enter(count):
    with torch_threads(count):
        pass


CASES = [
    ("rounds float", lambda: interleaved_times(ONE, min_run_time=0.01, rounds=1.5), TypeError,
     "rounds"),
    ("rounds text", lambda: interleaved_times(ONE, min_run_time=0.01, rounds="2"), TypeError,
     "rounds"),
    ("rounds 0", lambda: interleaved_times(ONE, min_run_time=0.01, rounds=0), ValueError,
     "rounds"),
    ("min_run_time nan", lambda: interleaved_times(ONE, min_run_time=float("nan")), ValueError,
     "min_run_time"),
    ("min_run_time inf", lambda: interleaved_times(ONE, min_run_time=float("inf")), ValueError,
     "min_run_time"),
    ("min_run_time text", lambda: interleaved_times(ONE, min_run_time="1"), TypeError,
     "min_run_time"),
    ("min_run_time 0", lambda: interleaved_times(ONE, min_run_time=0), ValueError,
     "min_run_time"),
    ("statements list", lambda: interleaved_times([("1", {})], min_run_time=0.01), TypeError,
     "statements"),
    ("statements empty", lambda: interleaved_times({}, min_run_time=0.01), ValueError,
     "statements"),
    ("statement not a pair", lambda: interleaved_times({"a": "1"}, min_run_time=0.01),
     TypeError, "statements['a']"),
    ("globals not a dict", lambda: interleaved_times({"a": ("1", None)}, min_run_time=0.01),
     TypeError, "statements['a']"),
    ("times list", lambda: paired_speedups([1, 2], "a"), TypeError, "times"),
    ("times empty", lambda: paired_speedups(times().iloc[:0], "a"), ValueError, "times"),
    ("times zero", lambda: paired_speedups(times(b=[0.0, 1.0]), "a"), ValueError, "times"),
    ("times nan", lambda: paired_speedups(times(a=[np.nan, 1.0]), "a"), ValueError, "times"),
    ("times text", lambda: paired_speedups(times(b=["x", "y"]), "a"), TypeError, "times"),
    ("baseline missing", lambda: paired_speedups(times(), "dense"), ValueError, "baseline"),
    ("seed float", lambda: seed_everything(1.5), TypeError, "seed"),
    ("seed bool", lambda: seed_everything(True), TypeError, "seed"),
    ("seed negative", lambda: seed_everything(-1), ValueError, "seed"),
    ("device int", lambda: choose_device(0), ValueError, "device"),
    ("threads 0", lambda: enter(0), ValueError, "count"),
    ("threads float", lambda: enter(2.0), ValueError, "count"),
    ("threads bool", lambda: enter(True), ValueError, "count"),
    ("synchronize int", lambda: synchronize(3), TypeError, "device"),
    ("synchronize unknown", lambda: synchronize("gpu0"), ValueError, "device"),
    ("describe unknown", lambda: describe_hardware("xyz"), ValueError, "device"),
]


@pytest.mark.parametrize("call, error, name", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_named(call, error, name):
    threads = torch.get_num_threads()
    with pytest.raises(error) as raised:
        call()
    assert name in str(raised.value), str(raised.value)
    assert torch.get_num_threads() == threads  # a refused call changes no setting


def test_valid_times_still_give_paired_speedups():
    assert paired_speedups(times(), "a").tolist() == [1.0, 2.0]
    synchronize(torch.device("cpu"))
