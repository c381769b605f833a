"""Running a chapter's whole experiment at a profile without Jupyter, and storing it.

Each chapter with a ``gpu`` profile exposes ``run_profile(params) -> dict`` and a ``main``
built with :func:`profile_main`, so that on a GPU machine with only PyTorch and the
scientific stack ``python -m effnotes.<chapter>.experiment --profile gpu --store`` runs what
the notebook runs and writes ``results/<chapter>/<profile>.json`` with provenance.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from effnotes.chapters import PROFILES, get_chapter
from effnotes.results import save_result
from effnotes.runtime import choose_device


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
    args = parser.parse_args(argv)
    params = get_chapter(chapter).parameters(args.profile)
    start = time.perf_counter()
    data = run_profile(params, progress=True)
    wall = time.perf_counter() - start
    if report is not None:
        report(data, params)
    print(f"{chapter} at profile {args.profile}: {wall:.1f} s")
    if args.store:
        device = choose_device(params["device"]) if "device" in params else None
        path = save_result(chapter, args.profile, data, profile=args.profile, parameters=params,
                           wall_time_s=wall,
                           device=device if device is not None and device.type == "cuda" else None)
        print(f"stored {path}")
    return 0
