"""Product quantisation with faiss, compiled end to end: the peer MADDNESS's speed is judged
against.

:class:`FaissPQ` trains ``faiss.ProductQuantizer(D, C, 4)`` (``C`` sub-quantisers of 16
centroids each, faiss's k-means), encodes with faiss's ``compute_codes`` (C++, OpenMP), and
sums the float32 tables ``T[c, k, m] = <centroid_{c,k}, B_c[:, m]>`` with a parallel numba
kernel that reads faiss's packed codes directly (two 4-bit codes per byte, codebook ``2j``
in the low nibble of byte ``j``). faiss is an optional dependency (the ``[compare]`` extra);
:func:`faiss_available` says whether it imports.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass

import numpy as np

from effnotes.maddness.baselines import _Base
from effnotes.validation import check_integer

_SUM_KERNEL = None


def faiss_available() -> bool:
    """Whether ``faiss`` (the ``faiss-cpu`` package) can be imported here."""
    return importlib.util.find_spec("faiss") is not None


def import_faiss():
    """``import faiss`` with its OpenMP threads set to sleep, not spin, when idle.

    faiss-cpu bundles its own OpenMP runtime, separate from the one numba's threads use;
    by default its idle threads spin for a while after each call and would take the cores
    from numba's kernel that sums the tables right after. ``OMP_WAIT_POLICY=PASSIVE`` is
    set only while faiss is first imported (its runtime reads it then) and restored at
    once, so no other library sees it."""
    if "faiss" in sys.modules:
        return sys.modules["faiss"]
    before = os.environ.get("OMP_WAIT_POLICY")
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        import faiss
    finally:
        if before is None:
            del os.environ["OMP_WAIT_POLICY"]
        else:
            os.environ["OMP_WAIT_POLICY"] = before
    return faiss


def _lut_sum_kernel():
    """``out[n, m] = sum_c T[c, code(n, c), m]`` over packed 4-bit codes, rows in parallel."""
    global _SUM_KERNEL
    if _SUM_KERNEL is None:
        import numba

        from effnotes.maddness.kernels import njit_cached

        def lut_sum(packed, tables, out):
            n_rows, M = out.shape
            C = tables.shape[0]
            for n in numba.prange(n_rows):
                for m in range(M):
                    out[n, m] = 0.0
                for c in range(C):
                    k = (packed[n, c >> 1] >> (4 * (c & 1))) & 15
                    for m in range(M):
                        out[n, m] += tables[c, k, m]

        _SUM_KERNEL = njit_cached(lut_sum, parallel=True, nogil=True)
    return _SUM_KERNEL


def unpack_codes(packed: np.ndarray, ncodebooks: int) -> np.ndarray:
    """faiss's packed 4-bit codes ``(N, ceil(C / 2))`` as uint8 ``(N, C)`` in 0..15."""
    low, high = packed & 15, packed >> 4
    both = np.stack([low, high], axis=2).reshape(len(packed), -1)
    return np.ascontiguousarray(both[:, :ncodebooks])


@dataclass
class FaissPQ(_Base):
    """faiss's product quantiser with ``budget`` sub-quantisers of 16 centroids, its C++
    encoder and a compiled float32 table sum. ``threads``: faiss's OpenMP threads, a
    positive integer (None: numba's current thread count, so both sides of a comparison use
    the same).

    ``A_train`` ``(N, D)``, at least 16 rows, and ``B`` ``(D, M)`` are float32 or float64
    NumPy arrays (faiss trains and encodes in float32, so float64 input is converted); a
    failed ``fit`` leaves the quantiser as it was."""

    budget: int = 16
    threads: int | None = None
    name = "PQ (faiss)"

    def _check_threads(self) -> int | None:
        if self.threads is None:
            return None
        return check_integer("threads", self.threads, minimum=1)

    def _set_threads(self):
        import numba

        faiss = import_faiss()
        faiss.omp_set_num_threads(self._check_threads() or numba.get_num_threads())

    def fit(self, A_train, B):
        faiss = import_faiss()
        A_train, B = self._check_fit(A_train, B)
        D, C = A_train.shape[1], self._check_codebooks(A_train)
        self._set_threads()
        pq = faiss.ProductQuantizer(D, int(C), 4)
        pq.train(np.ascontiguousarray(A_train, dtype=np.float32))
        centroids = faiss.vector_to_array(pq.centroids).reshape(C, 16, D // C)
        tables = np.einsum("ckw,cwm->ckm", centroids.astype(np.float64),
                           np.asarray(B, np.float64).reshape(C, D // C, -1))
        self.pq_, self.centroids_ = pq, centroids
        self.tables_ = np.ascontiguousarray(tables, dtype=np.float32)
        self.n_features_in_ = D
        return self

    def encode_packed(self, A) -> np.ndarray:
        """faiss's packed codes of ``A`` (``(N, D)``): uint8 ``(N, ceil(C / 2))``."""
        return self._codes(self._check_input(A))

    def _codes(self, A: np.ndarray) -> np.ndarray:
        """:meth:`encode_packed` of an ``A`` already checked."""
        self._set_threads()
        return self.pq_.compute_codes(np.ascontiguousarray(A, dtype=np.float32))

    def encode(self, A) -> np.ndarray:
        """The codes of ``A``: uint8 ``(N, C)`` in 0..15."""
        return unpack_codes(self.encode_packed(A), self.centroids_.shape[0])

    def matmul(self, A, out: np.ndarray | None = None) -> np.ndarray:
        """``sum_c T[c, code_c(a)]`` for every row of ``A``: float32 ``(N, M)``, written
        into ``out`` when given (a C-contiguous float32 array of that shape)."""
        A = self._check_input(A)
        shape = (A.shape[0], self.tables_.shape[2])
        if out is not None and not (isinstance(out, np.ndarray) and out.dtype == np.float32
                                    and out.shape == shape and out.flags.c_contiguous
                                    and out.flags.writeable):
            raise ValueError(f"out must be a writeable C-contiguous float32 array of shape "
                             f"{shape}, got {type(out).__name__} "
                             f"{getattr(out, 'dtype', '')} {getattr(out, 'shape', '')}")
        packed = self._codes(A)
        if out is None:
            out = np.empty(shape, dtype=np.float32)
        _lut_sum_kernel()(packed, self.tables_, out)
        return out
