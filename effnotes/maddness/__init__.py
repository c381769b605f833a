"""MADDNESS (Blalock & Guttag, 2021): multiplying matrices without multiplying."""

from effnotes.maddness.estimator import Maddness, NotFittedError

__all__ = ["Maddness", "NotFittedError"]
