"""A Sphinx extension for the book's pages (listed in _config.yml's ``extra_extensions``).

sphinx-thebe registers its inline configuration script (``const THEBE_JS_URL = ...``) twice,
so every page raised "Identifier 'THEBE_JS_URL' has already been declared" in the browser.
This drops a script that is repeated on a page with the same file and attributes.
"""

from __future__ import annotations

from typing import Any


def _script_key(script: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    attributes = getattr(script, "attributes", {}) or {}
    filename = getattr(script, "filename", script) or ""  # inline scripts: None or ""
    return str(filename), tuple(sorted(attributes.items()))


def drop_repeated_scripts(app: Any, pagename: str, templatename: str, context: dict,
                          doctree: Any) -> None:
    """``html-page-context`` handler: keep the first of each identical script tag."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    kept = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    scripts[:] = kept


def setup(app: Any) -> dict[str, Any]:
    """Sphinx's entry point: connect the handler, late, after the extensions that add scripts."""
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
