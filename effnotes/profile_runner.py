"""Running a chapter's whole experiment at a profile without Jupyter, and storing it.

Each chapter with a ``gpu`` profile exposes ``run_profile(params) -> dict`` and a ``main``
built with :func:`profile_main`, so that on a GPU machine with only PyTorch and the
scientific stack ``python -m effnotes.<chapter>.experiment --profile gpu --store`` runs what
the notebook runs and writes ``results/<chapter>/<profile>.json`` with provenance.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from collections.abc import Callable

from effnotes.chapters import PROFILES, get_chapter
from effnotes.results import save_result
from effnotes.runtime import choose_device


def stored_name(profile: str, data_path: str) -> str:
    """The stored result's name for a run on the reader's data: ``<profile>-<slug>``, the
    slug the data folder's (or file's) name in lower case with other characters as ``-``, so
    the result says which data made it and never replaces the bundled-data result."""
    stem = Path(str(data_path).rstrip("/")).name.lower()
    slug = re.sub(r"[^a-z0-9_]+", "-", stem).strip("-") or "data"
    return f"{profile}-{slug}"


def profile_main(chapter: str, run_profile: Callable[..., dict],
                 report: Callable[[dict, dict], None] | None = None,
                 argv: list[str] | None = None, description: str | None = None) -> int:
    """Parse ``--profile`` and ``--store``, run ``run_profile(params, progress=True)`` with the
    registry's parameters for ``chapter``, print ``report(data, params)`` and, with
    ``--store``, save the result with provenance (wall time, device). Returns an exit code."""
    parser = argparse.ArgumentParser(prog=f"python -m effnotes.{chapter}.experiment",
                                     description=description)
    parser.add_argument("--profile", choices=PROFILES, default="gpu")
    parser.add_argument("--store", action="store_true",
                        help=f"write results/{chapter}/<profile>.json")
    parser.add_argument("--data-path", default=None,
                        help="the reader's own data for this chapter (absolute, or relative to "
                             "$EFFNOTES_DATA); a stored result is then named "
                             "<profile>-<data folder name>.json, never <profile>.json")
    args = parser.parse_args(argv)
    params = get_chapter(chapter).parameters(args.profile)
    name = args.profile
    if args.data_path is not None:
        if "data_path" not in params:
            parser.error(f"--data-path: chapter {chapter} takes no data_path parameter")
        params["data_path"] = args.data_path
        name = stored_name(args.profile, args.data_path)
    start = time.perf_counter()
    data = run_profile(params, progress=True)
    wall = time.perf_counter() - start
    if report is not None:
        report(data, params)
    print(f"{chapter} at profile {args.profile}: {wall:.1f} s")
    if args.store:
        device = choose_device(params["device"]) if "device" in params else None
        path = save_result(chapter, name, data, profile=args.profile, parameters=params,
                           wall_time_s=wall,
                           device=device if device is not None and device.type == "cuda" else None)
        print(f"stored {path}")
    return 0
