"""Executing chapter notebooks with papermill at a profile, and recording how it went."""

from __future__ import annotations

import datetime as _dt
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from effnotes.chapters import Chapter, check_profile, get_chapter

STATUS_FILE = "status.json"


def find_book_root(start: Path | None = None) -> Path:
    """The repository root holding ``_toc.yml`` and ``book/``: searched upwards from ``start``
    (default: the working directory), then beside the imported package."""
    candidates = []
    here = Path(start or Path.cwd()).resolve()
    candidates.extend([here, *here.parents])
    candidates.append(Path(__file__).resolve().parent.parent)
    for folder in candidates:
        if (folder / "_toc.yml").is_file() and (folder / "book").is_dir():
            return folder
    raise FileNotFoundError("could not find the book (a folder with _toc.yml and book/); run from a "
                            "clone of the effnotes repository or pass --root")


@dataclass
class ChapterRun:
    """The outcome of executing one chapter: ``status`` is ``ok``, ``failed`` or ``reused``."""

    chapter: str
    profile: str
    status: str
    wall_s: float
    output: str
    finished_utc: str
    parameters: dict
    failing_cell: int | None = None
    failing_source: str | None = None
    error: str | None = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "reused")

    def describe_failure(self) -> str:
        if self.ok:
            return ""
        where = f"cell {self.failing_cell}" if self.failing_cell is not None else "before any cell"
        source = f" [{self.failing_source}]" if self.failing_source else ""
        tries = f" (after {self.attempts} attempts)" if self.attempts > 1 else ""
        return f"chapter {self.chapter!r} failed at {where}{source}: {self.error}{tries}"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


#: A cell that runs longer than this (seconds, per profile) fails its chapter instead of
#: hanging it. Smoke chapters take well under a minute in all; a ci cell at most a few.
CELL_TIMEOUT_S = {"smoke": 300, "ci": 900, "gpu": 7200}
#: How many times a chapter is run again from scratch when its kernel hung (a cell timed
#: out) or died: on rare occasions a kernel executing a widget cell goes idle without ever
#: sending its reply, which no rerun of the same code reproduces. A failed claim is never
#: retried.
HANG_RETRIES = 1


def execute_chapter(chapter: Chapter | str, profile: str, out_dir: Path, *, book_root: Path,
                    log_output: bool = False, cell_timeout_s: int | None = None,
                    hang_retries: int = HANG_RETRIES) -> ChapterRun:
    """Run ``chapter``'s notebook with papermill at ``profile``; the executed notebook is
    written to ``out_dir/<chapter>.ipynb`` (with outputs, also when a cell fails). A cell
    running longer than ``cell_timeout_s`` (default: :data:`CELL_TIMEOUT_S` for the profile)
    fails the chapter, so a stuck kernel never hangs a build; a chapter whose kernel hung or
    died is run again from scratch up to ``hang_retries`` times (``attempts`` says how many
    runs it took). A failing assertion or any other error is not retried."""
    if hang_retries < 0:
        raise ValueError(f"hang_retries must be at least 0, got {hang_retries}")
    check_profile(profile)
    timeout = CELL_TIMEOUT_S[profile] if cell_timeout_s is None else cell_timeout_s
    for attempt in range(1, hang_retries + 2):
        run, hung = _execute_once(chapter, profile, out_dir, book_root=book_root,
                                  log_output=log_output, cell_timeout_s=timeout)
        run.attempts = attempt
        if not hung:
            break
    return run


def _execute_once(chapter: Chapter | str, profile: str, out_dir: Path, *, book_root: Path,
                  log_output: bool, cell_timeout_s: int) -> tuple[ChapterRun, bool]:
    """One papermill run of ``chapter``; returns the run and whether its kernel hung or died."""
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    hung = False
    chapter = get_chapter(chapter) if isinstance(chapter, str) else chapter
    notebook = chapter.notebook_path(Path(book_root) / "book")
    if not notebook.is_file():
        raise FileNotFoundError(f"chapter {chapter.name!r}: notebook {notebook} does not exist")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / f"{chapter.name}.ipynb"
    parameters = chapter.parameters(profile)
    run = ChapterRun(chapter=chapter.name, profile=profile, status="ok", wall_s=0.0,
                     output=str(output), finished_utc="", parameters=parameters)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(str(notebook), str(output), parameters=parameters,
                                   kernel_name="python3", cwd=str(notebook.parent),
                                   progress_bar=False, log_output=log_output,
                                   execution_timeout=cell_timeout_s)
    except PapermillExecutionError as error:
        run.status = "failed"
        run.failing_cell = error.exec_count
        first_line = next((line for line in str(error.source).splitlines() if line.strip()), "")
        run.failing_source = first_line[:120]
        run.error = f"{error.ename}: {error.evalue}"
    except Exception as error:  # the kernel hung or died, the notebook is malformed, ...
        run.status = "failed"
        run.error = f"{type(error).__name__}: {error}"
        hung = isinstance(error, (CellTimeoutError, DeadKernelError))
    run.wall_s = time.perf_counter() - start
    run.finished_utc = _now()
    return run, hung


def read_status(out_dir: Path) -> dict[str, ChapterRun]:
    """The last recorded run of each chapter in ``out_dir`` (empty if none)."""
    path = Path(out_dir) / STATUS_FILE
    if not path.is_file():
        return {}
    records = json.loads(path.read_text(encoding="utf-8"))
    return {name: ChapterRun(**record) for name, record in records.items()}


def record_status(runs: list[ChapterRun], out_dir: Path) -> Path:
    """Merge ``runs`` into ``out_dir/status.json``."""
    status = read_status(out_dir)
    status.update({run.chapter: run for run in runs})
    path = Path(out_dir) / STATUS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: asdict(v) for k, v in status.items()}, indent=1) + "\n",
                    encoding="utf-8")
    return path


def format_runs(runs: list[ChapterRun]) -> str:
    """A plain-text table: chapter, profile, status, wall time; failures spelled out below."""
    header = f"{'chapter':<20} {'profile':<8} {'status':<8} {'wall time':>10}"
    lines = [header, "-" * len(header)]
    for run in runs:
        lines.append(f"{run.chapter:<20} {run.profile:<8} {run.status:<8} {run.wall_s:>9.1f}s")
    failures = [run.describe_failure() for run in runs if not run.ok]
    if failures:
        lines += ["", *failures]
    return "\n".join(lines)
