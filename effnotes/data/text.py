"""English prose that ships with Python itself, and plain text files by path.

:func:`python_prose` reads the standard library's source files with :mod:`ast` (nothing is
imported or executed) and collects every module, class and function docstring, plus the help
topics of :mod:`pydoc_data.topics`. Each document keeps the dotted name it came from, so a
chapter can build labelled tasks (e.g. which area of the library a docstring belongs to).
"""

from __future__ import annotations

import ast
import sysconfig
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: Folders of the standard library that are tests, tools or vendored code, not library prose.
_SKIP_DIRS = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__",
              "lib2to3", "turtledemo", "ensurepip", "venv", "pydoc_data"}


@dataclass(frozen=True)
class Document:
    """One piece of prose: ``source`` is where it came from (``"json.decoder.JSONDecoder"``,
    ``"topics:assert"`` or a file path) and ``text`` the prose itself."""

    source: str
    text: str


@dataclass(frozen=True)
class TextCorpus:
    """An ordered collection of documents."""

    documents: tuple[Document, ...]

    def __post_init__(self) -> None:
        if not self.documents:
            raise ValueError("the corpus is empty: it has no documents")

    def __len__(self) -> int:
        return len(self.documents)

    @property
    def text(self) -> str:
        """All documents joined by blank lines."""
        return "\n\n".join(d.text for d in self.documents)

    def n_words(self) -> int:
        return sum(len(d.text.split()) for d in self.documents)


def _stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def _docstrings(tree: ast.Module, module: str, min_words: int) -> list[Document]:
    found: list[Document] = []

    def visit(node: ast.AST, prefix: str) -> None:
        doc = ast.get_docstring(node, clean=True) if isinstance(
            node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) else None
        if doc and len(doc.split()) >= min_words:
            found.append(Document(prefix, doc))
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, f"{prefix}.{child.name}")

    visit(tree, module)
    return found


@lru_cache(maxsize=4)
def python_prose(*, include_topics: bool = True, min_words: int = 5) -> TextCorpus:
    """Docstrings of the standard library (read with :mod:`ast`) and, optionally, the
    ``pydoc_data.topics`` help texts. Documents shorter than ``min_words`` are dropped.
    The order is deterministic (sorted by file path, then source order)."""
    if min_words < 1:
        raise ValueError(f"min_words must be at least 1, got {min_words}")
    root = _stdlib_dir()
    documents: list[Document] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if any(part in _SKIP_DIRS for part in relative.parts[:-1]):
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not parts or any(not p.isidentifier() for p in parts):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SyntaxWarning)
                tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue  # a few files in the stdlib are deliberately not valid Python 3
        documents.extend(_docstrings(tree, ".".join(parts), min_words))
    if include_topics:
        from pydoc_data.topics import topics

        for key in sorted(topics):
            text = topics[key].strip()
            if len(text.split()) >= min_words:
                documents.append(Document(f"topics:{key}", text))
    return TextCorpus(tuple(documents))


def load_text(path: str | Path, *, encoding: str = "utf-8") -> TextCorpus:
    """A text file as a corpus of paragraphs (split at blank lines).

    Raises a clear error for a missing path, a directory, undecodable bytes or an empty file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such text file: {path}")
    if not path.is_file():
        raise IsADirectoryError(f"{path} is not a file")
    try:
        content = path.read_text(encoding=encoding)
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not valid {encoding} text: {error}") from error
    paragraphs = [p.strip() for p in content.replace("\r\n", "\n").split("\n\n")]
    documents = tuple(Document(f"{path}:{i}", p) for i, p in enumerate(paragraphs) if p)
    if not documents:
        raise ValueError(f"{path} holds no text")
    return TextCorpus(documents)
