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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from effnotes.maddness.estimator import NotFittedError, check_matrix
from effnotes.maddness.tables import quantize_tables


class _Base:
    name = "base"

    def _check_fit(self, A_train, B):
        A_train = check_matrix("A_train", A_train)
        B = check_matrix("B", B)
        if A_train.shape[1] != B.shape[0]:
            raise ValueError(f"A_train has {A_train.shape[1]} columns but B has {B.shape[0]} "
                             "rows; A @ B needs them equal")
        self.n_features_in_ = A_train.shape[1]
        return A_train, B

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
        _, B = self._check_fit(A_train, B)
        self.B_ = np.asarray(B, dtype=np.float32)
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
        D, C = A_train.shape[1], self.budget
        if D % C:
            raise ValueError(f"{C} codebooks do not divide the {D} input columns")
        if A_train.shape[0] < 16:
            raise ValueError(f"A_train has {A_train.shape[0]} rows: at least 16 are needed")
        width = D // C
        self.centroids_ = np.zeros((C, 16, width))
        for c in range(C):
            km = KMeans(16, n_init=1, random_state=self.seed + c)
            self.centroids_[c] = km.fit(A_train[:, c * width:(c + 1) * width]).cluster_centers_
        self.tables_ = np.einsum("ckw,cwm->ckm", self.centroids_,
                                 np.asarray(B, np.float64).reshape(C, width, -1))
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
        rng = np.random.default_rng(self.seed)
        S = rng.normal(size=(A_train.shape[1], self.budget)) / np.sqrt(self.budget)
        self.S_ = S.astype(np.float32)
        self.SB_ = (S.T @ np.asarray(B, np.float64)).astype(np.float32)
        return self

    def matmul(self, A):
        return (np.asarray(self._check_input(A), dtype=np.float32) @ self.S_) @ self.SB_


@dataclass
class PCAProjection(_Base):
    """Project on the top ``budget`` principal directions of ``A_train``."""

    budget: int = 16
    name = "PCA"

    def fit(self, A_train, B):
        A_train, B = self._check_fit(A_train, B)
        X = np.asarray(A_train, np.float64)
        self.mean_ = X.mean(axis=0)
        _, _, vt = np.linalg.svd(X - self.mean_, full_matrices=False)
        V = vt[: self.budget].T
        B = np.asarray(B, np.float64)
        self.V_ = V.astype(np.float32)
        self.VB_ = (V.T @ B).astype(np.float32)
        self.offset_ = (self.mean_ @ B - (self.mean_ @ V) @ (V.T @ B)).astype(np.float32)
        return self

    def matmul(self, A):
        A = np.asarray(self._check_input(A), dtype=np.float32)
        return (A @ self.V_) @ self.VB_ + self.offset_


BASELINES = {"exact": Exact, "PQ": ProductQuantizer, "Bolt": Bolt,
             "RandGauss": GaussianSketch, "PCA": PCAProjection}


FAISS_PQ = "PQ (faiss)"


def make_method(name: str, budget: int, **kwargs):
    """A method by ``name`` (a baseline, ``"MADDNESS"`` or ``"PQ (faiss)"``) at ``budget``."""
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
        raise ValueError(f"unknown method {name!r}; choose MADDNESS, {FAISS_PQ!r} or one of "
                         f"{list(BASELINES)}")
    return BASELINES[name](budget=budget, **kwargs)
