"""The compiled fast path (numba): encoding and aggregation, apart or fused per row block.

Each kernel is generated as Python source specialised to its constant sizes (number of
codebooks ``C``, padded output width, rows per block, memory layout of ``A``), then compiled
once by numba and cached per process and on disk (below). The source follows what makes
numba's code fast here:

- a block of rows is encoded from the split columns as contiguous slices (column-major ``A``
  already has them; row-major ``A`` copies the ``4C`` split values of each row of the block
  into a small transposed buffer first), so comparisons run as SIMD lanes over rows;
- the threshold of the node a row is in is chosen with branch-free selects from the 15
  thresholds held in registers, not loaded through a per-row index;
- aggregation loads the ``C`` table rows of an output row (``M`` contiguous uint8 entries,
  padded to a multiple of 16) and combines them in explicitly narrow lanes: pairwise round-up
  averages truncated to uint8 (``vpavgb``) and uint16 sums; numba would otherwise widen
  ``uint8 + uint8`` to 64 bits;
- all index arithmetic is unsigned (``uint64``), so numba emits no negative-index
  wrap-around and loads stay contiguous;
- the fused kernel encodes a block and aggregates it at once, so the block's codes stay in L1;
- the encoders check the values they read (the ``4C`` split columns, nothing else) for NaN
  and infinity as they go: ``x - x`` is 0 for a finite ``x`` and NaN otherwise, summed per
  row across codebooks (SIMD lanes over rows, like the comparisons). A block holding a
  non-finite value stops its range of blocks and is reported in ``status``; the caller
  names the row and column (:func:`~effnotes.maddness.estimator.check_split_columns`).

Call :func:`get_kernel` and use :func:`prepare_tables` to lay out the model's arrays.

Compiled kernels persist across processes: the generated source is written to a real ``.py``
file in :func:`kernel_cache_dir`, named by the SHA-256 of its text, imported from there and
compiled with numba's ``cache=True``, so numba stores the machine code beside it (in its
``__pycache__``, or under ``NUMBA_CACHE_DIR``) and a later process with the same key loads it
instead of compiling. A folder that cannot be created or written falls back to compiling in
memory (the per-process cache only), with the same kernel source and so the same results.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from effnotes.maddness.tables import group_size

LAYOUTS = ("C", "F")
PARTS = ("encode", "aggregate", "fused")
_CACHE: dict[tuple, object] = {}
_BY_SOURCE: dict[str, object] = {}  # SHA-256 prefix of a cached module's text: its kernel
_LOCK = threading.Lock()
CACHE_ENV = "EFFNOTES_KERNEL_CACHE"
_LOG = logging.getLogger(__name__)
# The lines that give the generated source its names when it is imported as a module.
_MODULE_HEAD = "import numpy as np\nfrom numba import prange\n\n"


def padded_width(M: int) -> int:
    """Output width rounded up to a multiple of 16 (one 128-bit vector of uint8)."""
    return -(-M // 16) * 16


def _select_expr(level: int, bits: list[str], first: int, offset: int = 0) -> str:
    """Nested ternaries choosing threshold ``t{first + i}`` where ``i`` is spelled by
    ``bits`` (most significant first)."""
    if level == 0:
        return f"t{first + offset}"
    high = _select_expr(level - 1, bits[1:], first, offset + 2 ** (level - 1))
    low = _select_expr(level - 1, bits[1:], first, offset)
    return f"({high} if {bits[0]} else {low})"


def _encode_lines(layout: str, target: str, indent: str) -> list[str]:
    """Source lines encoding one block of ``nr`` rows into ``target`` (an expression in ``c``
    and ``r``)."""
    out = [
        "for c in range(NCB):",
        "    q = 4 * c",
        "    tb = 15 * c",
        *[f"    t{i} = thr[tb + {i}]" for i in range(15)],
    ]
    if layout == "F":
        out += [f"    base{s} = dims[q + {s}] * nrows + n0" for s in range(4)]
    out.append("    for r in range(nr):")
    if layout == "F":
        out += [f"        x{s} = np.float32(X[base{s} + np.uint64(r)])" for s in range(4)]
    else:
        out += [f"        x{s} = cols[q + {s}, r]" for s in range(4)]
    bits = ["b0", "b1", "b2", "b3"]
    for level in range(4):
        out.append(f"        v{level} = {_select_expr(level, bits[:level], 2**level - 1)}")
        out.append(f"        b{level} = x{level} > v{level}")
    out.append(f"        {target} = np.uint8(8 * b0 + 4 * b1 + 2 * b2 + b3)")
    out.append("        chk[r] += (x0 - x0) + (x1 - x1) + (x2 - x2) + (x3 - x3)")
    return [indent + line for line in out]


def _check_lines(indent: str) -> list[str]:
    """Stop at the first block whose split values were not all finite (``chk`` is NaN)."""
    out = [
        "bad = np.float32(0)",
        "for r in range(nr):",
        "    bad += chk[r]",
        "if bad != bad:",
        "    return blk",
    ]
    return [indent + line for line in out]


def _gather_lines(indent: str) -> list[str]:
    """Row-major A: copy the block's split values into ``cols`` (4C, R), transposed."""
    out = [
        "for r in range(nr):",
        "    rowbase = (n0 + np.uint64(r)) * ncols",
        "    for q in range(NQ):",
        "        cols[q, r] = np.float32(X[rowbase + dims[q]])",
    ]
    return [indent + line for line in out]


def _aggregate_lines(C: int, aggregation: str, code_expr: str, indent: str) -> list[str]:
    """Aggregate row ``r`` of the block from its codes into ``out[n0 + r, :M]``."""
    out = [f"k{c} = np.uint64({code_expr.format(c=c)}) * np.uint64(MP) + np.uint64({c * 16} * MP)"
           for c in range(C)]
    out.append("for m in range(MP):")
    out.append("    mm = np.uint64(m)")
    out += [f"    a{c} = lut[k{c} + mm]" for c in range(C)]
    if aggregation == "sum":
        out.append("    acc[m] = " + " + ".join(f"np.uint16(a{c})" for c in range(C)))
    else:
        U = group_size(C)
        groups = []
        for g in range(C // U):
            names = [f"a{g * U + u}" for u in range(U)]
            depth = 0
            while len(names) > 1:
                nxt = []
                for p in range(0, len(names), 2):
                    name = f"g{g}l{depth}p{p // 2}"
                    out.append(f"    {name} = np.uint8((np.uint16({names[p]}) + "
                               f"np.uint16({names[p + 1]}) + np.uint16(1)) >> np.uint16(1))")
                    nxt.append(name)
                names, depth = nxt, depth + 1
            groups.append(names[0])
        out.append("    acc[m] = " + " + ".join(f"np.uint16({g})" for g in groups))
    out += ["row = n0 + np.uint64(r)",
            "for m in range(M):",
            "    out[row, m] = np.float32(acc[m]) * scale + shift"]
    return [indent + line for line in out]


def kernel_source(C: int, M: int, layout: str, part: str, aggregation: str, rows: int) -> str:
    """The Python source of one kernel (see the module docstring): a serial ``blocks``
    function over a range of row blocks, and a ``kernel`` that splits the blocks into
    ``nchunks`` contiguous ranges run in parallel (numba's ``prange``)."""
    if layout not in LAYOUTS or part not in PARTS:
        raise ValueError(f"layout must be in {LAYOUTS} and part in {PARTS}")
    MP = padded_width(M)
    head = [f"NCB = {C}", f"NQ = {4 * C}", f"M = {M}", f"MP = {MP}", f"R = {rows}", "",
            "def blocks(X, nrows_i, ncols_i, first, last, dims, thr, lut, scale, shift, codes, out):",
            "    nrows = np.uint64(nrows_i)",
            "    ncols = np.uint64(ncols_i)",
            "    cols = np.empty((NQ, R), dtype=np.float32)",
            "    block = np.empty((NCB, R), dtype=np.uint8)",
            "    acc = np.empty(MP, dtype=np.uint16)",
            "    chk = np.zeros(R, dtype=np.float32)",
            "    for blk in range(first, last):",
            "        n0 = np.uint64(blk) * np.uint64(R)",
            "        nr = min(R, nrows_i - blk * R)"]
    body = []
    ind = " " * 8
    if part in ("encode", "fused"):
        if layout == "C":
            body += _gather_lines(ind)
        body += [ind + "for r in range(nr):", ind + "    chk[r] = np.float32(0)"]
        body += _encode_lines(layout, "block[c, r]", ind)
        body += _check_lines(ind)
        if part == "encode":
            body += [ind + "for r in range(nr):",
                     ind + "    row = n0 + np.uint64(r)",
                     ind + "    for c in range(NCB):",
                     ind + "        codes[row, c] = block[c, r]"]
    if part in ("aggregate", "fused"):
        if part == "aggregate":
            body += [ind + "for r in range(nr):",
                     ind + "    row = n0 + np.uint64(r)",
                     ind + "    for c in range(NCB):",
                     ind + "        block[c, r] = codes[row, c]"]
        body.append(ind + "for r in range(nr):")
        body += _aggregate_lines(C, aggregation, "block[{c}, r]", ind + "    ")
    body.append("    return -1")
    driver = ["", "def kernel(X, nrows_i, ncols_i, dims, thr, lut, scale, shift, codes, out, status):",
              "    nchunks = status.shape[0]",
              "    nblocks = (nrows_i + R - 1) // R",
              "    for t in prange(nchunks):",
              "        status[t] = blocks(X, nrows_i, ncols_i, t * nblocks // nchunks,",
              "                           (t + 1) * nblocks // nchunks, dims, thr, lut, scale,",
              "                           shift, codes, out)"]
    return "\n".join(head + body + driver) + "\n"


def get_kernel(C: int, M: int, layout: str, part: str, aggregation: str = "average",
               rows: int | None = None):
    """The compiled kernel for these constants (compiled on first use, then cached in this
    process and, through numba's cache, on disk under :func:`kernel_cache_dir`).

    Signature: ``kernel(X, N, D, dims, thr, lut, scale, shift, codes, out, status)`` with ``X`` the
    flattened input (``A.ravel()`` for row-major, ``A.T.ravel()`` for column-major), ``dims``
    uint64 ``(4C,)``, ``thr`` float32 ``(15C,)``, ``lut`` uint8 ``(C * 16 * MP,)``, ``codes``
    uint8 ``(N, C)`` (written by ``encode``, read by ``aggregate``, unused by ``fused``),
    ``out`` float32 ``(N, M)`` (written by ``aggregate`` and ``fused``); ``status`` int64
    ``(nchunks,)``: its length is how many parallel ranges of row blocks to run (use numba's
    thread count); each entry is set to -1, or (``encode`` and ``fused``) to the first block
    of ``rows`` rows of its range in which a split value was NaN or infinite; that range
    stops there, leaving later rows of ``codes``/``out`` unwritten."""
    if rows is None:
        rows = 64 if layout == "C" else 256
    key = (C, M, layout, part, aggregation, rows)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = _build(kernel_source(*key), key)
        return _CACHE[key]


def njit_cached(function, **options):
    """``numba.njit(**options, cache=True)(function)`` for a function defined in a package
    file, so numba keeps its compiled code on disk; where numba finds no writable place for
    that cache (``RuntimeError`` at decoration), the same function compiled per process."""
    import numba

    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError as err:
        _LOG.debug("%s compiled per process, not cached on disk: %s", function.__qualname__, err)
        return numba.njit(**options)(function)


def kernel_cache_dir() -> Path:
    """Where generated kernel sources (and, beside them, numba's cache) are kept:
    ``$EFFNOTES_KERNEL_CACHE`` if set, else ``$XDG_CACHE_HOME/effnotes/maddness-kernels``
    (``~/.cache/effnotes/maddness-kernels``)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "effnotes" / "maddness-kernels"


def _write_once(path: Path, text: str) -> None:
    """Make ``path`` hold ``text``, leaving an identical file untouched (numba's cache index
    checks the source file's modification time and size). The text is written to a temporary
    file in the same folder and linked into place, which fails if another process got there
    first (then its file is checked); without hard links it is renamed over the target."""
    data = text.encode()
    try:
        if path.read_bytes() == data:
            return
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            if path.read_bytes() != data:  # not one of ours (a corrupt file): replace it
                os.replace(tmp, path)
                tmp = None
        except OSError:  # no hard links on this file system
            os.replace(tmp, path)
            tmp = None
    finally:
        if tmp is not None:
            os.unlink(tmp)


def _build(source: str, key: tuple):
    """Compile one kernel's ``source``: from a cached module file when the cache folder is
    writable, in memory otherwise."""
    import numba

    text = _MODULE_HEAD + source
    digest = hashlib.sha256(text.encode()).hexdigest()[:20]
    try:
        folder = kernel_cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"maddness_kernel_{digest}.py"
        _write_once(path, text)
        if digest in _BY_SOURCE:  # another key with the same source (encode ignores aggregation)
            return _BY_SOURCE[digest]
        name = f"effnotes_maddness_kernel_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.blocks = numba.njit(nogil=True, cache=True)(module.blocks)
        kernel = numba.njit(parallel=True, nogil=True, cache=True)(module.kernel)
        sys.modules[name] = module
        _BY_SOURCE[digest] = kernel
        return kernel
    except (OSError, RuntimeError) as err:
        # OSError: the folder cannot be made or written; RuntimeError: numba finds no
        # writable place for its cache beside the file
        _LOG.debug("maddness kernel %s compiled in memory, not cached on disk: %s", key, err)
    namespace = {"np": np, "prange": numba.prange}
    exec(compile(source, f"<maddness kernel {key}>", "exec"), namespace)
    namespace["blocks"] = numba.njit(nogil=True)(namespace["blocks"])
    return numba.njit(parallel=True, nogil=True)(namespace["kernel"])


def prepare_tables(lut: np.ndarray) -> np.ndarray:
    """Pad uint8 tables ``(C, 16, M)`` to ``(C, 16, MP)`` with zeros and flatten them."""
    C, k, M = lut.shape
    padded = np.zeros((C, k, padded_width(M)), dtype=np.uint8)
    padded[:, :, :M] = lut
    return padded.ravel()


def flat_input(A: np.ndarray) -> tuple[np.ndarray, str]:
    """A contiguous 1-D view of ``A`` and its layout: ``"C"`` (row-major, ``A.ravel()``) or
    ``"F"`` (column-major, ``A.T.ravel()``). Other layouts are copied to row-major."""
    if A.flags.c_contiguous:
        return A.reshape(-1), "C"
    if A.flags.f_contiguous:
        return A.T.reshape(-1), "F"
    return np.ascontiguousarray(A).reshape(-1), "C"
