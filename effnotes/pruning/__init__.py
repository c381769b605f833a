"""Pruning: strategies built on ``torch.nn.utils.prune``, sparsity metrics, a resumable
experiment grid, and the literature tables of the ShrinkBench meta-analysis (the chapter
"The state of pruning")."""

from effnotes.chapters import Chapter, register
from effnotes.pruning.profiles import PROFILES as _PROFILES

CHAPTER = register(Chapter(
    name='pruning',
    title='The state of pruning',
    notebook='pruning.ipynb',
    paper='Blalock, Gonzalez Ortiz, Frankle & Guttag, MLSys 2020',
    package=__name__,
    profiles=_PROFILES,
))
