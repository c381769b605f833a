"""Approximate matrix products to compare MADDNESS with, all with one interface:
``fit(A_train, B)`` (returns self) and ``matmul(A)`` (``(N, M)``), plus ``name`` and
``budget`` (codebooks or sketch width) for tables and plots.

- :class:`Exact`: ``A @ B`` in float32;
- :class:`ProductQuantizer`: product quantisation (Jégou et al.), k-means codebooks of 16
  centroids per subspace (scikit-learn's ``KMeans``), nearest-centroid encoding, float tables;
- :class:`Bolt`: the same codebooks with 8-bit quantised tables summed as integers
  (Blalock & Guttag, 2017);
- :class:`GaussianSketch`: ``(A S)(S^T B)`` with a Gaussian ``S`` of ``d`` columns;
- :class:`PCAProjection`: ``(A - mu) V V^T B + mu B`` with the top ``d`` principal directions
  of ``A_train``;
- ``"PQ (faiss)"``: faiss's compiled product quantiser
  (:class:`effnotes.maddness.faiss_pq.FaissPQ`, optional: needs ``faiss-cpu``).

PQ and Bolt here encode in NumPy, so their times say nothing about the methods; the
compiled peers are NumPy's BLAS (exact, RandGauss, PCA) and faiss.

Inputs: ``A_train`` ``(N, D)`` with at least one row (16 for the quantisers) and ``B``
``(D, M)``, float32 or float64 NumPy arrays, finite (float64 is accepted as NumPy users
pass it and converted to float32 where a method computes in float32). ``budget`` and
``seed`` are integers (NumPy integers too), checked at ``fit``; a failed ``fit`` leaves the
method as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from effnotes.maddness.estimator import NotFittedError, check_matrix
from effnotes.maddness.tables import quantize_tables
from effnotes.validation import check_integer


class _Base:
    name = "base"

    def _check_fit(self, A_train, B):
        """The checked ``(A_train, B)``; changes nothing (each ``fit`` sets
        ``n_features_in_`` last, once everything it learns is computed)."""
        A_train = check_matrix("A_train", A_train)
        B = check_matrix("B", B)
        if A_train.shape[0] == 0 or A_train.shape[1] == 0:
            raise ValueError(f"A_train must have at least one row and one column, got shape "
                             f"{A_train.shape}")
        if A_train.shape[1] != B.shape[0]:
            raise ValueError(f"A_train has {A_train.shape[1]} columns but B has {B.shape[0]} "
                             "rows; A @ B needs them equal")
        return A_train, B

    def _check_budget(self, largest: int | None = None) -> int:
        """``budget`` as an ``int`` >= 1 (and <= ``largest`` when given)."""
        budget = check_integer("budget", self.budget, minimum=1)
        if largest is not None and budget > largest:
            raise ValueError(f"budget must be at most {largest} for this input, got {budget}")
        return budget

    def _check_codebooks(self, A_train) -> int:
        """``budget`` as a number of codebooks: it must divide the ``D`` columns, and
        ``A_train`` needs 16 rows to train 16 centroids per codebook."""
        budget = self._check_budget()
        D = A_train.shape[1]
        if D % budget:
            raise ValueError(f"budget={budget} codebooks do not divide the {D} input columns "
                             "of A_train")
        if A_train.shape[0] < 16:
            raise ValueError(f"A_train has {A_train.shape[0]} rows: at least 16 are needed "
                             "to train 16 centroids")
        return budget

    def _check_seed(self) -> int:
        return check_integer("seed", self.seed, minimum=0)

    def _check_input(self, A):
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call "
                                 "fit(A_train, B) first")
        return check_matrix("A", A, ncols=self.n_features_in_)


@dataclass
class Exact(_Base):
    """The exact product in float32 (the reference every method is scored against)."""

    budget: int = 0
    name = "exact"

    def fit(self, A_train, B):
        A_train, B = self._check_fit(A_train, B)
        self.B_ = np.asarray(B, dtype=np.float32)
        self.n_features_in_ = A_train.shape[1]
        return self

    def matmul(self, A):
        return np.asarray(self._check_input(A), dtype=np.float32) @ self.B_


@dataclass
class ProductQuantizer(_Base):
    """Product quantisation with ``budget`` codebooks (subspaces) of 16 k-means centroids."""

    budget: int = 16
    seed: int = 0
    name = "PQ"

    def fit(self, A_train, B):
        from sklearn.cluster import KMeans

        A_train, B = self._check_fit(A_train, B)
        C, seed = self._check_codebooks(A_train), self._check_seed()
        D = A_train.shape[1]
        width = D // C
        centroids = np.zeros((C, 16, width))
        for c in range(C):
            km = KMeans(16, n_init=1, random_state=seed + c)
            centroids[c] = km.fit(A_train[:, c * width:(c + 1) * width]).cluster_centers_
        self.centroids_ = centroids
        self.tables_ = np.einsum("ckw,cwm->ckm", centroids,
                                 np.asarray(B, np.float64).reshape(C, width, -1))
        self.n_features_in_ = D
        return self

    def encode(self, A):
        A = np.asarray(self._check_input(A), dtype=np.float64)
        C, _, width = self.centroids_.shape
        codes = np.empty((A.shape[0], C), dtype=np.uint8)
        for start in range(0, A.shape[0], 1024):  # chunks bound the (rows, C, 16, width) temporary
            sub = A[start:start + 1024].reshape(-1, C, width)
            dist = ((sub[:, :, None, :] - self.centroids_[None]) ** 2).sum(axis=3)
            codes[start:start + 1024] = dist.argmin(axis=2)
        return codes

    def matmul(self, A):
        codes = self.encode(A)
        return sum(self.tables_[c, codes[:, c]] for c in range(codes.shape[1])).astype(np.float32)


@dataclass
class Bolt(ProductQuantizer):
    """PQ codebooks with 8-bit tables (Bolt): integer sums of quantised entries."""

    name = "Bolt"

    def fit(self, A_train, B):
        super().fit(A_train, B)
        self.quantized_ = quantize_tables(self.tables_)
        return self

    def matmul(self, A):
        codes = self.encode(A)
        q = self.quantized_
        total = sum(q.lut[c, codes[:, c]].astype(np.int64) for c in range(codes.shape[1]))
        return (total / q.scale + q.offsets.sum()).astype(np.float32)


@dataclass
class GaussianSketch(_Base):
    """Random projection: ``(A S)(S^T B)``, ``S`` Gaussian ``(D, budget)`` / sqrt(budget)."""

    budget: int = 16
    seed: int = 0
    name = "RandGauss"

    def fit(self, A_train, B):
        A_train, B = self._check_fit(A_train, B)
        budget, seed = self._check_budget(), self._check_seed()
        rng = np.random.default_rng(seed)
        S = rng.normal(size=(A_train.shape[1], budget)) / np.sqrt(budget)
        self.S_ = S.astype(np.float32)
        self.SB_ = (S.T @ np.asarray(B, np.float64)).astype(np.float32)
        self.n_features_in_ = A_train.shape[1]
        return self

    def matmul(self, A):
        return (np.asarray(self._check_input(A), dtype=np.float32) @ self.S_) @ self.SB_


@dataclass
class PCAProjection(_Base):
    """Project on the top ``budget`` principal directions of ``A_train`` (at most
    ``min(N, D)`` of them exist, so a larger ``budget`` is refused)."""

    budget: int = 16
    name = "PCA"

    def fit(self, A_train, B):
        A_train, B = self._check_fit(A_train, B)
        budget = self._check_budget(largest=min(A_train.shape))
        X = np.asarray(A_train, np.float64)
        mean = X.mean(axis=0)
        _, _, vt = np.linalg.svd(X - mean, full_matrices=False)
        V = vt[:budget].T
        B = np.asarray(B, np.float64)
        self.mean_ = mean
        self.V_ = V.astype(np.float32)
        self.VB_ = (V.T @ B).astype(np.float32)
        self.offset_ = (mean @ B - (mean @ V) @ (V.T @ B)).astype(np.float32)
        self.n_features_in_ = A_train.shape[1]
        return self

    def matmul(self, A):
        A = np.asarray(self._check_input(A), dtype=np.float32)
        return (A @ self.V_) @ self.VB_ + self.offset_


BASELINES = {"exact": Exact, "PQ": ProductQuantizer, "Bolt": Bolt,
             "RandGauss": GaussianSketch, "PCA": PCAProjection}


FAISS_PQ = "PQ (faiss)"


def make_method(name: str, budget: int, **kwargs):
    """A method by ``name`` (a baseline, ``"MADDNESS"`` or ``"PQ (faiss)"``) at ``budget``."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a method name (a string), got {type(name).__name__}")
    budget = check_integer("budget", budget)
    if name == "MADDNESS":
        from effnotes.maddness.estimator import Maddness

        return Maddness(ncodebooks=budget, **kwargs)
    if name == FAISS_PQ:
        from effnotes.maddness.faiss_pq import FaissPQ, faiss_available

        if not faiss_available():
            raise ImportError(f"{FAISS_PQ} needs faiss: pip install 'effnotes[compare]' "
                              "(or faiss-cpu)")
        return FaissPQ(budget=budget, **kwargs)
    if name not in BASELINES:
        raise ValueError(f"unknown method name {name!r}; choose MADDNESS, {FAISS_PQ!r} or one of "
                         f"{list(BASELINES)}")
    return BASELINES[name](budget=budget, **kwargs)
