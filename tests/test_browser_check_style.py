"""The book's style sheet (book/_static/effnotes.css) keeps the API reference inside the content
column, checked in a real browser on pages marked up the way Sphinx marks up a long signature, a
heading of a long module name and the general index: with the sheet they pass the width check,
without it they do not. Needs Debian's chromium and playwright; skips without them."""

import shutil
from pathlib import Path

import pytest

from effnotes.browser_check import check_book

BROWSER = shutil.which("chromium") or "/usr/bin/chromium"
needs_browser = pytest.mark.skipif(not Path(BROWSER).is_file(), reason="Debian's chromium is not installed")

# Sphinx's own rule (basic.css) that keeps each token of a signature or literal unbroken
SPHINX_RULE = "span.pre { white-space: nowrap; hyphens: none; }"
NAME = "effnotes.a_rather_long.module_path_of_the_package.with_a_function_name_that_is_long"
PARAMS = "".join(f'<em class="sig-param"><span class="n"><span class="pre">argument_{i}:</span>'
                 f'</span><span class="w"> </span><span class="pre">int</span></em>, '
                 for i in range(4))
SIGNATURE = (f'<dl><dt class="sig sig-object py" id="f"><span class="sig-prename descclassname">'
             f'<span class="pre">{NAME}.</span></span><span class="sig-name descname">'
             f'<span class="pre">g</span></span><span class="sig-paren">(</span>{PARAMS}'
             f'<span class="sig-paren">)</span></dt><dd>text</dd></dl>')
HEADING = f'<h2><code class="docutils literal"><span class="pre">{NAME}</span></code></h2>'
ENTRY = f'<li><a href="#f">{NAME}_attribute_name ({NAME}.Class attribute)</a></li>'
INDEX = ('<table style="width: 100%" class="indextable genindextable"><tr>'
         + f'<td style="width: 33%; vertical-align: top;"><ul>{ENTRY * 3}</ul></td>' * 3
         + "</tr></table>")


def page(body, sheet):
    link = f'<link rel="stylesheet" href="{sheet}">' if sheet else ""
    return (f'<!doctype html><html><head><meta charset="utf-8"><style>{SPHINX_RULE}</style>'
            f'{link}</head><body><main><article style="width: 600px">{body}</article></main>'
            f'</body></html>')


def site(root, sheet):
    root.mkdir()
    if sheet:
        shutil.copy(Path(__file__).resolve().parents[1] / "book" / "_static" / "effnotes.css",
                    root / "effnotes.css")
    parts = {"signature.html": SIGNATURE, "heading.html": HEADING, "genindex.html": INDEX}
    for name, body in parts.items():
        (root / name).write_text(page(body, "effnotes.css" if sheet else None))
    (root / "index.html").write_text(page("<p>index</p>", None))
    return root, list(parts)


@needs_browser
@pytest.mark.parametrize("sheet", [True, False], ids=["with the sheet", "without it"])
def test_long_names_fit_the_column_only_with_the_sheet(tmp_path, sheet):
    pytest.importorskip("playwright")
    root, pages = site(tmp_path / "html", sheet)
    report = check_book(root, browser=BROWSER, pages=pages)
    wide = {p.page for p in report.problems if "wider than the content column" in p.message}
    assert wide == (set() if sheet else set(pages)), "\n".join(map(str, report.problems))
    assert report.gaps == []
