"""Open every page of the built book in a real browser and check what a reader sees.

The book's ``_build/html`` is served from 127.0.0.1 and each page is opened in headless
Chromium (the system's ``/usr/bin/chromium``, driven by Playwright; nothing is downloaded).
For every page it checks that

- the maths is typeset: every ``.math`` element holds MathJax output and no raw ``\\(``,
  ``\\[`` or ``\\begin{`` is left in the text outside code;
- every image loaded (``naturalWidth > 0``);
- every embedded widget view rendered, and its first control accepts one change; whether the
  rest of the widget (its figure) responds is checked too, and a widget known not to respond
  in a static page (``interactive_output`` needs a live kernel) is reported as a known gap;
  if such a widget starts responding, the entry is stale and that is a failure;
- no JavaScript error was logged and no request failed;
- no element is wider than the content column; a block that the reader must scroll sideways
  (a wide table or code output in its scroll box) is reported as a gap, not a failure;
- every internal link (and its ``#fragment``) resolves to a built page;
- no request went to a host other than 127.0.0.1 (such requests are blocked and reported).

Each problem names the page and the element. ``python -m effnotes browser-check`` prints them
and exits 1 if there are any.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urldefrag, urlsplit

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-default-apps")
DEFAULT_BROWSER = "/usr/bin/chromium"
SKIPPED_FOLDERS = ("_static", "_sources", "_images", "_downloads")
INTERACTIVE_OUTPUT_GAP = ("its figure is an interactive_output/interact drawn by the kernel, "
                          "so in the static page moving a control does not redraw it")
# Pages whose widgets are known not to redraw their figure without a kernel: the check
# reports these as gaps, and fails if one of them starts responding (stale entry). None is
# left: every chapter's figure controls are precomputed (effnotes.precomputed_controls).
KNOWN_STATIC_WIDGETS: dict[str, str] = {}
SETTLE_MS = 600  # after a control change, time for the page's own scripts to react

PAGE_CHECKS_JS = r"""
async () => {
  const problems = [];
  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (typeof el.className === 'string' && el.className.trim())
      s += '.' + el.className.trim().split(/\s+/).slice(0, 3).join('.');
    const section = el.closest('section[id]');
    if (section) s += ' (in section #' + section.id + ')';
    return s;
  };
  const add = (el, message) => problems.push({element: describe(el), message});
  const root = document.querySelector('article') || document.querySelector('main') || document.body;

  // maths
  const maths = [...document.querySelectorAll('.math')];
  if (maths.length) {
    const started = await new Promise((resolve) => {
      const t0 = Date.now();
      const poll = () => {
        if (window.MathJax && MathJax.startup && MathJax.startup.promise) resolve(true);
        else if (Date.now() - t0 > 15000) resolve(false);
        else setTimeout(poll, 100);
      };
      poll();
    });
    if (!started) add(maths[0], 'MathJax never loaded, so ' + maths.length + ' formula(s) stay raw TeX');
    else await MathJax.startup.promise;
    for (const m of maths)
      if (!m.querySelector('mjx-container') && !m.closest('mjx-container'))
        add(m, 'formula not typeset: ' + m.textContent.trim().slice(0, 60));
  }
  const skip = 'pre, code, script, style, textarea, mjx-container, .highlight, .math';
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent;
    if (!/\\\(|\\\[|\\begin\{/.test(text)) continue;
    if (node.parentElement.closest(skip)) continue;
    add(node.parentElement, 'raw TeX in the text: ' + text.trim().slice(0, 60));
  }

  // images
  const images = [...document.images];
  images.forEach((img) => { img.loading = 'eager'; });
  await Promise.all(images.map((img) => img.complete ? null : new Promise((resolve) => {
    img.addEventListener('load', resolve); img.addEventListener('error', resolve);
    setTimeout(resolve, 10000);
  })));
  for (const img of images)
    if (!img.naturalWidth) add(img, 'image did not load: ' + (img.getAttribute('src') || '').slice(0, 80));

  // widgets: the HTML manager puts a .widget-subarea before each view's script tag
  const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
  const rendered = () => views.every((v) => {
    const area = v.previousElementSibling;
    return area && area.classList.contains('widget-subarea') && area.children.length;
  });
  const t0 = Date.now();
  while (views.length && !rendered() && Date.now() - t0 < 20000)
    await new Promise((resolve) => setTimeout(resolve, 100));
  views.forEach((v, i) => {
    const area = v.previousElementSibling;
    if (!(area && area.classList.contains('widget-subarea') && area.children.length))
      add(v.parentElement, 'widget view ' + i + ' did not render');
  });

  // layout: nothing wider than the content column, nothing that needs a horizontal scroll
  const column = root.getBoundingClientRect();
  const scrolling = [];
  const scrolls = (el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  for (const el of root.querySelectorAll('*')) {
    if (el.closest('mjx-container, mjx-assistive-mml, script, style')) continue;
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    let inScroller = false;
    for (let a = el.parentElement; a && a !== root; a = a.parentElement) if (scrolls(a)) { inScroller = true; break; }
    if (!inScroller && box.right > column.right + 2)
      add(el, 'wider than the content column (' + Math.round(box.right - column.left) + ' px of ' + Math.round(column.width) + ')');
    if (scrolls(el) && el.scrollWidth > el.clientWidth + 2 && !el.closest('.highlight'))
      scrolling.push({element: describe(el), message: 'needs a horizontal scroll bar (' + el.scrollWidth + ' px of content in ' + el.clientWidth + ')'});
  }

  // links, resolved by the caller
  const links = [...document.querySelectorAll('a[href]')].map((a) => ({href: a.href, element: describe(a)}));
  return {problems, scrolling, links, views: views.length};
}
"""

CONTROL_SELECTOR = '.noUi-handle, select, .widget-toggle-buttons, input[type="checkbox"]'
# For each rendered widget: the first control that can take another value, and its kind.
CONTROLS_JS = r"""
(selector) => [...document.querySelectorAll('.widget-subarea')].map((area) => {
  const controls = [...area.querySelectorAll(selector)];
  for (let i = 0; i < controls.length; i++) {
    const c = controls[i];
    if (c.classList.contains('noUi-handle')) {
      if (c.getAttribute('aria-valuemin') !== c.getAttribute('aria-valuemax')) return {kind: 'slider', which: i};
    } else if (c.tagName === 'SELECT') {
      if (c.options.length > 1) return {kind: 'select', which: i};
    } else if (c.tagName === 'INPUT') {
      return {kind: 'checkbox', which: i};
    } else if (c.querySelectorAll('button').length > 1) {
      return {kind: 'toggle', which: i};
    }
  }
  return null;
})
"""

# The control's own state, and everything in the widget that is not a control (its outputs).
SNAPSHOT_JS = r"""
([index, which, selector]) => {
  const area = document.querySelectorAll('.widget-subarea')[index];
  const control = area.querySelectorAll(selector)[which];
  const widget = control.closest('.widget-slider, .widget-dropdown, .widget-select, .widget-toggle-buttons, .widget-checkbox') || control;
  const readout = widget.querySelector('.widget-readout');
  const state = [control.getAttribute('aria-valuenow'), control.value, readout && readout.textContent,
                 [...widget.querySelectorAll('.mod-active')].map((b) => b.textContent).join()].join('|');
  const rest = [...area.querySelectorAll('.widget-output, .widget-image, .widget-html, .widget-stack, img')]
    .map((el) => el.outerHTML + (el.checkVisibility ? el.checkVisibility() : '')).join('\n');
  return {state, rest};
}
"""


@dataclass(frozen=True)
class Problem:
    """Something a reader would see wrong: on ``page``, at ``element``."""

    page: str
    element: str
    message: str

    def __str__(self) -> str:
        return f"{self.page}: {self.element}: {self.message}"


@dataclass
class Report:
    """What the check found: problems fail it; gaps are known, reported shortcomings."""

    pages: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    gaps: list[Problem] = field(default_factory=list)
    widgets: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing failed (known gaps do not fail the check)."""
        return not self.problems


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A browser that drops a connection (a blocked or cancelled load) is no error."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


REDIRECT = re.compile(r'<meta\s+http-equiv="refresh"\s+content="\d+;\s*url=([^"]+)"', re.IGNORECASE)


def redirect_target(path: Path) -> str | None:
    """The target of a page that is only a ``<meta http-equiv="refresh">`` redirect, or None."""
    text = path.read_text(encoding="utf-8", errors="replace")
    match = REDIRECT.search(text)
    return match.group(1) if match and len(text) < 2000 else None


@contextmanager
def serve(html_dir: Path) -> Iterator[str]:
    """Serve ``html_dir`` on 127.0.0.1 (a free port) while the block runs; yields its base URL."""
    handler = functools.partial(_Quiet, directory=str(html_dir))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def book_pages(html_dir: Path) -> list[str]:
    """The built pages, as paths relative to ``html_dir`` (assets' folders left out)."""
    return sorted(str(p.relative_to(html_dir)) for p in html_dir.rglob("*.html")
                  if not p.relative_to(html_dir).parts[0] in SKIPPED_FOLDERS)


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)


@functools.lru_cache(maxsize=None)
def _ids_of(path: Path) -> frozenset[str]:
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def link_problem(href: str, base: str, html_dir: Path) -> str | None:
    """Why an internal link does not resolve (its file or its fragment is missing), or None.
    Links to other hosts are not followed."""
    if not href.startswith(base):
        return None
    url, fragment = urldefrag(href)
    relative = unquote(urlsplit(url).path).lstrip("/")
    target = html_dir / relative
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return f"links to {relative or '/'}, which the build does not have"
    if fragment and target.suffix == ".html" and unquote(fragment) not in _ids_of(target):
        return f"links to #{fragment} in {relative}, which has no such anchor"
    return None


def _change_control(page, index: int, kind: str, which: int) -> None:
    control = page.locator(".widget-subarea").nth(index).locator(CONTROL_SELECTOR).nth(which)
    if kind == "slider":
        at_end = control.get_attribute("aria-valuenow") == control.get_attribute("aria-valuemax")
        control.focus()
        page.keyboard.press("ArrowLeft" if at_end else "ArrowRight")
    elif kind == "select":
        count = control.evaluate("s => s.options.length")
        current = control.evaluate("s => s.selectedIndex")
        control.select_option(index=(max(current, 0) + 1) % count)
    elif kind == "checkbox":
        control.click()
    else:
        buttons = control.locator("button")
        buttons.nth(1 if "mod-active" in (buttons.nth(0).get_attribute("class") or "") else 0).click()


def check_widgets(page, name: str, report: Report) -> None:
    """Change the first control of every rendered widget once; record whether it took the
    change and whether the rest of the widget responded."""
    found = page.evaluate(CONTROLS_JS, CONTROL_SELECTOR)
    for index, control in enumerate(found):
        if control is None:
            continue
        kind, which = control["kind"], control["which"]
        element = f"widget {index} ({kind} {which})"
        before = page.evaluate(SNAPSHOT_JS, [index, which, CONTROL_SELECTOR])
        try:
            _change_control(page, index, kind, which)
        except Exception as error:  # a control that cannot be operated is a problem to report
            report.problems.append(Problem(name, element, f"control could not be changed: {error}"))
            continue
        page.wait_for_timeout(SETTLE_MS)
        after = page.evaluate(SNAPSHOT_JS, [index, which, CONTROL_SELECTOR])
        if after["state"] == before["state"]:
            report.problems.append(Problem(name, element, "control did not take the change"))
            continue
        responded = after["rest"] != before["rest"]
        known = KNOWN_STATIC_WIDGETS.get(name)
        if responded and known:
            report.problems.append(Problem(
                name, element, "now responds without a kernel: remove the page from "
                               "KNOWN_STATIC_WIDGETS in effnotes/browser_check.py"))
        elif not responded and known:
            report.gaps.append(Problem(name, element, f"does not respond: {known}"))
        elif not responded:
            report.problems.append(Problem(name, element, "the widget did not respond to its control"))


def check_book(html_dir: Path, *, browser: str = DEFAULT_BROWSER,
               pages: list[str] | None = None) -> Report:
    """Open every page of ``html_dir`` (or only ``pages``) in headless Chromium and check it."""
    from playwright.sync_api import sync_playwright

    html_dir = Path(html_dir).resolve()
    if not (html_dir / "index.html").is_file():
        raise FileNotFoundError(f"html_dir: {html_dir} has no index.html; build the book first "
                                f"(python -m effnotes build)")
    executable = shutil.which(browser) or browser
    if not Path(executable).is_file():
        raise FileNotFoundError(f"browser: {browser} not found; install Debian's chromium "
                                f"(apt-get install -y chromium) or pass --browser")
    report = Report(pages=pages or book_pages(html_dir))
    with serve(html_dir) as base, sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=list(CHROMIUM_FLAGS))
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        for name in report.pages:
            target = redirect_target(html_dir / name)
            if target is not None:  # e.g. the root index.html: check where it leads, not it
                why = link_problem(base + str(Path(name).parent / target).removeprefix("./"), base, html_dir)
                if why:
                    report.problems.append(Problem(name, "meta refresh", why))
                continue
            page = context.new_page()
            seen: list[Problem] = []

            def route(route_, request, name=name, seen=seen):
                if request.url.startswith(base) or request.url.startswith("data:"):
                    route_.continue_()
                else:
                    seen.append(Problem(name, f"request {request.resource_type}",
                                        f"to an outside host, blocked: {request.url[:120]}"))
                    route_.abort()

            page.route("**/*", route)
            page.on("console", lambda msg, name=name, seen=seen: seen.append(
                Problem(name, "console", f"JavaScript error: {msg.text[:300]}"))
                if msg.type == "error" else None)
            page.on("pageerror", lambda error, name=name, seen=seen: seen.append(
                Problem(name, "page", f"uncaught JavaScript error: {str(error)[:300]}")))
            page.on("response", lambda response, name=name, seen=seen: seen.append(
                Problem(name, "request", f"{response.status} for {response.url[:120]}"))
                if response.status >= 400 else None)
            page.goto(base + name, wait_until="load")
            found = page.evaluate(PAGE_CHECKS_JS)
            report.widgets += found["views"]
            seen += [Problem(name, p["element"], p["message"]) for p in found["problems"]]
            report.gaps += [Problem(name, p["element"], p["message"]) for p in found["scrolling"]]
            for link in found["links"]:
                why = link_problem(link["href"], base, html_dir)
                if why:
                    seen.append(Problem(name, link["element"], why))
            check_widgets(page, name, report)
            # a failed or blocked load is reported above with its URL, and Chromium logs it
            # again as a console error without one: keep the line that names the URL
            report.problems += [p for p in seen if not (
                p.element == "console" and "Failed to load resource" in p.message
                and any(q.element.startswith("request") for q in seen))]
            page.close()
        chromium.close()
    return report


def format_report(report: Report) -> str:
    """A summary line, then one line per problem and per known gap."""
    lines = [f"browser check: {len(report.pages)} page(s), {report.widgets} widget view(s), "
             f"{len(report.problems)} problem(s), {len(report.gaps)} known gap(s)"]
    lines += [f"PROBLEM {p}" for p in report.problems]
    lines += [f"known gap {g}" for g in report.gaps]
    return "\n".join(lines)
