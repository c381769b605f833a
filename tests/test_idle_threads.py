import threading
import time

import numpy as np
import pytest

from effnotes import idle_threads
from effnotes.idle_threads import cpu_used_between, other_threads_cpu_ns, wait_for_idle_threads


def spin_until(stop: threading.Event, started: threading.Event, seconds: float):
    started.set()
    end = time.perf_counter() + seconds
    while not stop.is_set() and time.perf_counter() < end:
        pass


def spinning_thread(seconds: float, stop: threading.Event | None = None) -> threading.Thread:
    """A started thread that spins for ``seconds``, or until ``stop`` is set (skips where
    thread CPU time is unreadable)."""
    if other_threads_cpu_ns() is None:
        pytest.skip("no /proc/self/task here")
    started = threading.Event()
    worker = threading.Thread(target=spin_until, args=(stop or threading.Event(), started, seconds))
    worker.start()
    started.wait()
    return worker


def test_other_threads_cpu_time_counts_a_busy_thread_and_not_the_caller():
    stop = threading.Event()
    worker = spinning_thread(30.0, stop)  # alive at both readings, however late they come
    before = other_threads_cpu_ns()
    time.sleep(0.1)
    used = cpu_used_between(before, other_threads_cpu_ns())
    stop.set()
    worker.join()
    assert used > 0.02e9  # the spinning thread ran for a good part of the 0.1 s
    wait_for_idle_threads()  # pools left spinning by earlier tests go quiet first
    mark = other_threads_cpu_ns()
    busy = time.perf_counter() + 0.05
    while time.perf_counter() < busy:  # the caller's own work is not counted
        pass
    assert cpu_used_between(mark, other_threads_cpu_ns()) < 0.02e9


def test_cpu_used_counts_survivors_and_new_threads_but_not_ended_ones():
    assert cpu_used_between({1: 100, 2: 500}, {1: 300, 3: 50}) == 250


def test_waits_until_a_spinning_thread_stops():
    worker = spinning_thread(0.3)
    waited = wait_for_idle_threads(timeout_s=5.0)
    assert not worker.is_alive() or waited >= 5.0
    worker.join()
    assert waited >= 0.2


def test_returns_at_the_timeout_while_a_thread_still_spins():
    worker = spinning_thread(2.0)
    waited = wait_for_idle_threads(timeout_s=0.1)
    assert worker.is_alive() and 0.1 <= waited < 1.5
    worker.join()


def test_without_proc_it_sleeps_the_fallback(monkeypatch):
    monkeypatch.setattr(idle_threads, "other_threads_cpu_ns", lambda: None)
    monkeypatch.setattr(idle_threads, "FALLBACK_SLEEP_S", 0.05)
    assert 0.05 <= wait_for_idle_threads() < 1.0
    assert wait_for_idle_threads(timeout_s=0.0) < 0.05


@pytest.mark.parametrize("kwargs, error, name", [
    ({"window_s": 0}, ValueError, "window_s"),
    ({"window_s": "0.1"}, TypeError, "window_s"),
    ({"busy_share": 0}, ValueError, "busy_share"),
    ({"busy_share": 1.5}, ValueError, "busy_share"),
    ({"timeout_s": -1}, ValueError, "timeout_s"),
    ({"timeout_s": float("nan")}, ValueError, "timeout_s"),
])
def test_bad_settings_are_named(kwargs, error, name):
    with pytest.raises(error, match=name):
        wait_for_idle_threads(**kwargs)


def test_timings_wait_for_idle_threads_first(monkeypatch):
    from effnotes.maddness import bench, experiment

    calls = []
    monkeypatch.setattr(bench, "wait_for_idle_threads", lambda: calls.append("bench"))
    monkeypatch.setattr(experiment, "wait_for_idle_threads", lambda: calls.append("sweep"))
    order = []
    bench._time(lambda: order.append(len(calls)), 3, cold=False)
    experiment.median_time(lambda: order.append(len(calls)), 3)
    # the warm-up calls come before the wait, every timed call after it
    assert calls == ["bench", "sweep"] and order == [0, 0, 1, 1, 1, 1, 2, 2, 2]
    assert np.isfinite(bench._time(lambda: None, 2, cold=True))


def test_spin_bench_times_the_three_ways_and_names_the_hardware(capsys):
    from effnotes.maddness.spin_bench import SpinConfig, main, run_spin_bench

    result = run_spin_bench(SpinConfig(shape=(200, 16, 4), ncodebooks=4, blas_size=64,
                                       threads=1, repeats=3))
    ways = [row["way"] for row in result["rows"]]
    assert ways[0] == "alone" and len(ways) == 3
    assert all(row["median_ms"] > 0 and row["p90_ms"] >= row["median_ms"]
               for row in result["rows"])
    assert result["rows"][0]["ratio"] == 1.0 and result["info"]["threads"] == 1
    assert "numba" in result["info"]["numba"] and result["waited_ms"] >= 0
    assert main(["--threads", "1", "--repeats", "2", "--blas-size", "32"]) == 0
    assert "x the call alone" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, name", [({"threads": 0}, "threads"), ({"repeats": 1.5}, "repeats"),
                                          ({"shape": (10, 4)}, "shape"),
                                          ({"blas_size": True}, "blas_size")])
def test_spin_bench_config_names_bad_settings(kwargs, name):
    from effnotes.maddness.spin_bench import SpinConfig

    with pytest.raises((TypeError, ValueError), match=name):
        SpinConfig(**kwargs)
