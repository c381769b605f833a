"""Building the book: execute (or reuse) every chapter at a profile, stage the executed
notebooks beside the book's pages, and run Jupyter Book with warnings as errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from effnotes.book_assets import (ASSETS, STAGE_FOLDER, AssetError, NpmAsset, default_cache_dir,
                                  fetch_asset, install_asset, write_requirejs_paths)
from effnotes.chapters import Chapter, chapters, check_profile
from effnotes.execution import (ChapterRun, execute_chapter, format_runs, read_status,
                                record_status)

STATUS_MARKER = "<!-- execution-status-table -->"
#: Where the execution-status page lists the stored runs (optional in a book).
STORED_MARKER = "<!-- stored-runs-table -->"
#: Where the Claims page lists every chapter's claims (optional in a book).
CLAIMS_MARKER = "<!-- claims-tables -->"
PACKAGE_DIR = Path(__file__).resolve().parent
#: Chapters whose ``ci`` runs train on one torch thread and time nothing, so two of them can
#: share a 2-core build machine without changing a number they report (a test holds them to
#: one thread). :func:`execute_for_book` runs them two at a time, each in its own process,
#: before the chapters that time things, which run alone.
SHARES_THE_CPU = frozenset({"unit_scaling", "cyclic_tradeoff", "mil_ecg"})
#: How many chapters of :data:`SHARES_THE_CPU` run at once.
SIDE_BY_SIDE = 2


def newest_package_mtime(package_dir: Path = PACKAGE_DIR) -> float:
    """Modification time of the newest Python file in the package."""
    return max(path.stat().st_mtime for path in package_dir.rglob("*.py"))


def is_reusable(previous: ChapterRun | None, chapter: Chapter, profile: str, book_root: Path) -> bool:
    """An executed notebook can stand in for a new run if that run succeeded at the same
    profile and parameters and is newer than both the source notebook and the package."""
    if previous is None or previous.status not in ("ok", "reused") or previous.profile != profile:
        return False
    if previous.parameters != chapter.parameters(profile):
        return False
    output = Path(previous.output)
    if not output.is_file():
        return False
    source = chapter.notebook_path(book_root / "book")
    executed_at = output.stat().st_mtime
    return executed_at > source.stat().st_mtime and executed_at > newest_package_mtime()


def execute_for_book(book_root: Path, out_dir: Path, *, profile: str = "ci", reuse: bool = True,
                     log_output: bool = False) -> list[ChapterRun]:
    """Execute every registered chapter (or reuse a fresh earlier run); record the status."""
    check_profile(profile)
    previous = read_status(out_dir)
    runs: dict[str, ChapterRun] = {}
    pending = []
    for chapter in chapters():
        earlier = previous.get(chapter.name)
        if reuse and is_reusable(earlier, chapter, profile, book_root):
            earlier.status = "reused"
            runs[chapter.name] = earlier
            print(f"{chapter.name}: reusing the run of {earlier.finished_utc}", flush=True)
        else:
            pending.append(chapter)
    shared = [c for c in pending if c.name in SHARES_THE_CPU] if profile == "ci" else []
    for run in execute_side_by_side(shared, profile, out_dir, book_root=book_root,
                                    log_output=log_output):
        runs[run.chapter] = run
    for chapter in pending:
        if chapter in shared:
            continue
        print(f"{chapter.name}: executing at profile {profile} ...", flush=True)
        run = execute_chapter(chapter, profile, out_dir, book_root=book_root, log_output=log_output)
        print(f"{chapter.name}: {run.status} in {run.wall_s:.1f} s", flush=True)
        runs[chapter.name] = run
        record_status([run], out_dir)
    return [runs[c.name] for c in chapters() if c.name in runs]


def execute_side_by_side(selected: list[Chapter], profile: str, out_dir: Path, *,
                         book_root: Path, log_output: bool = False,
                         at_once: int = SIDE_BY_SIDE) -> list[ChapterRun]:
    """Execute ``selected`` chapters ``at_once`` at a time, each with ``effnotes run`` in a
    process of its own and a scratch folder of its own (so no two write one status file);
    each executed notebook then moves to ``out_dir`` and its run is recorded there. A process
    that ends without recording its run (it could not reach a kernel, say) gives a failed
    run with its exit code."""
    if not selected:
        return []
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    done: list[ChapterRun] = []
    with tempfile.TemporaryDirectory(dir=out_dir, prefix="side-by-side-") as scratch:
        queue, running = list(selected), {}
        while queue or running:
            while queue and len(running) < at_once:
                chapter = queue.pop(0)
                folder = Path(scratch) / chapter.name
                command = [sys.executable, "-m", "effnotes", "run", chapter.name, "--profile",
                           profile, "--out", str(folder), "--root", str(book_root)]
                if log_output:
                    command.append("--log-output")
                print(f"{chapter.name}: executing at profile {profile} beside another "
                      "chapter ...", flush=True)
                running[chapter.name] = (subprocess.Popen(command), folder, time.perf_counter())
            time.sleep(0.5)
            for name, (process, folder, start) in list(running.items()):
                code = process.poll()
                if code is None:
                    continue
                del running[name]
                run = _collect_run(name, profile, folder, out_dir, code,
                                   time.perf_counter() - start)
                print(f"{name}: {run.status} in {run.wall_s:.1f} s", flush=True)
                record_status([run], out_dir)
                done.append(run)
    return done


def _collect_run(name: str, profile: str, folder: Path, out_dir: Path, code: int,
                 wall_s: float) -> ChapterRun:
    """The run that ``effnotes run`` recorded in ``folder``, its notebook moved to
    ``out_dir``; a failed run naming the exit code when it recorded none."""
    import datetime

    from effnotes.chapters import get_chapter

    run = read_status(folder).get(name)
    if run is None:
        finished = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        return ChapterRun(chapter=name, profile=profile, status="failed", wall_s=wall_s,
                          output=str(out_dir / f"{name}.ipynb"), finished_utc=finished,
                          parameters=get_chapter(name).parameters(profile),
                          error=f"effnotes run exited with code {code} and recorded no run")
    notebook = folder / f"{name}.ipynb"
    if notebook.is_file():
        shutil.move(str(notebook), out_dir / f"{name}.ipynb")
    run.output = str(out_dir / f"{name}.ipynb")
    return run


def _run_note(run: ChapterRun) -> str:
    """Why a chapter needed more than one run, and how many replies came late, or ""."""
    notes = [f"attempt {i} discarded: {reason}" for i, reason in enumerate(run.retry_reasons, 1)]
    if run.late_replies:
        notes.append(f"{run.late_replies} reply(ies) found late, after a missed wake-up")
    return "; ".join(notes).replace("|", "\\|")


def status_table_markdown(runs: list[ChapterRun]) -> str:
    """The execution-status page's table (MyST markdown): every chapter's status, wall time,
    the number of runs it took and why any earlier run was discarded (a stalled, hung or dead
    kernel)."""
    lines = ["| chapter | profile | status | wall time (s) | attempts | finished (UTC) | notes |",
             "|---|---|---|---:|---:|---|---|"]
    for run in runs:
        status = "ok (reused)" if run.status == "reused" else run.status
        lines.append(f"| {run.chapter} | {run.profile} | {status} | {run.wall_s:.1f} | "
                     f"{run.attempts} | {run.finished_utc} | {_run_note(run)} |")
    return "\n".join(lines)


def show_profile_parameters(source: Path, target: Path, profile: str) -> None:
    """Copy an executed notebook, showing the parameters it really ran with: papermill's
    injected cell (labelled with the profile) stays visible and the committed defaults are
    removed from the page, so the two never appear side by side."""
    notebook = nbformat.read(source, as_version=4)
    injected = [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
    if injected:
        for cell in notebook.cells:
            tags = cell.metadata.get("tags", [])
            if "parameters" in tags and "remove-cell" not in tags:
                cell.metadata["tags"] = [*tags, "remove-cell"]
        lines = injected[0].source.splitlines()
        if lines and lines[0].startswith("# Parameters"):
            lines = lines[1:]
        injected[0].source = "\n".join(
            [f"# Parameters of the `{profile}` profile (set by `effnotes run`)", *lines])
    nbformat.write(notebook, target)


def stage_book(book_root: Path, runs: list[ChapterRun], stage_dir: Path) -> Path:
    """Copy the book's sources to ``stage_dir``, put the executed notebooks in place of the
    committed ones and fill in the execution-status page."""
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    stage_dir.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(book_root / name, stage_dir / name)
    shutil.copytree(book_root / "book", stage_dir / "book",
                    ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__"))
    by_name = {c.name: c for c in chapters()}
    for run in runs:
        target = stage_dir / "book" / by_name[run.chapter].notebook
        target.parent.mkdir(parents=True, exist_ok=True)
        show_profile_parameters(Path(run.output), target, run.profile)
    status_page = stage_dir / "book" / "execution.md"
    text = status_page.read_text(encoding="utf-8")
    if STATUS_MARKER not in text:
        raise ValueError(f"{status_page} lacks the marker {STATUS_MARKER!r} for the status table")
    text = text.replace(STATUS_MARKER, status_table_markdown(runs))
    if STORED_MARKER in text:
        text = text.replace(STORED_MARKER, stored_runs_markdown())
    status_page.write_text(text, encoding="utf-8")
    claims_page = stage_dir / "book" / "claims.md"
    if claims_page.is_file():
        text = claims_page.read_text(encoding="utf-8")
        if CLAIMS_MARKER in text:
            text = text.replace(CLAIMS_MARKER, claims_markdown(runs))
            claims_page.write_text(text, encoding="utf-8")
    return stage_dir


def _verdict(row: dict) -> str:
    shown = ("✔ " if row["holds"] else "✘ ") + row["verdict"]
    return shown + ("" if row["enforced"] else " (not enforced)")


def claims_markdown(runs: list[ChapterRun]) -> str:
    """The Claims page (MyST markdown): for each chapter, every claim its page made, with the
    verdict on the page's live run and on each stored run, as the executed notebook judged
    them (read from the notebook's glued record)."""
    from effnotes.notebook import claims_record

    titles = {c.name: c for c in chapters()}
    parts = []
    for run in runs:
        chapter = titles[run.chapter]
        record = claims_record(run.output) if Path(run.output).is_file() else None
        page = chapter.notebook.removesuffix(".ipynb")
        parts.append(f"## [{chapter.title}]({page}.ipynb)\n")
        if record is None:
            parts.append("*This chapter's page left no claims record.*\n")
            continue
        labels = [f"this page ({record['profile']})", *(f"stored {n}" for n in record["stored"])]
        verdicts = {labels[0]: {r["name"]: r for r in record["live"]}}
        for name, rows in record["stored"].items():
            verdicts[f"stored {name}"] = {r["name"]: r for r in rows}
        names = list(dict.fromkeys(n for table in verdicts.values() for n in table))
        held = sum(r["holds"] for r in record["live"])
        parts.append(f"{held} of {len(record['live'])} claims hold on this page's run.\n")
        parts.append("| claim | kind | " + " | ".join(labels) + " |")
        parts.append("|---|---|" + "---|" * len(labels))
        for name in names:
            first = next(t[name] for t in verdicts.values() if name in t)
            cells = [_verdict(verdicts[label][name]) if name in verdicts[label]
                     else "not in this run" for label in labels]
            parts.append("| " + " | ".join(_cell(v) for v in (first["claim"], first["kind"],
                                                                  *cells)) + " |")
        parts.append("")
    return "\n".join(parts)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def stored_runs_markdown() -> str:
    """The execution-status page's table of stored runs (MyST markdown): each run's source,
    its claims judged by today's code, and the files changed since it was stored."""
    from effnotes.stored_runs import status_rows

    rows = status_rows()
    if rows.empty:
        return "*No stored runs yet.*"
    lines = ["| chapter | run | made on | claims judged today | failing | code matched its "
             "commit | code changed since |", "|---|---|---|---|---|---|---|"]
    for row in rows.itertuples():
        lines.append("| " + " | ".join(_cell(v) for v in (
            row.chapter, row.run, row.source, row.claims_today, row.failing,
            row.matched_commit, row.code_changed_since)) + " |")
    return "\n".join(lines)


def run_jupyter_book(source: Path, output_root: Path) -> int:
    """``jupyter-book build`` with nitpicky mode, warnings as errors and keep-going."""
    command = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build",
               str(source), "--path-output", str(output_root), "--builder", "html",
               "-W", "-n", "--keep-going", "--all"]
    print("$", " ".join(command[3:]), flush=True)
    return subprocess.run(command, check=False).returncode


def fetch_book_assets(book_root: Path) -> list[tuple[Path, NpmAsset]]:
    """The verified tarballs of the book's vendored scripts (MathJax, RequireJS, the widgets
    HTML manager), fetched with ``npm pack`` on first use; see :mod:`effnotes.book_assets`."""
    cache_dir = default_cache_dir(book_root)
    return [(fetch_asset(asset, cache_dir), asset) for asset in ASSETS]


def build_book(book_root: Path, *, profile: str = "ci", reuse: bool = True,
               log_output: bool = False) -> int:
    """Fetch the book's offline scripts, execute or reuse every chapter, then build
    ``_build/html``. Returns an exit code: non-zero if a script could not be fetched, any
    chapter failed (named with its failing cell) or Sphinx warned."""
    build_dir = book_root / "_build"
    try:
        tarballs = fetch_book_assets(book_root)  # before hours of chapters, not after
    except AssetError as error:
        print(f"the book was not built: {error}", file=sys.stderr)
        return 1
    runs = execute_for_book(book_root, build_dir / "executed", profile=profile, reuse=reuse,
                            log_output=log_output)
    print(format_runs(runs), flush=True)
    if not all(run.ok for run in runs):
        print("the book was not built: a chapter failed", file=sys.stderr)
        return 1
    stage = stage_book(book_root, runs, build_dir / "stage")
    for tarball, asset in tarballs:
        install_asset(tarball, asset, stage / STAGE_FOLDER)
    write_requirejs_paths(stage / STAGE_FOLDER)
    code = run_jupyter_book(stage, book_root)
    if code == 0:
        print(f"built {build_dir / 'html' / 'index.html'}")
    return code
