"""Helpers for chapter notebooks: gluing run-time numbers into the prose."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np


def _plain(name: str, value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not np.isfinite(value):
            raise ValueError(f"glued value {name!r} is {value}: a number in the prose must be finite")
        return value
    if isinstance(value, str):
        return value
    raise TypeError(f"glued value {name!r} must be a number or a string, got {type(value).__name__}")


def glue_values(**values) -> None:
    """Glue each keyword as a plain Python number or string (not displayed), so the prose can
    format it with ``{glue:text}`name:.2f```. NumPy scalars are converted (their repr would
    not format); a NaN or infinite value raises, because prose must not quote one."""
    from myst_nb import glue

    for name, value in values.items():
        glue(name, _plain(name, value), display=False)


def show_live_and_stored(comparison, decimals: int = 3) -> None:
    """Display a :class:`~effnotes.results.LiveAndStored`: both runs' numbers side by side,
    or a note that no stored run exists yet."""
    from IPython.display import Markdown, display

    if comparison.stored is None:
        display(Markdown("*No stored run of this chapter's `gpu` profile yet (the README "
                         "says how to make one); this run's numbers:*"))
    display(comparison.table().round(decimals))


def interval_text(values, scale: float = 1.0, spec: str = "+.3f") -> str:
    """"m (95% interval l to h)" for a ``(mean, low, high)`` triple, each multiplied by
    ``scale`` and formatted with ``spec``."""
    mean, low, high = (scale * float(v) for v in values)
    return f"{mean:{spec}} (95% interval {low:{spec}} to {high:{spec}})"


def wrapping_table(table: "pd.DataFrame"):
    """``table`` (a DataFrame of text, such as a claims table) as a pandas Styler for the page:
    every cell in full (pandas' own display cuts text at 50 characters) and HTML-escaped, and
    each index label breakable after its underscores, so that a table of sentences indexed by
    snake_case names wraps inside the content column instead of needing a sideways scroll.
    Only the display changes: the values are the table's own."""
    import html

    def label(value) -> str:
        return html.escape(str(value)).replace("_", "_<wbr>")

    return table.style.format(escape="html").format_index(label, axis=0, escape=None)


@dataclass(frozen=True)
class PageClaims:
    """The claims a page showed: the live run's table and each stored run's (by name)."""

    live: "pd.DataFrame"
    stored: dict


def show_claims(live, *, stored_names=("gpu", "gpu-seeds2")) -> PageClaims:
    """Judge the live :class:`~effnotes.contract.Result` at its own profile and each stored
    run of the chapter (``results/<chapter>/<name>.json`` for ``stored_names``) at the
    registry's profile of its name, with the same ``claims()``; display them side by side,
    then for each stored run where it came from, whether its code has changed since, and why
    each claim it fails, fails, and how the verdicts stand across the stored seed sets
    (:func:`effnotes.seed_sets.seed_set_sentence`). Returns the tables, so the page can
    assert the live run's enforced claims with :func:`effnotes.claims.assert_claims`."""
    from IPython.display import Markdown, display

    from effnotes.chapters import get_chapter
    from effnotes.claims import across_seed_sets, side_by_side
    from effnotes.contract import check_profile_object, stored_result
    from effnotes.experiment_runner import determinism_sentence, judge
    from effnotes.seed_sets import seed_set_sentence
    from effnotes.stored_runs import staleness

    chapter = get_chapter(live.chapter)
    live_profile = chapter.profile_class(**_profile_fields(live.parameters))
    check_profile_object(chapter.name, live_profile)
    live_table = judge(chapter, live, live_profile)
    stored, notes = {}, []
    for name in stored_names:
        result = stored_result(chapter.name, name)
        if result is None:
            continue
        stored[name] = judge(chapter, result, chapter.profile(result.profile))
        fails = stored[name][~stored[name]["holds"]]
        why = "; ".join(f"*{row.claim}* {row.verdict}" for row in fails.itertuples())
        notes.append(f"**Stored run `{name}`**: {result.describe()}. "
                     f"{staleness(result, chapter).sentence()} "
                     f"{determinism_sentence(result.provenance)} "
                     + (f"It fails {len(fails)} claim(s): {why}." if len(fails) else
                        "Every claim holds on it."))
    labels = {f"this page ({live.profile})": live_table}
    labels |= {f"stored {name}": table for name, table in stored.items()}
    table = side_by_side(labels)
    if len(stored) >= 2:
        table = table.join(across_seed_sets(stored))
    display(wrapping_table(table))
    if not stored:
        notes.append("*No stored run of this chapter yet: `effnotes experiment "
                     f"{chapter.name} --profile gpu --store` makes one.*")
    else:
        notes.append(f"**Seed sets**: {seed_set_sentence(chapter)}")
    display(Markdown("\n\n".join(notes)))
    for name in stored:
        _show_rerun(chapter, name)
    _glue_claims_record(chapter.name, live.profile, live_table, stored)
    return PageClaims(live=live_table, stored=stored)


def _show_rerun(chapter, name: str) -> None:
    """When the stored run ``name`` was run a second time (``<name>-rerun``, made by
    ``effnotes experiment CHAPTER --check --store``), show each headline number of both runs
    and say how far apart they are: the run-to-run spread of the stored numbers."""
    import numpy as np
    from IPython.display import Markdown, display

    from effnotes.contract import stored_result
    from effnotes.experiment_runner import compare_headlines, headline

    first, again = stored_result(chapter.name, name), stored_result(chapter.name, f"{name}-rerun")
    if first is None or again is None:
        return
    table = compare_headlines(headline(chapter, first), headline(chapter, again))
    identical = int((table["difference"] == 0).sum())
    spread = np.nanmax(np.abs(table["relative"].to_numpy(dtype=float))) \
        if table["relative"].notna().any() else float("nan")
    display(Markdown(f"**Run-to-run spread of `{name}`**: the same command run twice "
                     f"({again.describe()}) gave {identical} of {len(table)} headline numbers "
                     f"bit for bit; the largest relative difference is {spread:.2%}."))
    display(table.round(4))


#: The glue name under which :func:`show_claims` leaves the page's judged claims (as JSON), so
#: the book's Claims page can gather every chapter's from the executed notebooks.
CLAIMS_GLUE_NAME = "effnotes_claims_record"


def _glue_claims_record(chapter: str, profile: str, live, stored: dict) -> None:
    import json

    from myst_nb import glue

    from effnotes.claims import as_records
    from effnotes.results import _to_jsonable

    record = {"chapter": chapter, "profile": profile, "live": as_records(live),
              "stored": {name: as_records(table) for name, table in stored.items()}}
    text = json.dumps(_to_jsonable(record, non_finite=[]), allow_nan=False)
    glue(CLAIMS_GLUE_NAME, text, display=False)


def claims_record(executed_notebook) -> dict | None:
    """The judged claims a page left (see :func:`show_claims`) in an executed notebook
    (a path or an ``nbformat`` node), or ``None`` if it left none."""
    import ast
    import json

    import nbformat

    notebook = executed_notebook if hasattr(executed_notebook, "cells") else \
        nbformat.read(str(executed_notebook), as_version=4)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("scrapbook", {}).get("name") != CLAIMS_GLUE_NAME:
                continue
            text = next(v for k, v in output["data"].items() if k.endswith("text/plain"))
            return json.loads(ast.literal_eval(text))
    return None


def _profile_fields(parameters) -> dict:
    return {k: tuple(_tuples(x) for x in v) if isinstance(v, list) else v
            for k, v in parameters.items()}


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def show_source(obj, *, lines: tuple[int, int] | None = None) -> None:
    """Show the source of a package function or class on the page (as d2l does), so the
    chapter explains the code it calls. ``lines`` (first, last; 1-based, inclusive) shows a
    part of it."""
    import inspect

    from IPython.display import Markdown, display

    if not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj)):
        raise TypeError(f"obj must be a function, method or class, got {type(obj).__name__}")
    source = inspect.getsource(obj)
    if lines is not None:
        first, last = lines
        if not (isinstance(first, int) and isinstance(last, int) and 1 <= first <= last):
            raise ValueError(f"lines must be (first, last) with 1 <= first <= last, got {lines}")
        source = "\n".join(source.splitlines()[first - 1:last])
    where = f"{obj.__module__}.{obj.__qualname__}"
    display(Markdown(f"`{where}`:\n\n```python\n{source.rstrip()}\n```"))
