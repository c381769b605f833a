"""The command line: ``effnotes list | experiment | status | run | build | browser-check``
(also ``python -m effnotes``)."""

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


def _experiment(args: argparse.Namespace) -> int:
    from effnotes.experiment_runner import run_experiment

    try:
        get_chapter(args.chapter)
    except KeyError as error:
        print(error.args[0], file=sys.stderr)
        return 2
    return run_experiment(args.chapter, args.profile, store=args.store, check=args.check,
                          data_path=args.data_path, dirty_reason=args.dirty_reason,
                          seed_set=args.seed_set, device=args.device,
                          progress=not args.quiet,
                          nondeterministic_reason=args.nondeterministic)


def _status(args: argparse.Namespace) -> int:
    import pandas as pd

    from effnotes.stored_runs import status_rows

    rows = status_rows()
    if rows.empty:
        print("no stored runs")
        return 0
    with pd.option_context("display.max_colwidth", 80, "display.width", 200):
        for chapter, group in rows.groupby("chapter", sort=False):
            print(f"\n{chapter}")
            for row in group.itertuples():
                print(f"  {row.run}: {row.source}")
                print(f"    claims judged today: {row.claims_today}; failing: {row.failing}")
                print(f"    code matched its commit: {row.matched_commit}")
                print(f"    code changed since: {row.code_changed_since}")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="effnotes", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="list the chapters, their notebooks and profiles")
    listing.set_defaults(handler=_list)

    experiment = commands.add_parser(
        "experiment", help="run a chapter's experiment without Jupyter; judge, store or check it")
    experiment.add_argument("chapter", metavar="CHAPTER", help="a chapter name (see effnotes list)")
    experiment.add_argument("--profile", choices=PROFILES, default="gpu")
    experiment.add_argument("--store", action="store_true",
                            help="write results/CHAPTER/NAME.json with provenance and the claims")
    experiment.add_argument("--check", action="store_true",
                            help="re-run a stored experiment and print each headline number "
                                 "beside the stored one (with --store: keep it as NAME-rerun)")
    experiment.add_argument("--data-path", default=None,
                            help="the reader's own data (absolute, or relative to "
                                 "$EFFNOTES_DATA); stored as PROFILE-<folder name>")
    experiment.add_argument("--seed-set", type=int, default=1,
                            help="run the profile's K-th disjoint set of seeds (stored as "
                                 "NAME-seedsK)")
    experiment.add_argument("--dirty-reason", default=None,
                            help="store even though the code differs from its commit; the "
                                 "reason is recorded")
    experiment.add_argument("--device", default=None,
                            help="run on this device instead of the profile's (e.g. the smoke "
                                 "profile on cuda); not with --store")
    experiment.add_argument("--nondeterministic", metavar="REASON", default=None,
                            help="run with PyTorch's default kernels instead of deterministic "
                                 "ones (for a run that would not fit its time limit); the "
                                 "reason is recorded in the provenance")
    experiment.add_argument("--quiet", action="store_true", help="no progress bars")
    experiment.set_defaults(handler=_experiment)

    status = commands.add_parser(
        "status", help="every stored run: where it came from, its claims judged today, stale code")
    status.set_defaults(handler=_status)

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
