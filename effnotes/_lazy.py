"""Lazy package exports: a package names what it re-exports and from which submodule, and
each submodule is imported the first time one of its names is used. This keeps
``python -m effnotes.<package>.<module>`` free of runpy's warning about a module imported
by its package before it runs as a script.

A lazily exported name must not also be the name of one of the package's submodules: once
that submodule is imported, Python binds the package attribute to the module, and the
lazy lookup is never asked again. :func:`lazy_exports` refuses such a name."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable


def lazy_exports(package: str, exports: dict[str, list[str]], eager: Iterable[str] = ()
                 ) -> tuple[list[str], Callable[[str], object], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for ``package``, where ``exports`` maps each
    submodule's name to the names it provides lazily and ``eager`` lists the names the
    package imports itself (they join ``__all__``)."""
    where = {name: module for module, names in exports.items() for name in names}
    for name in where:
        if importlib.util.find_spec(f"{package}.{name}") is not None:
            raise ValueError(f"{package}: {name!r} is both a lazily exported name and a "
                             "submodule; import it eagerly instead")
    names = list(eager) + list(where)

    def __getattr__(name: str) -> object:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{where[name]}"), name)

    def __dir__() -> list[str]:
        return sorted(names)

    return names, __getattr__, __dir__
