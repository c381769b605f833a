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

def _source_tree_version() -> str:
    """The version in ``pyproject.toml`` beside the package (a source tree never installed)."""
    import tomllib
    from pathlib import Path

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "0+unknown"


try:
    __version__ = version("effnotes")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = _source_tree_version()

__all__ = ["__version__"]
