"""The real-browser check of the built book, on a small page made to fail each check, and on a
clean one. Needs Debian's chromium and playwright; skips without them."""

import shutil
from pathlib import Path

import pytest

from effnotes import browser_check
from effnotes.browser_check import book_pages, check_book, link_problem

BROWSER = shutil.which("chromium") or "/usr/bin/chromium"
needs_browser = pytest.mark.skipif(not Path(BROWSER).is_file(), reason="Debian's chromium is not installed")

CLEAN = """<!doctype html><html><head><meta charset="utf-8"></head><body><main><article
style="width: 600px"><section id="top"><p>Plain text, and <code>\\(x\\)</code> in code.</p>
<img id="dot" src="dot.png"><a href="other.html#there">other</a></section></article></main></body></html>"""

BROKEN = """<!doctype html><html><head><meta charset="utf-8"></head><body><main><article
style="width: 600px"><section id="s"><p id="tex">raw \\(2^{-9}\\) left</p>
<img id="missing" src="nope.png"><div id="wide" style="width: 2000px">wide</div>
<a id="dead" href="gone.html">gone</a><a id="badanchor" href="other.html#nowhere">x</a>
<img id="outside" src="http://example.invalid/x.png">
<script>console.error("boom")</script></section></article></main></body></html>"""

# a 1x1 PNG
DOT = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def make_site(root, pages):
    root.mkdir()
    (root / "dot.png").write_bytes(DOT)
    (root / "other.html").write_text('<html><body><main><article><p id="there">t</p></article></main></body></html>')
    for name, text in pages.items():
        (root / name).write_text(text)
    (root / "_static").mkdir()
    (root / "_static" / "skipped.html").write_text("<html></html>")
    return root


def test_pages_and_links_without_a_browser(tmp_path):
    site = make_site(tmp_path / "html", {"index.html": CLEAN})
    assert book_pages(site) == ["index.html", "other.html"]
    base = "http://127.0.0.1:1/"
    assert link_problem(base + "other.html#there", base, site) is None
    assert "no such anchor" in link_problem(base + "other.html#nowhere", base, site)
    assert "does not have" in link_problem(base + "gone.html", base, site)
    assert link_problem("https://example.org/x", base, site) is None  # not followed


@needs_browser
def test_a_clean_page_passes(tmp_path):
    pytest.importorskip("playwright")
    site = make_site(tmp_path / "html", {"index.html": CLEAN})
    report = check_book(site, browser=BROWSER)
    assert report.ok, "\n".join(map(str, report.problems))


@needs_browser
def test_each_problem_is_named_with_its_page_and_element(tmp_path):
    pytest.importorskip("playwright")
    site = make_site(tmp_path / "html", {"index.html": CLEAN, "broken.html": BROKEN})
    report = check_book(site, browser=BROWSER, pages=["broken.html"])
    found = "\n".join(map(str, report.problems))
    for expected in ("p#tex (in section #s): raw TeX", "img#missing", "image did not load",
                     "div#wide", "wider than the content column", "a#dead", "gone.html",
                     "a#badanchor", "#nowhere", "outside host, blocked: http://example.invalid",
                     "JavaScript error: boom"):
        assert expected in found, f"{expected!r} not reported:\n{found}"
    assert all(p.page == "broken.html" for p in report.problems)


def test_a_missing_build_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="html_dir: .* has no index.html"):
        check_book(tmp_path, browser=BROWSER)
    assert not browser_check.KNOWN_STATIC_WIDGETS  # every chapter widget works without a kernel
