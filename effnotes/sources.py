"""Which source files an experiment ran, hashed, so a stored result can say when its code
has changed since.

A file's hash is its git blob id (``sha1("blob <size>\\0" + bytes)``), the same id
``git ls-tree`` prints. So a result stored on a machine without git (a GPU machine that got a
copy of the tree) can still be checked, on a machine with the history, against the commit it
names: :func:`differs_from_commit` lists the files that were not as committed.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from effnotes.results import repository_root


def blob_id(data: bytes) -> str:
    """The git blob id of ``data`` (40 hex digits)."""
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    return hashlib.sha1(b"blob %d\0" % len(data) + bytes(data)).hexdigest()


def loaded_sources(root: Path | None = None) -> dict[str, str]:
    """``{path relative to the repository: blob id}`` for every ``effnotes`` module imported
    in this process (the code an experiment ran), sorted by path."""
    root = Path(root or repository_root()).resolve()
    package = root / "effnotes"
    found: dict[str, str] = {}
    for name, module in list(sys.modules.items()):
        if not (name == "effnotes" or name.startswith("effnotes.")):
            continue
        file = getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        if path.suffix != ".py" or package not in path.parents:
            continue
        found[path.relative_to(root).as_posix()] = blob_id(path.read_bytes())
    return dict(sorted(found.items()))


def changed_since(sources: Mapping[str, str], root: Path | None = None) -> list[str]:
    """The paths in ``sources`` whose file today differs from the recorded blob id, or is gone."""
    root = Path(root or repository_root())
    changed = []
    for path, recorded in sources.items():
        file = root / path
        if not file.is_file() or blob_id(file.read_bytes()) != recorded:
            changed.append(path)
    return changed


def _git(root: Path, *args: str) -> str | None:
    if not (root / ".git").exists():
        return None
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def committed_blobs(commit: str, paths: Iterable[str], root: Path | None = None
                    ) -> dict[str, str] | None:
    """``{path: blob id}`` of ``paths`` at ``commit`` (a path absent there maps to ``""``);
    ``None`` when there is no git history here or it lacks the commit."""
    root = Path(root or repository_root())
    paths = list(paths)
    listing = _git(root, "ls-tree", "-r", commit, "--", *paths) if paths else ""
    if listing is None:
        return None
    blobs = dict.fromkeys(paths, "")
    for line in listing.splitlines():
        meta, _, path = line.partition("\t")
        blobs[path] = meta.split()[2]
    return blobs


def differs_from_commit(sources: Mapping[str, str], commit: str,
                        root: Path | None = None) -> list[str] | None:
    """The recorded files that were not as ``commit`` has them (so the run's tree was dirty
    in those files); ``None`` when that cannot be checked here (no history, unknown commit)."""
    commit = commit.split("+", 1)[0]
    blobs = committed_blobs(commit, sources, root)
    if blobs is None:
        return None
    return [path for path, recorded in sources.items() if blobs.get(path) != recorded]


@dataclass(frozen=True)
class TreeState:
    """Whether the working tree matched its commit: ``clean`` is ``True``, ``False``, or
    ``None`` when it cannot be told here (no git history; the commit was stated by
    ``$EFFNOTES_GIT_COMMIT``). ``dirty_files`` names what differs."""

    clean: bool | None
    dirty_files: tuple[str, ...]
    how: str


def tree_state(root: Path | None = None) -> TreeState:
    """The working tree's state, from ``git status`` (tracked files and untracked files in
    ``effnotes/``), when this is a git checkout."""
    root = Path(root or repository_root())
    status = _git(root, "status", "--porcelain", "--untracked-files=all", "--", "effnotes",
                  "pyproject.toml")
    if status is None:
        return TreeState(None, (), "not a git checkout here: the stored source hashes let "
                         "`effnotes status` check the files against the stated commit")
    dirty = tuple(sorted(line[3:] for line in status.splitlines() if line.strip()))
    return TreeState(not dirty, dirty, "git status")
