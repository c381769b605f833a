"""effnotes: reproducible tutorials on compute-efficient deep learning.

The package holds the reusable code that the book's chapters call:

- :mod:`effnotes.runtime` seeding, device choice and a description of the hardware;
- :mod:`effnotes.training` a small training loop that times data-wait and compute apart;
- :mod:`effnotes.tradeoff` tradeoff curves, Pareto frontiers and speedups with bootstrap CIs;
- :mod:`effnotes.results` stored results with provenance;
- :mod:`effnotes.plotting` the book's one seaborn theme and shared plots;
- :mod:`effnotes.data` offline data loaders (digits, bundled UCR series, Python's own prose);
- :mod:`effnotes.chapters` the chapter registry and its profiles;
- one module or subpackage per method (e.g. :mod:`effnotes.speedup`).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("effnotes")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
