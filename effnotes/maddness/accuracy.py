"""Accuracy of approximate products on real data: digits and the bundled UCR sets.

Metrics: ``nmse = mean((Y - Y_hat)^2) / var(Y)``; relative accuracy = accuracy of the
classifier using the approximate product / accuracy using the exact one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from effnotes.maddness.baselines import make_method


def nmse(Y: np.ndarray, Y_hat: np.ndarray) -> float:
    """``mean((Y - Y_hat)^2) / var(Y)`` of two arrays of one shape."""
    Y, Y_hat = np.asarray(Y, np.float64), np.asarray(Y_hat, np.float64)
    if Y.shape != Y_hat.shape:
        raise ValueError(f"shapes differ: {Y.shape} vs {Y_hat.shape}")
    return float(((Y - Y_hat) ** 2).mean() / Y.var())


@dataclass
class LinearTask:
    """A product to approximate inside a classifier: ``scores = head(A @ B)``.

    ``A_train`` (n, D) and ``A_test`` (n_test, D) float32; ``B`` (D, M) float32; ``bias``
    (M,) added to ``A @ B``; ``y_test`` labels; ``head`` maps the product (plus bias) to
    class scores (identity for a linear layer, an RBF kernel then a linear readout for UCR)."""

    name: str
    A_train: np.ndarray
    A_test: np.ndarray
    B: np.ndarray
    bias: np.ndarray
    y_test: np.ndarray
    head: object = None

    def scores(self, product: np.ndarray) -> np.ndarray:
        z = product + self.bias
        return z if self.head is None else self.head(z)

    def accuracy(self, product: np.ndarray) -> float:
        return float((self.scores(product).argmax(axis=1) == self.y_test).mean())


def digits_task(hidden: int = 256, seed: int = 0) -> LinearTask:
    """The last layer of an MLP (one ReLU layer of ``hidden`` units) trained on digits:
    ``A`` = hidden activations, ``B`` = the output layer's weights (hidden x 10)."""
    from sklearn.neural_network import MLPClassifier

    from effnotes.data.digits import load_digits_split

    split = load_digits_split(seed=seed)
    flat = lambda x: x.reshape(len(x), -1).numpy().astype(np.float64)  # noqa: E731
    x_train = np.concatenate([flat(split.x_train), flat(split.x_val)])
    y_train = np.concatenate([split.y_train.numpy(), split.y_val.numpy()])
    mlp = MLPClassifier((hidden,), max_iter=400, random_state=seed, alpha=1e-3)
    mlp.fit(x_train, y_train)
    act = lambda x: np.maximum(x @ mlp.coefs_[0] + mlp.intercepts_[0], 0)  # noqa: E731
    return LinearTask("digits", act(x_train).astype(np.float32),
                      act(flat(split.x_test)).astype(np.float32),
                      mlp.coefs_[1].astype(np.float32), mlp.intercepts_[1].astype(np.float32),
                      split.y_test.numpy())


def resample(X: np.ndarray, length: int) -> np.ndarray:
    """Z-normalise each series of ``X`` (n, L) and resample it linearly to ``length``."""
    X = np.asarray(X, np.float64)
    X = (X - X.mean(axis=1, keepdims=True)) / np.maximum(X.std(axis=1, keepdims=True), 1e-8)
    grid = np.linspace(0, X.shape[1] - 1, length)
    return np.stack([np.interp(grid, np.arange(X.shape[1]), row) for row in X])


def ucr_task(name: str, length: int = 320, n_prototypes: int = 128, seed: int = 0,
             ridge: float = 1e-3, root=None) -> LinearTask:
    """An RBF-kernel classifier on a UCR set (bundled, or from the local archive folder
    ``root``, see :func:`effnotes.data.ucr.load_ucr`), as in the paper: series z-normalised
    and resampled to ``length``; ``B`` holds up to ``n_prototypes`` training series
    (columns); the approximated product is ``x . p``, from which
    ``exp(-gamma (|x|^2 + |p|^2 - 2 x . p))`` and a ridge readout give class scores."""
    from effnotes.data.ucr import load_ucr

    train, test = load_ucr(name, "train", root), load_ucr(name, "test", root)
    X_train, X_test = resample(train.X[:, 0], length), resample(test.X[:, 0], length)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(X_train), size=min(n_prototypes, len(X_train)), replace=False)
    P = X_train[pick]
    sq_p = (P**2).sum(axis=1)
    d2 = (X_train**2).sum(1)[:, None] + sq_p[None] - 2 * X_train @ P.T
    gamma = 1.0 / np.median(d2[d2 > 0])
    n_classes = int(train.y.max()) + 1
    onehot = np.eye(n_classes)[train.y]
    kern = np.exp(-gamma * np.maximum(d2, 0))
    W = np.linalg.solve(kern.T @ kern + ridge * np.eye(len(P)), kern.T @ onehot)
    sq_test = (X_test**2).sum(axis=1)

    def head(dots):
        return np.exp(-gamma * np.maximum(sq_test[:, None] + sq_p[None] - 2 * dots, 0)) @ W

    return LinearTask(name, X_train.astype(np.float32), X_test.astype(np.float32),
                      P.T.astype(np.float32), np.zeros(len(P), np.float32), test.y, head)


def evaluate(task: LinearTask, methods: list[str], budgets: list[int], *, lam: float = 1.0,
             progress: bool = False) -> pd.DataFrame:
    """Fit each method at each budget on ``task.A_train`` and score it on ``task.A_test``:
    one row per (method, budget) with nmse, accuracy, relative accuracy and fit seconds.
    Budgets that do not divide the input width are skipped for codebook methods."""
    from tqdm.auto import tqdm

    exact = task.A_test.astype(np.float64) @ task.B.astype(np.float64)
    exact_acc = task.accuracy(exact)
    D = task.A_train.shape[1]
    jobs = [(m, b) for m in methods for b in budgets
            if not (m in ("MADDNESS", "PQ", "Bolt") and (D % b or b > D))]
    rows = []
    for method, budget in tqdm(jobs, desc=task.name, disable=not progress):
        kwargs = {"lam": lam} if method == "MADDNESS" else {}
        start = time.perf_counter()
        est = make_method(method, budget, **kwargs).fit(task.A_train, task.B)
        fit_s = time.perf_counter() - start
        Y = est.matmul(task.A_test)
        acc = task.accuracy(Y)
        rows.append({"task": task.name, "method": method, "budget": budget,
                     "nmse": nmse(exact, Y), "accuracy": acc, "exact_accuracy": exact_acc,
                     "relative_accuracy": acc / exact_acc, "fit_s": fit_s})
    return pd.DataFrame(rows)
