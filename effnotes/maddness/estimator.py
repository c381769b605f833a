"""``Maddness``: approximate ``A @ B`` with learned hashing and 8-bit lookup tables.

>>> est = Maddness(ncodebooks=16).fit(A_train, B)      # doctest: +SKIP
>>> Y = est.matmul(A)                                  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from effnotes.maddness.hashing import NLEAVES, encode_reference, learn_tree
from effnotes.maddness.tables import (AGGREGATIONS, aggregate_reference,
                                      averaging_bias, float_tables, group_size, quantize_tables,
                                      reconstruct, ridge_prototypes)

BACKENDS = ("numba", "numpy")


def _nchunks() -> int:
    import numba

    return numba.get_num_threads()


class NotFittedError(RuntimeError):
    """The estimator was used before ``fit``."""


def check_matrix(name: str, X, *, ncols: int | None = None, finite: bool = True) -> np.ndarray:
    """``X`` as a 2-D float32/float64 array (its memory layout kept); a clear error for any
    other dtype, shape, a column count other than ``ncols`` or (if ``finite``) non-finite
    values."""
    if not isinstance(X, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(X).__name__}")
    if X.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {X.shape}")
    if ncols is not None and X.shape[1] != ncols:
        raise ValueError(f"{name} has {X.shape[1]} columns but the model expects {ncols} "
                         f"(the rows of B)")
    if finite and not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return X


@dataclass
class Maddness:
    """Learned approximate matrix product (Blalock & Guttag, 2021).

    ``ncodebooks`` (C) contiguous slices of the ``D`` input columns, 16 prototypes each;
    ``lam``: ridge penalty of the prototype optimisation (0 keeps the bucket means);
    ``try_ndims``: candidate columns per tree level; ``aggregation``: ``"average"`` (the
    paper's round-up averaging with bias correction) or ``"sum"`` (exact 16-bit sums);
    ``backend``: ``"numba"`` (compiled, default) or ``"numpy"`` (the reference).

    Learned state: ``split_dims_`` (C, 4), ``thresholds_`` (C, 15), ``prototypes_``
    (C, 16, D), ``tables_`` (float, C x 16 x M) and ``quantized_`` (8-bit tables).
    """

    ncodebooks: int = 16
    lam: float = 1.0
    try_ndims: int = 4
    aggregation: str = "average"
    backend: str = "numba"
    quantize: bool = True

    def _check_params(self, D: int) -> None:
        C = self.ncodebooks
        if not isinstance(C, (int, np.integer)) or C < 1:
            raise ValueError(f"ncodebooks must be a positive integer, got {C!r}")
        if C > D:
            raise ValueError(f"ncodebooks={C} exceeds the {D} input columns: each codebook "
                             "needs at least one column")
        if D % C:
            raise ValueError(f"ncodebooks={C} does not divide the {D} input columns into "
                             f"equal slices; choose a divisor of {D}")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {self.aggregation!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.lam < 0:
            raise ValueError(f"lam must be >= 0, got {self.lam}")

    # --- learning -----------------------------------------------------------------------
    def fit(self, A_train: np.ndarray, B: np.ndarray | None = None) -> "Maddness":
        """Learn the trees and prototypes on ``A_train`` (``(N, D)``) and, if ``B``
        (``(D, M)``) is given, build its tables. Returns ``self``."""
        A_train = check_matrix("A_train", A_train)
        N, D = A_train.shape
        self._check_params(D)
        if N < NLEAVES:
            raise ValueError(f"A_train has {N} rows: at least {NLEAVES} are needed to fill "
                             f"the {NLEAVES} buckets of a tree")
        X = np.asarray(A_train, dtype=np.float64)
        C, width = self.ncodebooks, D // self.ncodebooks
        dims = np.zeros((C, 4), dtype=np.int64)
        thresholds = np.zeros((C, 15), dtype=np.float32)
        codes = np.zeros((N, C), dtype=np.uint8)
        means = np.zeros((C, NLEAVES, D))
        self.level_sse_ = []
        for c in range(C):
            cols = slice(c * width, (c + 1) * width)
            tree = learn_tree(X[:, cols], try_ndims=self.try_ndims, column_offset=c * width)
            dims[c], thresholds[c], codes[:, c] = tree.split_dims, tree.thresholds, tree.codes
            self.level_sse_.append(tree.level_sse)
            for k in range(NLEAVES):
                rows = X[tree.codes == k, cols]
                if len(rows):
                    means[c, k, cols] = rows.mean(axis=0)
        self.split_dims_, self.thresholds_ = dims, thresholds
        self.bucket_means_ = means
        residual = X - reconstruct(means, codes)
        self.prototypes_ = means + ridge_prototypes(codes, residual, self.lam)
        self.n_features_in_ = D
        if B is not None:
            self.set_B(B)
        return self

    def set_B(self, B: np.ndarray) -> "Maddness":
        """Build the tables for a new ``B`` (``(D, M)``), keeping the learned hash and
        prototypes. Returns ``self``."""
        self._check_fitted(need_tables=False)
        B = check_matrix("B", B)
        if B.shape[0] != self.n_features_in_:
            raise ValueError(f"B has {B.shape[0]} rows but A has {self.n_features_in_} "
                             "columns; A @ B needs them equal")
        self.tables_ = float_tables(self.prototypes_, np.asarray(B, dtype=np.float64))
        self.quantized_ = quantize_tables(self.tables_)
        self.n_outputs_ = B.shape[1]
        self._prepared = None
        return self

    # --- inference ----------------------------------------------------------------------
    def _check_fitted(self, need_tables: bool = True) -> None:
        if not hasattr(self, "prototypes_"):
            raise NotFittedError("this Maddness is not fitted yet: call fit(A_train, B) first")
        if need_tables and not hasattr(self, "tables_"):
            raise NotFittedError("no tables yet: call fit(A_train, B) or set_B(B) first")

    def _check_input(self, A, check_finite: bool = True) -> np.ndarray:
        return check_matrix("A", A, ncols=self.n_features_in_, finite=check_finite)

    def _fast_arrays(self):
        if getattr(self, "_prepared", None) is None:
            from effnotes.maddness.kernels import prepare_tables

            q = self.quantized_
            C = self.ncodebooks
            if self.aggregation == "average":
                U = group_size(C)
                scale = U / q.scale
                shift = q.offsets.sum() - averaging_bias(C) / q.scale
            else:
                scale, shift = 1.0 / q.scale, q.offsets.sum()
            self._prepared = (self.split_dims_.reshape(-1).astype(np.uint64),
                              self.thresholds_.reshape(-1).copy(), prepare_tables(q.lut),
                              np.float32(scale), np.float32(shift))
        return self._prepared

    def encode(self, A: np.ndarray, check_finite: bool = True) -> np.ndarray:
        """The codes of ``A`` (``(N, D)``, C or Fortran order): uint8 ``(N, C)`` in 0..15.
        ``check_finite=False`` skips the scan of all of ``A`` for NaN (only ``4C`` of its
        columns are read)."""
        if not hasattr(self, "split_dims_"):
            raise NotFittedError("this Maddness is not fitted yet: call fit(A_train, B) first")
        A = self._check_input(A, check_finite)
        if self.backend == "numpy":
            return encode_reference(A, self.split_dims_, self.thresholds_)
        from effnotes.maddness.kernels import flat_input, get_kernel

        flat, layout = flat_input(A)
        C = self.ncodebooks
        codes = np.empty((A.shape[0], C), dtype=np.uint8)
        kernel = get_kernel(C, 1, layout, "encode")
        kernel(flat, A.shape[0], A.shape[1], self.split_dims_.reshape(-1).astype(np.uint64),
               self.thresholds_.reshape(-1), np.zeros(16 * C * 16, np.uint8), np.float32(1),
               np.float32(0), codes, np.empty((0, 1), np.float32), _nchunks())
        return codes

    def aggregate(self, codes: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Approximate products from ``codes`` (uint8 ``(N, C)``): float32 ``(N, M)``."""
        self._check_fitted()
        if codes.dtype != np.uint8 or codes.ndim != 2 or codes.shape[1] != self.ncodebooks:
            raise ValueError(f"codes must be uint8 of shape (N, {self.ncodebooks}), got "
                             f"{codes.dtype} {codes.shape}")
        if not self.quantize:
            return sum(self.tables_[c, codes[:, c]] for c in range(self.ncodebooks)).astype(np.float32)
        if self.backend == "numpy":
            return aggregate_reference(codes, self.quantized_, self.aggregation)
        from effnotes.maddness.kernels import get_kernel

        dims, thr, lut, scale, shift = self._fast_arrays()
        out = self._output(codes.shape[0], out)
        kernel = get_kernel(self.ncodebooks, self.n_outputs_, "C", "aggregate", self.aggregation)
        kernel(np.empty(0, np.float32), codes.shape[0], self.n_features_in_, dims, thr, lut,
               scale, shift, np.ascontiguousarray(codes), out, _nchunks())
        return out

    def _output(self, N: int, out: np.ndarray | None) -> np.ndarray:
        if out is None:
            return np.empty((N, self.n_outputs_), dtype=np.float32)
        if out.shape != (N, self.n_outputs_) or out.dtype != np.float32 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a C-contiguous float32 array of shape "
                             f"{(N, self.n_outputs_)}, got {out.dtype} {out.shape}")
        return out

    def matmul(self, A: np.ndarray, out: np.ndarray | None = None,
               check_finite: bool = True) -> np.ndarray:
        """The approximation of ``A @ B``: float32 ``(N, M)`` (written into ``out`` if given,
        a preallocated C-contiguous float32 array). ``check_finite=False`` skips the scan of
        ``A`` for NaN, which reads all of it while MADDNESS reads ``4C`` columns."""
        self._check_fitted()
        A = self._check_input(A, check_finite)
        if self.backend == "numpy" or not self.quantize:
            result = self.aggregate(self.encode(A))
            if out is not None:
                self._output(A.shape[0], out)[...] = result
                return out
            return result
        from effnotes.maddness.kernels import flat_input, get_kernel

        flat, layout = flat_input(A)
        dims, thr, lut, scale, shift = self._fast_arrays()
        out = self._output(A.shape[0], out)
        kernel = get_kernel(self.ncodebooks, self.n_outputs_, layout, "fused", self.aggregation)
        kernel(flat, A.shape[0], A.shape[1], dims, thr, lut, scale, shift,
               np.empty((0, self.ncodebooks), np.uint8), out, _nchunks())
        return out

    def runner(self, A: np.ndarray, part: str = "fused", out: np.ndarray | None = None,
               codes: np.ndarray | None = None):
        """A zero-argument callable running one compiled kernel on ``A`` with everything
        prepared (tables prebuilt, output and codes preallocated): for benchmarks.
        ``part``: ``"encode"`` (writes ``codes``), ``"aggregate"`` (reads ``codes``, writes
        ``out``) or ``"fused"`` (writes ``out``)."""
        from effnotes.maddness.kernels import flat_input, get_kernel

        self._check_fitted()
        A = self._check_input(A)
        flat, layout = flat_input(A)
        dims, thr, lut, scale, shift = self._fast_arrays()
        out = self._output(A.shape[0], out)
        if codes is None:
            codes = self.encode(A)
        kernel = get_kernel(self.ncodebooks, self.n_outputs_, layout, part, self.aggregation)
        args = (flat, A.shape[0], A.shape[1], dims, thr, lut, scale, shift, codes, out,
                _nchunks())
        kernel(*args)  # compile and check once

        def run():
            kernel(*args)

        return run

    def predict_float(self, A: np.ndarray) -> np.ndarray:
        """``sum_c L_c[code_c]`` with the float tables (no 8-bit quantisation), float64."""
        self._check_fitted()
        codes = encode_reference(self._check_input(A), self.split_dims_, self.thresholds_)
        return sum(self.tables_[c, codes[:, c]] for c in range(self.ncodebooks))
