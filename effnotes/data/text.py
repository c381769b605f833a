"""English prose that ships with Python itself, and plain text files by path.

:func:`python_prose` reads the standard library's source files with :mod:`ast` (nothing is
imported or executed) and collects every module, class and function docstring, plus the help
topics of ``pydoc_data.topics``. Each document keeps the dotted name it came from, so a
chapter can build labelled tasks (e.g. which area of the library a docstring belongs to).
"""

from __future__ import annotations

import ast
import codecs
import os
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


def _as_path(name: str, value) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(value).__name__}")
    return Path(value)


def _check_encoding(encoding) -> None:
    if not isinstance(encoding, str):
        raise TypeError(f"encoding must be a string, got {type(encoding).__name__}")
    try:
        codecs.lookup(encoding)
    except LookupError as error:
        raise ValueError(f"encoding {encoding!r} is not a text encoding Python knows") from error


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
    if isinstance(min_words, bool) or not isinstance(min_words, int):
        raise TypeError(f"min_words must be an integer, got {type(min_words).__name__} "
                        f"{min_words!r}")
    if not isinstance(include_topics, bool):
        raise TypeError(f"include_topics must be True or False, got {include_topics!r}")
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
    path = _as_path("path", path)
    _check_encoding(encoding)
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


#: Where a labels file is looked for: ``<folder>/labels.csv|jsonl`` for a folder corpus,
#: ``<file stem>.labels.csv|jsonl`` beside a single text file.
LABEL_SUFFIXES = (".csv", ".jsonl")


def load_text_data(path: str | Path, *, encoding: str = "utf-8") -> TextCorpus:
    """A reader's own text: a folder of ``.txt`` files (each file one document, named by its
    path relative to the folder, in sorted order) or one text file (each paragraph one
    document, named ``"0"``, ``"1"``, ... in order). Errors name the path."""
    path = _as_path("path", path)
    _check_encoding(encoding)
    if path.is_file():
        corpus = load_text(path, encoding=encoding)
        return TextCorpus(tuple(Document(str(i), d.text) for i, d in enumerate(corpus.documents)))
    if not path.is_dir():
        raise FileNotFoundError(f"no text file or folder at {path}; expected a UTF-8 .txt file "
                                "or a folder of .txt files")
    files = sorted(p for p in path.rglob("*.txt") if p.is_file())
    documents = []
    for file in files:
        try:
            text = file.read_text(encoding=encoding).strip()
        except UnicodeDecodeError as error:
            raise ValueError(f"{file} is not valid {encoding} text: {error}") from error
        if text:
            documents.append(Document(file.relative_to(path).as_posix(), text))
    if not documents:
        raise ValueError(f"the folder {path} holds no non-empty .txt file")
    return TextCorpus(tuple(documents))


def find_labels(path: str | Path) -> Path | None:
    """The labels file that goes with the text at ``path`` (see :data:`LABEL_SUFFIXES`), or
    ``None`` if there is none."""
    path = _as_path("path", path)
    for suffix in LABEL_SUFFIXES:
        candidate = path / f"labels{suffix}" if path.is_dir() else \
            path.with_name(f"{path.stem}.labels{suffix}")
        if candidate.is_file():
            return candidate
    return None


def read_labels(path: str | Path, corpus: TextCorpus) -> tuple[str, ...]:
    """One label per document of ``corpus``, in its order, from a CSV file (header
    ``document,label``) or a JSONL file (one ``{"document": ..., "label": ...}`` per line);
    ``document`` is the document's name (see :func:`load_text_data`). Every document needs
    exactly one label; a name that is not a document is an error naming it."""
    import csv
    import json

    path = _as_path("path", path)
    if not isinstance(corpus, TextCorpus):
        raise TypeError(f"corpus must be a TextCorpus, got {type(corpus).__name__}")
    if not path.is_file():
        raise FileNotFoundError(f"no labels file at {path}")
    rows: list[tuple[str, str]] = []
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"document", "label"} <= set(reader.fieldnames):
                raise ValueError(f"{path} must have a header with columns document,label; got "
                                 f"{reader.fieldnames}")
            rows = [(str(r["document"]), str(r["label"])) for r in reader]
    elif path.suffix == ".jsonl":
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                rows.append((str(record["document"]), str(record["label"])))
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise ValueError(f"{path} line {number} is not an object with keys document "
                                 f"and label: {line[:80]!r}") from error
    else:
        raise ValueError(f"labels file {path} must end in .csv or .jsonl")
    names = [d.source for d in corpus.documents]
    known = set(names)
    labels: dict[str, str] = {}
    for name, label in rows:
        if name not in known:
            raise ValueError(f"{path} labels document {name!r}, which is not in the corpus "
                             f"(documents are named like {names[0]!r})")
        if name in labels:
            raise ValueError(f"{path} labels document {name!r} twice")
        if not label.strip():
            raise ValueError(f"{path} gives document {name!r} an empty label")
        labels[name] = label
    missing = [n for n in names if n not in labels]
    if missing:
        raise ValueError(f"{path} has no label for {len(missing)} of {len(names)} documents, "
                         f"e.g. {missing[:3]}")
    return tuple(labels[n] for n in names)
