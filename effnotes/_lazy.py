"""Lazy package exports: a package names what it re-exports and from which submodule, and
each submodule is imported the first time one of its names is used. This keeps
``python -m effnotes.<package>.<module>`` free of runpy's warning about a module imported
by its package before it runs as a script."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(package: str, exports: dict[str, list[str]]
                 ) -> tuple[list[str], Callable[[str], object], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for ``package``, where ``exports`` maps each
    submodule's name to the names it provides."""
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> object:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{where[name]}"), name)

    def __dir__() -> list[str]:
        return sorted(where)

    return list(where), __getattr__, __dir__
