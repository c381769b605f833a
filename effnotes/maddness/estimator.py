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


def _status() -> np.ndarray:
    """One status slot per parallel range of row blocks (numba's thread count)."""
    import numba

    return np.empty(numba.get_num_threads(), dtype=np.int64)


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
        row, col = (int(v[0]) for v in np.nonzero(~np.isfinite(X)))
        raise ValueError(f"{name} contains NaN or infinite values (the first at row {row}, "
                         f"column {col})")
    return X


def check_split_columns(name: str, X: np.ndarray, split_dims: np.ndarray) -> None:
    """Raise if a column the encoder reads (``split_dims``, any shape) holds a NaN or an
    infinity in ``X`` (``(N, D)``), naming the first such row and column. Reads only those
    columns."""
    cols = np.unique(np.asarray(split_dims).reshape(-1))
    bad = ~np.isfinite(X[:, cols])
    if bad.any():
        rows, which = np.nonzero(bad)
        first = int(np.argmin(rows))
        row, col = int(rows[first]), int(cols[which[first]])
        raise ValueError(f"{name} has {X[row, col]} at row {row}, column {col}, a column the "
                         "encoder reads, so the product is undefined there (NaN or infinity "
                         "in the other columns is never read)")


def _same_value(a, b) -> bool:
    """``a == b`` as one bool (False where the comparison is not a plain truth value)."""
    if isinstance(a, (bool, np.bool_)) != isinstance(b, (bool, np.bool_)):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


@dataclass
class Maddness:
    """Learned approximate matrix product (Blalock & Guttag, 2021).

    ``ncodebooks`` (C) contiguous slices of the ``D`` input columns, 16 prototypes each;
    ``lam``: ridge penalty of the prototype optimisation (finite, >= 0; 0 keeps the bucket
    means); ``try_ndims``: candidate columns per tree level (>= 1); ``aggregation``:
    ``"average"`` (the paper's round-up averaging with bias correction) or ``"sum"`` (exact
    16-bit sums); ``backend``: ``"numba"`` (compiled, default) or ``"numpy"`` (the
    reference); ``quantize``: 8-bit tables (``False``: float tables, NumPy only).

    Learned state: ``split_dims_`` (C, 4), ``thresholds_`` (C, 15), ``prototypes_``
    (C, 16, D), ``tables_`` (float, C x 16 x M) and ``quantized_`` (8-bit tables).
    ``ncodebooks``, ``lam`` and ``try_ndims`` shape what ``fit`` learns: changing one after
    ``fit`` makes every later call raise until the estimator is fitted again.
    ``aggregation``, ``backend`` and ``quantize`` only choose how products are computed and
    may be changed at any time. Every call validates them.
    """

    ncodebooks: int = 16
    lam: float = 1.0
    try_ndims: int = 4
    aggregation: str = "average"
    backend: str = "numba"
    quantize: bool = True

    _LEARNED = ("ncodebooks", "lam", "try_ndims")

    def _check_inference_params(self) -> None:
        if not isinstance(self.aggregation, str) or self.aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {self.aggregation!r}")
        if not isinstance(self.backend, str) or self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if not isinstance(self.quantize, (bool, np.bool_)):
            raise TypeError(f"quantize must be True or False, got {self.quantize!r}")

    def _check_learned_types(self) -> None:
        """The types and ranges of ``ncodebooks``, ``try_ndims`` and ``lam`` (not yet their fit
        to the data): checked at ``fit`` and again before every later call, so that a value
        equal to the fitted one but of another type (``ncodebooks = 4.0``) is refused, never
        coerced."""
        _check_int("ncodebooks", self.ncodebooks, 1)
        _check_int("try_ndims", self.try_ndims, 1)
        lam = self.lam
        if isinstance(lam, (bool, np.bool_)) or not isinstance(lam, (int, float, np.integer,
                                                                      np.floating)):
            raise TypeError(f"lam must be a real number, got {lam!r}")
        if not np.isfinite(lam) or lam < 0:
            raise ValueError(f"lam must be finite and >= 0, got {lam}")

    def _check_params(self, D: int) -> None:
        self._check_learned_types()
        C = int(self.ncodebooks)
        if C > D:
            raise ValueError(f"ncodebooks={C} exceeds the {D} input columns: each codebook "
                             "needs at least one column")
        if D % C:
            raise ValueError(f"ncodebooks={C} does not divide the {D} input columns into "
                             f"equal slices; choose a divisor of {D}")
        self._check_inference_params()

    # --- learning -----------------------------------------------------------------------
    def fit(self, A_train: np.ndarray, B: np.ndarray | None = None) -> "Maddness":
        """Learn the trees and prototypes on ``A_train`` (``(N, D)``, finite) and, if ``B``
        (``(D, M)``) is given, build its tables. Returns ``self``.

        Everything is computed first and assigned at the end: a fit that raises leaves the
        estimator exactly as it was. A refit replaces all learned state; without ``B`` it
        drops the old tables too (they belong to the old prototypes), so ``set_B`` must
        follow before ``matmul``."""
        A_train = check_matrix("A_train", A_train)
        N, D = A_train.shape
        if D == 0:
            raise ValueError("A_train has no columns: there is nothing to hash")
        self._check_params(D)
        if N < NLEAVES:
            raise ValueError(f"A_train has {N} rows: at least {NLEAVES} are needed to fill "
                             f"the {NLEAVES} buckets of a tree")
        if B is not None:
            B = self._check_B(B, D)
        X = np.asarray(A_train, dtype=np.float64)
        C, width = int(self.ncodebooks), D // int(self.ncodebooks)
        dims = np.zeros((C, 4), dtype=np.int64)
        thresholds = np.zeros((C, 15), dtype=np.float32)
        codes = np.zeros((N, C), dtype=np.uint8)
        means = np.zeros((C, NLEAVES, D))
        level_sse = []
        for c in range(C):
            cols = slice(c * width, (c + 1) * width)
            tree = learn_tree(X[:, cols], try_ndims=int(self.try_ndims), column_offset=c * width)
            dims[c], thresholds[c], codes[:, c] = tree.split_dims, tree.thresholds, tree.codes
            level_sse.append(tree.level_sse)
            for k in range(NLEAVES):
                rows = X[tree.codes == k, cols]
                if len(rows):
                    means[c, k, cols] = rows.mean(axis=0)
        residual = X - reconstruct(means, codes)
        prototypes = means + ridge_prototypes(codes, residual, float(self.lam))
        state = {"split_dims_": dims, "thresholds_": thresholds, "bucket_means_": means,
                 "level_sse_": level_sse, "prototypes_": prototypes, "n_features_in_": D,
                 "_fitted_params": {k: getattr(self, k) for k in self._LEARNED}}
        if B is not None:
            state.update(self._tables_state(prototypes, B))
        for name in ("tables_", "quantized_", "n_outputs_", "_prepared"):
            self.__dict__.pop(name, None)
        self.__dict__.update(state)
        return self

    def _check_B(self, B, D: int) -> np.ndarray:
        B = check_matrix("B", B)
        if B.shape[0] != D:
            raise ValueError(f"B has {B.shape[0]} rows but A has {D} columns; A @ B needs "
                             "them equal")
        return B

    @staticmethod
    def _tables_state(prototypes: np.ndarray, B: np.ndarray) -> dict:
        tables = float_tables(prototypes, np.asarray(B, dtype=np.float64))
        return {"tables_": tables, "quantized_": quantize_tables(tables),
                "n_outputs_": B.shape[1], "_prepared": None}

    def set_B(self, B: np.ndarray) -> "Maddness":
        """Build the tables for a new ``B`` (``(D, M)``, finite), keeping the learned hash
        and prototypes. Returns ``self``; on an error nothing changes."""
        self._check_fitted(need_tables=False)
        B = self._check_B(B, self.n_features_in_)
        self.__dict__.update(self._tables_state(self.prototypes_, B))
        return self

    # --- inference ----------------------------------------------------------------------
    def _check_fitted(self, need_tables: bool = True) -> None:
        if "prototypes_" not in self.__dict__:
            raise NotFittedError("this Maddness is not fitted yet: call fit(A_train, B) first")
        self._check_learned_types()
        fitted = self._fitted_params
        for name, value in fitted.items():
            now = getattr(self, name)
            if not _same_value(now, value):
                raise ValueError(f"{name} was {value!r} at fit and is now {now!r}: the learned "
                                 f"trees and prototypes depend on it; set it back or call "
                                 f"fit again")
        self._check_inference_params()
        if need_tables and "tables_" not in self.__dict__:
            raise NotFittedError("no tables yet: call fit(A_train, B) or set_B(B) first")

    def _check_input(self, A, check_finite: bool) -> np.ndarray:
        if not isinstance(check_finite, (bool, np.bool_)):
            raise TypeError(f"check_finite must be True or False, got {check_finite!r}")
        A = check_matrix("A", A, ncols=self.n_features_in_, finite=bool(check_finite))
        return A

    def _fast_arrays(self):
        prepared = self.__dict__.get("_prepared")
        if prepared is None or prepared[0] != self.aggregation:
            from effnotes.maddness.kernels import prepare_tables

            q = self.quantized_
            C = self.ncodebooks
            if self.aggregation == "average":
                U = group_size(C)
                scale = U / q.scale
                shift = q.offsets.sum() - averaging_bias(C) / q.scale
            else:
                scale, shift = 1.0 / q.scale, q.offsets.sum()
            prepared = (self.aggregation,
                        (self.split_dims_.reshape(-1).astype(np.uint64),
                         self.thresholds_.reshape(-1).copy(), prepare_tables(q.lut),
                         np.float32(scale), np.float32(shift)))
            self._prepared = prepared
        return prepared[1]

    def _raise_if_bad(self, status: np.ndarray, A: np.ndarray) -> None:
        """After a kernel: if a range of blocks stopped at a non-finite split value, name it."""
        if (status >= 0).any():
            check_split_columns("A", A, self.split_dims_)
            raise AssertionError("the kernel reported a non-finite split value that the "
                                 "check could not find")  # pragma: no cover

    def encode(self, A: np.ndarray, check_finite: bool = False) -> np.ndarray:
        """The codes of ``A`` (``(N, D)``, C or Fortran order): uint8 ``(N, C)`` in 0..15.

        Only the ``4C`` columns the trees split on are read, and those are always checked:
        a NaN or infinity there raises ``ValueError`` naming its row and column. Values in
        the other columns cannot change the codes. ``check_finite=True`` also scans all of
        ``A`` (as much memory traffic as the product itself)."""
        self._check_fitted(need_tables=False)
        A = self._check_input(A, check_finite)
        if self.backend == "numpy":
            check_split_columns("A", A, self.split_dims_)
            return encode_reference(A, self.split_dims_, self.thresholds_)
        from effnotes.maddness.kernels import flat_input, get_kernel

        flat, layout = flat_input(A)
        C = self.ncodebooks
        codes = np.empty((A.shape[0], C), dtype=np.uint8)
        kernel = get_kernel(C, 1, layout, "encode")
        status = _status()
        kernel(flat, A.shape[0], A.shape[1], self.split_dims_.reshape(-1).astype(np.uint64),
               self.thresholds_.reshape(-1), np.zeros(16 * C * 16, np.uint8), np.float32(1),
               np.float32(0), codes, np.empty((0, 1), np.float32), status)
        self._raise_if_bad(status, A)
        return codes

    def _check_codes(self, codes) -> np.ndarray:
        if not isinstance(codes, np.ndarray):
            raise TypeError(f"codes must be a NumPy array, got {type(codes).__name__}")
        if codes.dtype != np.uint8 or codes.ndim != 2 or codes.shape[1] != self.ncodebooks:
            raise ValueError(f"codes must be uint8 of shape (N, {self.ncodebooks}), got "
                             f"{codes.dtype} {codes.shape}")
        if codes.size and codes.max() >= NLEAVES:
            row, col = (int(v[0]) for v in np.nonzero(codes >= NLEAVES))
            raise ValueError(f"codes must be in 0..{NLEAVES - 1}, got {int(codes[row, col])} "
                             f"at row {row}, codebook {col}")
        return codes

    def aggregate(self, codes: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Approximate products from ``codes`` (uint8 ``(N, C)``, values 0..15): float32
        ``(N, M)`` (written into ``out`` if given)."""
        self._check_fitted()
        codes = self._check_codes(codes)
        if not self.quantize or self.backend == "numpy":
            if not self.quantize:
                result = sum((self.tables_[c, codes[:, c]] for c in range(self.ncodebooks)),
                             np.zeros((codes.shape[0], self.n_outputs_))).astype(np.float32)
            else:
                result = aggregate_reference(codes, self.quantized_, self.aggregation)
            if out is None:
                return result
            self._output(codes.shape[0], out)[...] = result
            return out
        from effnotes.maddness.kernels import get_kernel

        dims, thr, lut, scale, shift = self._fast_arrays()
        out = self._output(codes.shape[0], out)
        kernel = get_kernel(self.ncodebooks, self.n_outputs_, "C", "aggregate", self.aggregation)
        kernel(np.empty(0, np.float32), codes.shape[0], self.n_features_in_, dims, thr, lut,
               scale, shift, np.ascontiguousarray(codes), out, _status())
        return out

    def _output(self, N: int, out: np.ndarray | None) -> np.ndarray:
        if out is None:
            return np.empty((N, self.n_outputs_), dtype=np.float32)
        if (not isinstance(out, np.ndarray) or out.shape != (N, self.n_outputs_)
                or out.dtype != np.float32 or not out.flags.c_contiguous
                or not out.flags.writeable):
            got = f"{out.dtype} {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
            raise ValueError(f"out must be a writeable C-contiguous float32 array of shape "
                             f"{(N, self.n_outputs_)}, got {got}")
        return out

    def matmul(self, A: np.ndarray, out: np.ndarray | None = None,
               check_finite: bool = False) -> np.ndarray:
        """The approximation of ``A @ B`` for ``A`` ``(N, D)`` (float32 or float64, C or
        Fortran order): float32 ``(N, M)``, written into ``out`` if given (a preallocated
        C-contiguous float32 array; reusing one spares the page faults of a fresh output).

        The product reads only the ``4C`` columns of ``A`` the trees split on, and checks
        exactly those inside the compiled kernel: a NaN or infinity there raises
        ``ValueError`` naming its row and column (``out``, if given, is then partly
        written). A NaN or infinity in any other column cannot reach the output.
        ``check_finite=True`` scans all of ``A`` first, as much memory traffic as the
        product itself."""
        self._check_fitted()
        A = self._check_input(A, check_finite)
        if self.backend == "numpy" or not self.quantize:
            return self.aggregate(self.encode(A), out=out)
        from effnotes.maddness.kernels import flat_input, get_kernel

        flat, layout = flat_input(A)
        dims, thr, lut, scale, shift = self._fast_arrays()
        out = self._output(A.shape[0], out)
        kernel = get_kernel(self.ncodebooks, self.n_outputs_, layout, "fused", self.aggregation)
        status = _status()
        kernel(flat, A.shape[0], A.shape[1], dims, thr, lut, scale, shift,
               np.empty((0, self.ncodebooks), np.uint8), out, status)
        self._raise_if_bad(status, A)
        return out

    def runner(self, A: np.ndarray, part: str = "fused", out: np.ndarray | None = None,
               codes: np.ndarray | None = None):
        """A zero-argument callable running one compiled kernel on ``A`` with everything
        prepared (tables prebuilt, output and codes preallocated, no validation per call):
        for benchmarks. ``part``: ``"encode"`` (writes ``codes``), ``"aggregate"`` (reads
        ``codes``, writes ``out``) or ``"fused"`` (writes ``out``)."""
        from effnotes.maddness.kernels import PARTS, flat_input, get_kernel

        self._check_fitted()
        if part not in PARTS:
            raise ValueError(f"part must be one of {PARTS}, got {part!r}")
        A = self._check_input(A, True)
        flat, layout = flat_input(A)
        dims, thr, lut, scale, shift = self._fast_arrays()
        out = self._output(A.shape[0], out)
        codes = self.encode(A) if codes is None else self._check_codes(codes)
        if codes.shape[0] != A.shape[0] or not codes.flags.c_contiguous:
            raise ValueError(f"codes must be C-contiguous with {A.shape[0]} rows, got "
                             f"{codes.shape}")
        kernel = get_kernel(self.ncodebooks, self.n_outputs_, layout, part, self.aggregation)
        args = (flat, A.shape[0], A.shape[1], dims, thr, lut, scale, shift, codes, out,
                _status())
        kernel(*args)  # compile and check once

        def run():
            kernel(*args)

        return run

    def predict_float(self, A: np.ndarray, check_finite: bool = False) -> np.ndarray:
        """``sum_c L_c[code_c]`` with the float tables (no 8-bit quantisation), float64
        ``(N, M)``; ``A`` checked as in :meth:`encode`."""
        self._check_fitted()
        A = self._check_input(A, check_finite)
        check_split_columns("A", A, self.split_dims_)
        codes = encode_reference(A, self.split_dims_, self.thresholds_)
        return sum((self.tables_[c, codes[:, c]] for c in range(self.ncodebooks)),
                   np.zeros((A.shape[0], self.n_outputs_)))
