"""Counting lost kernel replies: execute a chapter's widget cells alone, many times.

``python -m effnotes.stall_probe --runs 50`` builds a small notebook from a chapter (default
``cyclic_tradeoff``) holding its parameters cell, its imports cell and every cell that displays
a widget, then executes it ``--runs`` times with papermill at the ``smoke`` parameters, one
fresh kernel each. A *stall* is a cell that ran for the whole cell timeout (``--cell-timeout``,
short so that a stall costs little) although it finished: its reply was in the socket all
along and was found only by the poll that ended at the timeout. ``--client watched`` uses
:class:`effnotes.kernel_client.WatchedNotebookClient` (and also counts the replies it found
late), ``--transport ipc`` Unix sockets instead of TCP. Prints one line per run and a summary;
``--out`` writes the runs as JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import nbformat

from effnotes.chapters import get_chapter
from effnotes.execution import find_book_root


def _imports_widgets(source: str) -> bool:
    return "import ipywidgets" in source or "import precomputed_controls" in source


def _shows_a_widget(source: str) -> bool:
    return ("widgets." in source and "display(" in source) or "precomputed_controls(" in source


def probe_notebook(chapter: str, book_root: Path) -> nbformat.NotebookNode:
    """The chapter's parameters cell, imports cell and widget cells, without outputs."""
    source = nbformat.read(get_chapter(chapter).notebook_path(book_root / "book"), as_version=4)
    code = [c for c in source.cells if c.cell_type == "code"]
    keep = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    keep += [c for c in code if _imports_widgets(c.source)][:1]
    keep += [c for c in code if _shows_a_widget(c.source) and not _imports_widgets(c.source)]
    if len(keep) < 3:
        raise ValueError(f"chapter {chapter!r} has no parameters, imports and widget cells")
    for cell in keep:
        cell.outputs, cell.execution_count = [], None
    source.cells = keep
    return source


def execute_once(notebook: Path, output: Path, parameters: dict, *, cwd: Path, client: str,
                 transport: str, cell_timeout_s: int, ipc_dir: Path) -> dict:
    """One execution; returns its wall time, cell durations, whether it stalled, late replies."""
    import papermill
    from jupyter_client.manager import KernelManager

    from effnotes.kernel_client import ENGINE_NAME, WatchedEngine

    options = {"engine_name": ENGINE_NAME} if client == "watched" else {}
    if transport == "ipc":
        options["km"] = KernelManager(kernel_name="python3", transport="ipc",
                                      ip=str(ipc_dir / f"kernel-{time.monotonic_ns()}"))
    start, error = time.perf_counter(), None
    try:
        papermill.execute_notebook(str(notebook), str(output), parameters=parameters,
                                   kernel_name="python3", cwd=str(cwd), progress_bar=False,
                                   execution_timeout=cell_timeout_s, **options)
    except Exception as exc:  # a stall past the timeout, a dead kernel: count it, go on
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    durations = [c.metadata.get("papermill", {}).get("duration")
                 for c in nbformat.read(output, as_version=4).cells]
    late = WatchedEngine.last_client.late_replies if client == "watched" and \
        WatchedEngine.last_client is not None else []
    stalled = error is not None or any(d is not None and d >= cell_timeout_s - 1
                                       for d in durations)
    return {"wall_s": round(time.perf_counter() - start, 2), "durations_s": durations,
            "error": error, "stalled": stalled, "late_replies": late}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m effnotes.stall_probe", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapter", default="cyclic_tradeoff")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--client", choices=("papermill", "watched"), default="papermill")
    parser.add_argument("--transport", choices=("tcp", "ipc"), default="tcp")
    parser.add_argument("--cell-timeout", type=int, default=20)
    parser.add_argument("--out", help="write the runs to this JSON file")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.cell_timeout < 2:
        parser.error("--runs must be at least 1 and --cell-timeout at least 2 s")
    root = find_book_root()
    parameters = get_chapter(args.chapter).parameters("smoke")
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        notebook = scratch / "probe.ipynb"
        nbformat.write(probe_notebook(args.chapter, root), notebook)
        for k in range(args.runs):
            run = execute_once(notebook, scratch / "out.ipynb", parameters, cwd=root / "book",
                               client=args.client, transport=args.transport,
                               cell_timeout_s=args.cell_timeout, ipc_dir=scratch)
            runs.append(run)
            print(k, run["wall_s"], run["durations_s"], run["error"] or "",
                  "STALL" if run["stalled"] else "", flush=True)
    summary = {"chapter": args.chapter, "client": args.client, "transport": args.transport,
               "runs": len(runs), "stalls": sum(r["stalled"] for r in runs),
               "runs_with_late_replies": sum(bool(r["late_replies"]) for r in runs)}
    if args.out:
        Path(args.out).write_text(json.dumps({"summary": summary, "runs": runs}, indent=1))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
