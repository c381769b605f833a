"""Offline data: everything here ships with an installed package or is generated.

- :func:`~effnotes.data.digits.load_digits_split` sklearn's 1797 8x8 digits as
  train/val/test tensors;
- :func:`~effnotes.data.ucr.load_ucr` the UCR time-series sets bundled with aeon
  (:data:`~effnotes.data.ucr.UCR_BUNDLED`);
- :func:`~effnotes.data.text.python_prose` the English prose that ships with Python
  (docstrings and ``pydoc_data.topics``), and :func:`~effnotes.data.text.load_text` for any
  text file by path.
"""

from effnotes.data.digits import DigitsSplit, load_digits_split, make_loaders
from effnotes.data.text import TextCorpus, load_text, python_prose
from effnotes.data.ucr import UCR_BUNDLED, UCRDataset, load_ucr

__all__ = [
    "DigitsSplit", "load_digits_split", "make_loaders",
    "TextCorpus", "load_text", "python_prose",
    "UCR_BUNDLED", "UCRDataset", "load_ucr",
]
