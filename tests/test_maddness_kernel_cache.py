"""MADDNESS kernels' on-disk cache: a fresh process loads a kernel compiled by an earlier one
(numba's dispatcher stats say so), cached kernels give exactly the in-memory kernels' results,
and a cache folder that cannot be written falls back to compiling in memory."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from effnotes.maddness import kernels
from effnotes.maddness.kernels import CACHE_ENV, LAYOUTS, PARTS, kernel_source

C, M, N, D = 2, 3, 300, 11  # tiny: one compile each
ROOT = Path(__file__).resolve().parents[1]


def run_kernel(kernel, layout: str, seed: int = 0):
    """Run ``kernel`` on random inputs of the sizes above; returns (codes, out, status)."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(N, D)).astype(np.float32)
    X = A.reshape(-1) if layout == "C" else np.asfortranarray(A).T.reshape(-1)
    dims = rng.integers(0, D, size=4 * C).astype(np.uint64)
    thr = rng.normal(scale=0.5, size=15 * C).astype(np.float32)
    lut = kernels.prepare_tables(rng.integers(0, 256, size=(C, 16, M), dtype=np.uint8))
    codes = rng.integers(0, 16, size=(N, C), dtype=np.uint8)  # read by aggregate
    out = np.zeros((N, M), dtype=np.float32)
    status = np.zeros(2, dtype=np.int64)
    kernel(X, N, D, dims, thr, lut, np.float32(0.37), np.float32(-1.5), codes, out, status)
    return codes, out, status


SCRIPT = f"""
import hashlib, json, sys
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
from test_maddness_kernel_cache import run_kernel
from effnotes.maddness.kernels import get_kernel
kernel = get_kernel({C}, {M}, "F", "fused")
codes, out, status = run_kernel(kernel, "F")
print(json.dumps({{"hits": sum(kernel.stats.cache_hits.values()),
                  "misses": sum(kernel.stats.cache_misses.values()),
                  "out": hashlib.sha256(out.tobytes()).hexdigest(),
                  "status": status.tolist()}}))
"""


def fresh_processes(cache: Path, count: int) -> list[dict]:
    """Run :data:`SCRIPT` in ``count`` fresh Python processes at once, all on ``cache``."""
    env = {**os.environ, CACHE_ENV: str(cache), "PYTHONPATH": str(ROOT)}
    env.pop("NUMBA_CACHE_DIR", None)  # numba's cache beside the kernel file, in ``cache``
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(count)]
    results = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    return results


@pytest.fixture
def fresh_caches(monkeypatch):
    """Empty per-process caches, so every get_kernel here builds its kernel."""
    monkeypatch.setattr(kernels, "_CACHE", {})
    monkeypatch.setattr(kernels, "_BY_SOURCE", {})
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)


def test_second_fresh_process_loads_the_kernel_from_the_cache(tmp_path):
    cold = fresh_processes(tmp_path, 2)  # two at once, as chapters built side by side are
    assert [(r["hits"], r["misses"]) for r in cold] == [(0, 1), (0, 1)]
    sources = list(tmp_path.glob("maddness_kernel_*.py"))
    assert len(sources) == 1
    assert sources[0].read_text().endswith(kernel_source(C, M, "F", "fused", "average", 256))
    assert list((tmp_path / "__pycache__").glob("*.nbi"))  # numba's index
    assert list((tmp_path / "__pycache__").glob("*.nbc"))  # and compiled code
    stamp = sources[0].stat().st_mtime_ns
    [warm] = fresh_processes(tmp_path, 1)
    assert (warm["hits"], warm["misses"]) == (1, 0)
    assert sources[0].stat().st_mtime_ns == stamp  # the identical source was not rewritten
    assert warm["out"] == cold[0]["out"] == cold[1]["out"]
    assert warm["status"] == [-1, -1]


def unwritable(tmp_path: Path) -> Path:
    """A cache folder that cannot be created, even by root: its parent is a regular file."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    return blocker / "kernels"


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("part", PARTS)
def test_cached_kernel_gives_exactly_the_in_memory_results(tmp_path, monkeypatch,
                                                           fresh_caches, layout, part):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    cached = kernels.get_kernel(C, M, layout, part)
    assert cached.stats.cache_path is not None
    assert Path(cached.py_func.__code__.co_filename).parent == tmp_path / "cache"
    monkeypatch.setattr(kernels, "_CACHE", {})
    monkeypatch.setenv(CACHE_ENV, str(unwritable(tmp_path)))
    in_memory = kernels.get_kernel(C, M, layout, part)
    assert in_memory.py_func.__code__.co_filename.startswith("<maddness kernel")
    for seed in (0, 1):
        got, want = run_kernel(cached, layout, seed), run_kernel(in_memory, layout, seed)
        for a, b in zip(got, want):
            assert np.array_equal(a, b)
        assert got[2].tolist() == [-1, -1]
    if part != "encode":
        assert np.abs(got[1]).max() > 0  # the outputs compared were written


def test_unwritable_cache_folder_falls_back_with_the_same_output(tmp_path, monkeypatch,
                                                                 fresh_caches, caplog):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    want = run_kernel(kernels.get_kernel(C, M, "C", "fused"), "C")
    monkeypatch.setattr(kernels, "_CACHE", {})
    monkeypatch.setattr(kernels, "_BY_SOURCE", {})
    folder = unwritable(tmp_path)
    monkeypatch.setenv(CACHE_ENV, str(folder))
    with caplog.at_level(logging.DEBUG, logger=kernels.__name__):
        kernel = kernels.get_kernel(C, M, "C", "fused")
    assert "compiled in memory" in caplog.text
    assert not folder.exists()
    for a, b in zip(run_kernel(kernel, "C"), want):
        assert np.array_equal(a, b)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes into a read-only folder anyway")
def test_read_only_cache_folder_falls_back(tmp_path, monkeypatch, fresh_caches):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    monkeypatch.setenv(CACHE_ENV, str(folder))
    try:
        kernel = kernels.get_kernel(C, M, "F", "encode")
        assert kernel.py_func.__code__.co_filename.startswith("<maddness kernel")
        assert run_kernel(kernel, "F")[2].tolist() == [-1, -1]
    finally:
        folder.chmod(0o700)


def test_kernel_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "k"))
    assert kernels.kernel_cache_dir() == tmp_path / "k"
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert kernels.kernel_cache_dir() == tmp_path / "xdg" / "effnotes" / "maddness-kernels"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert kernels.kernel_cache_dir() == Path.home() / ".cache/effnotes/maddness-kernels"


def test_write_once_keeps_an_identical_file_and_repairs_a_different_one(tmp_path):
    path = tmp_path / "k.py"
    kernels._write_once(path, "x = 1\n")
    os.utime(path, ns=(10**18, 10**18))
    kernels._write_once(path, "x = 1\n")
    assert path.stat().st_mtime_ns == 10**18
    path.write_text("corrupt")
    kernels._write_once(path, "x = 1\n")
    assert path.read_text() == "x = 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.py"]  # no temporary files left


NESTED = """
import json, numpy as np
from effnotes.maddness.faiss_pq import _lut_sum_kernel
from effnotes.maddness.threads import _copy_kernel
lut_sum, copy = _lut_sum_kernel(), _copy_kernel()
rng = np.random.default_rng(0)
out = np.empty((5, 3), np.float32)
packed = rng.integers(0, 256, (5, 2), dtype=np.uint8)
lut_sum(packed, rng.normal(size=(3, 16, 3)).astype(np.float32), out)
src, dst = np.arange(10.0), np.zeros(10)
copy(src, dst, 2)
print(json.dumps({"hits": [sum(k.stats.cache_hits.values()) for k in (lut_sum, copy)],
                  "misses": [sum(k.stats.cache_misses.values()) for k in (lut_sum, copy)],
                  "out": out.tolist(), "copied": bool((dst == src).all())}))
"""


def test_faiss_sum_and_copy_kernels_are_cached_across_processes(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    runs = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", NESTED], env=env, cwd=ROOT, text=True,
                              capture_output=True, timeout=600)
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert (runs[0]["hits"], runs[0]["misses"]) == ([0, 0], [1, 1])
    assert (runs[1]["hits"], runs[1]["misses"]) == ([1, 1], [0, 0])
    assert runs[0]["out"] == runs[1]["out"] and runs[1]["copied"]


def test_njit_cached_compiles_per_process_where_numba_cannot_cache(caplog):
    namespace = {}
    exec("def twice(x):\n    return 2 * x\n", namespace)  # no file: numba has no cache place
    with caplog.at_level(logging.DEBUG, logger=kernels.__name__):
        twice = kernels.njit_cached(namespace["twice"], nogil=True)
    assert "not cached on disk" in caplog.text
    assert twice(21) == 42
