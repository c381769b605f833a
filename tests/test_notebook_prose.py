"""Static checks of the chapters' prose: glue roles are well formed and refer to glued names."""

import re

import nbformat
import pytest

from effnotes.chapters import chapters

ROLE = re.compile(r"\{glue:text\}`([^`]*)`")


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: c.name)
def test_glue_roles_are_well_formed_and_defined(chapter, repo_root):
    notebook = nbformat.read(chapter.notebook_path(repo_root / "book"), as_version=4)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    prose = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    roles = ROLE.findall(prose)
    assert roles, "a chapter quotes its numbers through glue"
    for role in roles:
        name, _, spec = role.partition(":")
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name), f"bad glue name in {role!r}"
        if spec:
            format(1.5, spec)  # a valid format spec for a number (raises ValueError if not)
        # every glued name is assigned in a glue_values(...) call (keyword or f-string key)
        assert re.search(rf"\b{name}\s*=|\"{name}\"|f\"[a-z_]*{{key}}\"", code) or \
            re.search(rf"{name.split('_')[0]}_{{key}}", code), f"{name} is never glued"


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: c.name)
def test_display_math_stands_in_its_own_paragraph(chapter, repo_root):
    """MyST renders a ``$$ ... $$`` block as display math only when it is a paragraph of its
    own; glued to the text around it, the dollars leak into the page and the inline maths
    after it breaks."""
    notebook = nbformat.read(chapter.notebook_path(repo_root / "book"), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for paragraph in re.split(r"\n\s*\n", cell.source):
            text = paragraph.strip()
            if "$$" in text:
                assert text.startswith("$$") and text.endswith("$$") and \
                    text.count("$$") == 2, f"display maths not on its own:\n{text}"


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: c.name)
def test_no_cell_ends_by_echoing_a_widget_callback(chapter, repo_root):
    """``widgets.interact(f, ...)`` returns ``f``; as a cell's last expression Jupyter echoes
    it, and the page shows "<function __main__.f(...)>" under the widget."""
    import ast

    notebook = nbformat.read(chapter.notebook_path(repo_root / "book"), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "code" or cell.source.lstrip().startswith(("!", "%")):
            continue
        body = ast.parse(cell.source).body
        last = body[-1] if body else None
        if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call):
            func = last.value.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert name != "interact", f"assign the result of interact(...):\n{cell.source}"
