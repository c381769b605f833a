"""The registry, and the notebooks it points at as committed (no outputs, one parameters cell)."""

import ast

import nbformat
import pytest

from effnotes.chapters import PROFILES, Chapter, chapters, check_profile, get_chapter

EXPECTED_NAMES = {"speedup", "unit_scaling", "masking_schedules", "cyclic_tradeoff", "maddness",
                  "pruning", "mil_ecg"}


def parameters_cell(notebook):
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "a chapter has exactly one cell tagged 'parameters'"
    return cells[0]


def assigned_names(source):
    return {target.id for node in ast.parse(source).body if isinstance(node, ast.Assign)
            for target in node.targets}


def test_registry_names_are_the_books():
    names = [c.name for c in chapters()]
    assert len(names) == len(set(names)) and set(names) <= EXPECTED_NAMES
    assert "speedup" in names


def test_unknown_chapter_lists_known_ones():
    with pytest.raises(KeyError, match="registered chapters: .*speedup"):
        get_chapter("nope")


def test_profiles_are_checked():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class P:
        seeds: int = 1

    @dataclass
    class Loose:
        seeds: int = 1

    with pytest.raises(ValueError, match="lacks profiles"):
        Chapter("x", "X", "x.ipynb", "paper", "pkg", {"smoke": P(), "ci": P()})
    with pytest.raises(ValueError, match="unknown profiles"):
        Chapter("x", "X", "x.ipynb", "paper", "pkg", {p: P() for p in (*PROFILES, "tpu")})
    with pytest.raises(TypeError, match="frozen dataclass"):
        Chapter("x", "X", "x.ipynb", "paper", "pkg", {p: Loose() for p in PROFILES})
    with pytest.raises(TypeError, match="one Profile dataclass"):
        Chapter("x", "X", "x.ipynb", "paper", "pkg", {"smoke": P(), "ci": P(), "gpu": Loose()})
    with pytest.raises(ValueError, match="unknown profile"):
        check_profile("fast")
    chapter = get_chapter("speedup")
    params = chapter.parameters("ci")
    params["seeds"] = -1  # a copy: the registry itself cannot be edited by accident
    assert chapter.parameters("ci")["seeds"] != -1


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: c.name)
def test_notebook_is_committed_clean_and_parameterised(chapter, repo_root):
    path = chapter.notebook_path(repo_root / "book")
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "commit notebooks without outputs"
    defaults = assigned_names(parameters_cell(notebook).source)
    for profile in PROFILES:
        assert set(chapter.parameters(profile)) == defaults, (
            f"profile {profile} must set exactly the parameters cell's names")
    # the parameters cell's defaults are the ci profile
    namespace = {}
    exec(parameters_cell(notebook).source, namespace)
    assert {k: namespace[k] for k in defaults} == chapter.parameters("ci")


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: c.name)
def test_chapter_is_in_the_table_of_contents(chapter, repo_root):
    import yaml

    toc = yaml.safe_load((repo_root / "_toc.yml").read_text())
    files = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    assert f"book/{chapter.notebook.removesuffix('.ipynb')}" in files
