"""MADDNESS (Blalock & Guttag, 2021): multiplying matrices without multiplying."""

from effnotes.chapters import Chapter, register
from effnotes.maddness.profiles import PROFILES as _PROFILES

CHAPTER = register(Chapter(
    name='maddness',
    title='MADDNESS from scratch: multiplying matrices without multiplying',
    notebook='maddness.ipynb',
    paper='Blalock & Guttag, ICML 2021',
    package=__name__,
    profiles=_PROFILES,
))

from effnotes.maddness.estimator import Maddness, NotFittedError

__all__ = ["Maddness", "NotFittedError"]
