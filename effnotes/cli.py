"""The command line: ``effnotes list | run | build`` (also ``python -m effnotes``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from effnotes.chapters import PROFILES, chapters, get_chapter


def _list(args: argparse.Namespace) -> int:
    for chapter in chapters():
        print(f"{chapter.name:<20} book/{chapter.notebook:<28} profiles: {', '.join(chapter.profiles)}")
        print(f"{'':<20} {chapter.title} ({chapter.paper})")
    return 0


def _book_root(args: argparse.Namespace) -> Path | None:
    """The book root given by ``--root`` (checked) or found from the working directory; prints
    the problem and returns ``None`` when there is none."""
    from effnotes.execution import check_book_root, find_book_root

    try:
        return check_book_root(args.root) if args.root is not None else find_book_root()
    except OSError as error:
        print(f"effnotes {args.command}: {error}", file=sys.stderr)
        return None


def _run(args: argparse.Namespace) -> int:
    from effnotes.execution import (KernelConnectionError, execute_chapter, format_runs,
                                    record_status)

    root = _book_root(args)
    if root is None:
        return 2
    names = args.chapters or [c.name for c in chapters()]
    try:
        selected = [get_chapter(name) for name in names]
    except KeyError as error:
        print(error.args[0], file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else root / "_build" / f"executed-{args.profile}"
    runs = []
    try:
        for chapter in selected:
            print(f"{chapter.name}: executing at profile {args.profile} ...", flush=True)
            runs.append(execute_chapter(chapter, args.profile, out, book_root=root,
                                        log_output=args.log_output))
    except KernelConnectionError as error:
        print(f"effnotes run: {error}", file=sys.stderr)
        return 2
    record_status(runs, out)
    print(format_runs(runs))
    print(f"executed notebooks are in {out}")
    return 0 if all(run.ok for run in runs) else 1


def _build(args: argparse.Namespace) -> int:
    from effnotes.build import build_book
    from effnotes.execution import KernelConnectionError

    root = _book_root(args)
    if root is None:
        return 2
    try:
        return build_book(root, profile=args.profile, reuse=not args.no_reuse,
                          log_output=args.log_output)
    except KernelConnectionError as error:
        print(f"effnotes build: {error}", file=sys.stderr)
        return 2


def _browser_check(args: argparse.Namespace) -> int:
    from effnotes.browser_check import check_book, format_report

    html = Path(args.html) if args.html else None
    if html is None:
        root = _book_root(args)
        if root is None:
            return 2
        html = root / "_build" / "html"
    try:
        report = check_book(html, browser=args.browser, pages=args.page)
    except FileNotFoundError as error:
        print(f"effnotes browser-check: {error}", file=sys.stderr)
        return 2
    print(format_report(report), flush=True)
    return 0 if report.ok else 1


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="effnotes", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="list the chapters, their notebooks and profiles")
    listing.set_defaults(handler=_list)

    run = commands.add_parser("run", help="execute chapters with papermill at a profile")
    run.add_argument("chapters", nargs="*", metavar="CHAPTER", help="chapter names (default: all)")
    run.add_argument("--profile", choices=PROFILES, default="ci")
    run.add_argument("--out", help="folder for the executed notebooks (default: _build/executed-PROFILE)")
    run.add_argument("--root", help="the repository root (default: found from the working directory)")
    run.add_argument("--log-output", action="store_true", help="echo the notebooks' output")
    run.set_defaults(handler=_run)

    build = commands.add_parser("build", help="execute every chapter (or reuse fresh runs) and build the HTML")
    build.add_argument("--profile", choices=PROFILES, default="ci")
    build.add_argument("--no-reuse", action="store_true", help="execute every chapter again")
    build.add_argument("--root", help="the repository root (default: found from the working directory)")
    build.add_argument("--log-output", action="store_true", help="echo the notebooks' output")
    build.set_defaults(handler=_build)

    check = commands.add_parser(
        "browser-check", help="open every built page in headless Chromium and check what it shows")
    check.add_argument("--html", help="the built book (default: ROOT/_build/html)")
    check.add_argument("--root", help="the repository root (default: found from the working directory)")
    check.add_argument("--browser", default="/usr/bin/chromium", help="the Chromium executable")
    check.add_argument("--page", action="append", help="check only this page, e.g. book/speedup.html (repeatable)")
    check.set_defaults(handler=_browser_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
