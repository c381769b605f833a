"""Every chapter has the same shape (the book's chapter contract), and its notebook narrates
while the package decides: short cells, no function definitions but widget callbacks, the
claims table shown and asserted, and no hand-typed numbers in the prose."""

import ast
import dataclasses
import importlib
import re

import nbformat
import pytest

from effnotes.chapters import PROFILES, chapters
from effnotes.contract import Experiment

MAX_CELL_LINES = 25


def _cells(chapter, repo_root, kind):
    notebook = nbformat.read(chapter.notebook_path(repo_root / "book"), as_version=4)
    return [cell for cell in notebook.cells if cell.cell_type == kind]


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: c.name)
def test_chapter_package_has_the_contract_modules(chapter):
    profiles = importlib.import_module(f"{chapter.package}.profiles")
    assert dataclasses.is_dataclass(profiles.Profile)
    assert profiles.Profile.__dataclass_params__.frozen
    assert set(profiles.PROFILES) == set(PROFILES)
    assert all(isinstance(p, profiles.Profile) for p in profiles.PROFILES.values())
    experiment = chapter.module("experiment")
    assert isinstance(experiment.EXPERIMENT, Experiment)
    assert experiment.EXPERIMENT.chapter == chapter.name
    assert callable(experiment.run)
    claims = chapter.module("claims")
    assert callable(claims.claims) and callable(claims.headline)
    chapter.module("plots")


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: c.name)
def test_code_cells_are_short(chapter, repo_root):
    """No code cell is longer than the budget, counting lines as the notebook stores them."""
    long = [(i, len(cell.source.splitlines()))
            for i, cell in enumerate(_cells(chapter, repo_root, "code"))
            if len(cell.source.splitlines()) > MAX_CELL_LINES]
    assert not long, f"code cells over {MAX_CELL_LINES} lines (index, lines): {long}"


def _is_widget_cell(source: str) -> bool:
    return ("widgets." in source or "interactive_output" in source or "interact(" in source
            or "precomputed_controls(" in source)


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: c.name)
def test_notebook_defines_no_functions_but_widget_callbacks(chapter, repo_root):
    for cell in _cells(chapter, repo_root, "code"):
        if cell.source.lstrip().startswith(("!", "%")):
            continue
        defined = [node.name for node in ast.walk(ast.parse(cell.source))
                   if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        if defined:
            assert _is_widget_cell(cell.source), (
                f"{defined} defined outside a widget cell; move it into {chapter.package}")


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: c.name)
def test_bookkeeping_cells_are_collapsed(chapter, repo_root):
    for cell in _cells(chapter, repo_root, "code"):
        tags = cell.metadata.get("tags", [])
        if "parameters" in tags:
            assert "hide-input" in tags, "the parameters cell is tagged hide-input"


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: c.name)
def test_page_shows_and_asserts_the_claims(chapter, repo_root):
    code = "\n".join(cell.source for cell in _cells(chapter, repo_root, "code"))
    assert "show_claims(" in code, "the page shows the claims table (live and stored)"
    assert "assert_claims(" in code, "the page asserts the live run's enforced claims"
    assert "notebook_profile(" in code, "the page rebuilds its profile one way"


# --- no hand-typed numbers in the prose --------------------------------------------------

#: Spans that may hold digits: glue roles, citations, maths, code, links, HTML comments.
_EXEMPT_SPANS = [
    re.compile(r"\{glue:[a-z]+\}`[^`]*`"),
    re.compile(r"\{(?:cite|eq|numref|ref|doc)(?::[a-z]+)?\}`[^`]*`"),
    re.compile(r"\$\$.*?\$\$", re.S),
    re.compile(r"\$[^$\n]+\$"),
    re.compile(r"```.*?```", re.S),
    re.compile(r"`[^`\n]*`"),
    re.compile(r"\]\([^)]*\)"),
    re.compile(r"<!--.*?-->", re.S),
    re.compile(r"https?://\S+"),
]
#: A bare number: digits not part of a word or identifier (FP8, CIFAR-10, e4m3, top20).
_NUMBER = re.compile(r"(?<![\w\-./])\d+(?:[.,]\d+)*(?![\w])")
#: Numbers that are labels rather than results: list markers, years, section and figure
#: references.
_LABEL_BEFORE = re.compile(r"(?:Table|Figure|Fig\.|Section|Sec\.|Eq\.|equation|Appendix|"
                           r"Algorithm|chapter|step|version|Python|v)\s*\(?$", re.I)


#: Numbers allowed anywhere: the identity and the zero of a derivation.
ALLOWED_NUMBERS = {"0", "1"}


def _sentences(text: str):
    text = re.sub(r"(?m)^\s*(?:#+\s*)?\d+\.\s", " ", text)  # list markers, "### 1. ..."
    text = re.sub(r"\b95% (?:confidence )?interval", "interval", text)  # the convention
    return re.split(r"(?<=[.!?:])\s+|\n\s*\n", text)


def hand_typed_numbers(markdown: str) -> list[str]:
    """The numbers in ``markdown`` that are neither glued nor in a sentence that cites a
    paper, nor labels (list markers, years, figure or section numbers), nor one of
    :data:`ALLOWED_NUMBERS`. A constant of a derivation belongs in maths (``$448$``)."""
    found = []
    for sentence in _sentences(markdown):
        if "{cite" in sentence:
            continue
        text = sentence
        for span in _EXEMPT_SPANS:
            text = span.sub(" ", text)
        for match in _NUMBER.finditer(text):
            token = match.group()
            if token in ALLOWED_NUMBERS or re.fullmatch(r"(?:19|20)\d\d", token):
                continue
            if _LABEL_BEFORE.search(text[:match.start()]):
                continue
            found.append(token)
    return found


def test_hand_typed_number_finder():
    assert hand_typed_numbers("the speedup is 1.6 to 2.0 times") == ["1.6", "2.0"]
    assert hand_typed_numbers("FP8 on CIFAR-10 with top20 pooling, in 2021") == []
    assert hand_typed_numbers("we get {glue:text}`speedup:.2f`") == []
    assert hand_typed_numbers("the paper reports 195 pairs {cite:p}`blalock2020state`.") == []
    assert hand_typed_numbers("1. first\n2. second") == []
    assert hand_typed_numbers("as Table 2 shows, with $k = 16$ and `n=4`") == []
    assert hand_typed_numbers("64 sequences of 31 tokens") == ["64", "31"]
    assert hand_typed_numbers("a 95% interval of unit variance 1") == []


@pytest.mark.parametrize("chapter", chapters(), ids=lambda c: c.name)
def test_prose_has_no_hand_typed_numbers(chapter, repo_root):
    found = {}
    for i, cell in enumerate(_cells(chapter, repo_root, "markdown")):
        numbers = hand_typed_numbers(cell.source)
        if numbers:
            found[i] = numbers
    assert not found, (f"numbers in the prose that are neither glued nor cited (markdown "
                       f"cell index: numbers): {found}")
