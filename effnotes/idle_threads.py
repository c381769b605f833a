"""Waiting until the process's other threads are idle, before a timing starts.

Thread pools of BLAS and OpenMP runtimes do not go to sleep when a call returns: they spin
for a while, waiting for the next call (OpenBLAS's worker threads for up to about 2^28
cycles, a tenth of a second or more). A kernel of another library timed in that window
shares the cores with those spinning threads, and on a machine with as many threads as
cores each of its calls can lose a whole scheduler slice, several milliseconds. On two cores,
a MADDNESS product of 1000 x 64 rows that takes 0.1 ms alone took a median of 2.2 ms right
after a 512 x 512 NumPy matrix product, and 7.7 ms when 50 ms passed in between.

:func:`wait_for_idle_threads` sleeps until this process's other threads have used almost no
CPU over a short window, so that a timing measures the timed call and not the pool of the
library used just before it. It reads each thread's CPU time from Linux's
``/proc/self/task/*/schedstat``; elsewhere it sleeps for a fixed time instead.
"""

from __future__ import annotations

import os
import threading
import time

from effnotes.validation import check_real

#: Seconds to sleep where the threads' CPU time cannot be read (longer than OpenBLAS's spin).
FALLBACK_SLEEP_S = 0.3


def other_threads_cpu_ns() -> dict[int, int] | None:
    """Nanoseconds of CPU time used so far by each of this process's threads other than the
    calling one, by thread id (Linux's ``/proc/self/task/<tid>/schedstat``), or ``None`` where
    that cannot be read. Threads that end while being read are left out."""
    me = threading.get_native_id()
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return None
    times = {}
    for tid in tasks:
        if tid == str(me):
            continue
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as handle:
                times[int(tid)] = int(handle.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return times


def cpu_used_between(before: dict[int, int], after: dict[int, int]) -> int:
    """Nanoseconds of CPU time the threads used between two :func:`other_threads_cpu_ns`
    readings: each surviving thread's increase, plus all of a new thread's time (a thread that
    ended in between is not counted, since its last stretch cannot be read)."""
    return sum(ns - before.get(tid, 0) for tid, ns in after.items() if ns >= before.get(tid, 0))


def wait_for_idle_threads(window_s: float = 0.01, busy_share: float = 0.05,
                          timeout_s: float = 2.0) -> float:
    """Sleep until this process's other threads together use less than ``busy_share`` of
    one core over a window of ``window_s`` seconds, or until ``timeout_s`` seconds have
    passed; return the seconds waited. Where the threads' CPU time cannot be read, sleep
    :data:`FALLBACK_SLEEP_S` seconds instead (at most ``timeout_s``)."""
    window_s = check_real("window_s", window_s)
    busy_share = check_real("busy_share", busy_share)
    timeout_s = check_real("timeout_s", timeout_s)
    if not window_s > 0:
        raise ValueError(f"window_s must be a positive number of seconds, got {window_s}")
    if not 0 < busy_share <= 1:
        raise ValueError(f"busy_share must be in (0, 1], got {busy_share}")
    if not timeout_s >= 0:
        raise ValueError(f"timeout_s must be at least 0 seconds, got {timeout_s}")
    start = time.perf_counter()
    before = other_threads_cpu_ns()
    if before is None:
        time.sleep(min(FALLBACK_SLEEP_S, timeout_s))
        return time.perf_counter() - start
    while True:
        mark = time.perf_counter()
        time.sleep(window_s)
        after = other_threads_cpu_ns()
        elapsed = time.perf_counter() - mark
        if after is None or cpu_used_between(before, after) < busy_share * elapsed * 1e9:
            break
        if time.perf_counter() - start >= timeout_s:
            break
        before = after
    return time.perf_counter() - start
