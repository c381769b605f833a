"""Executing chapter notebooks with papermill at a profile, and recording how it went."""

from __future__ import annotations

import datetime as _dt
import json
import time
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path

from effnotes.chapters import Chapter, check_profile, get_chapter

STATUS_FILE = "status.json"


def is_book_root(folder: Path) -> bool:
    """Whether ``folder`` holds the book: a ``_toc.yml`` beside a ``book/`` folder."""
    folder = Path(folder)
    return (folder / "_toc.yml").is_file() and (folder / "book").is_dir()


def find_book_root(start: Path | None = None) -> Path:
    """The repository root holding ``_toc.yml`` and ``book/``: searched upwards from ``start``
    (default: the working directory), then beside the imported package."""
    candidates = []
    here = Path(start or Path.cwd()).resolve()
    candidates.extend([here, *here.parents])
    candidates.append(Path(__file__).resolve().parent.parent)
    for folder in candidates:
        if is_book_root(folder):
            return folder
    raise FileNotFoundError("could not find the book (a folder with _toc.yml and book/); run from a "
                            "clone of the effnotes repository or pass --root")


def check_book_root(root: Path | str) -> Path:
    """``root`` itself, resolved, if it is the book's root; a clear error otherwise (an explicit
    root is never replaced by another one found elsewhere)."""
    path = Path(root).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"--root {root}: no such folder")
    if not path.is_dir():
        raise NotADirectoryError(f"--root {root}: not a folder")
    if not is_book_root(path):
        raise FileNotFoundError(f"--root {root}: not the book's root (expected _toc.yml and a "
                                "book/ folder in it)")
    return path.resolve()


@dataclass
class ChapterRun:
    """The outcome of executing one chapter: ``status`` is ``ok``, ``failed`` or ``reused``.

    ``attempts`` counts the runs it took; ``retry_reasons`` says why each earlier run was
    thrown away (a stalled, hung or dead kernel); ``late_replies`` counts the cell replies that
    were found late, by a direct check of the socket after a missed wake-up (each cost at most
    a second; see :mod:`effnotes.kernel_client`)."""

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
    retry_reasons: list[str] = field(default_factory=list)
    late_replies: int = 0

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
#: How many times a chapter is run again from scratch when its kernel stalled (went idle for
#: a cell without replying, for :data:`STALL_AFTER_S`), hung (a cell timed out) or died. A
#: failed claim is never retried.
HANG_RETRIES = 1
#: Seconds a kernel may stay idle for a cell without sending the cell's reply before the cell
#: counts as stalled (instead of being waited out to the cell timeout).
STALL_AFTER_S = 60.0
LOOPBACK_HELP = ("the notebooks' kernels talk to this process over TCP on 127.0.0.1 and "
                 "cannot start without a loopback interface; the chapters need no network, but "
                 "they need that (in a container or `unshare -n`, run `ip link set lo up`)")


class KernelConnectionError(RuntimeError):
    """A notebook kernel cannot be reached (no loopback interface, or it never answered)."""


def check_loopback() -> None:
    """Raise :class:`KernelConnectionError` unless a TCP connection to 127.0.0.1 works, which
    every kernel needs to talk to the process running its notebook."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            with socket.create_connection(server.getsockname(), timeout=5):
                pass
    except OSError as error:
        raise KernelConnectionError(f"no loopback connection ({error}): {LOOPBACK_HELP}") from None


def execute_chapter(chapter: Chapter | str, profile: str, out_dir: Path, *, book_root: Path,
                    log_output: bool = False, cell_timeout_s: int | None = None,
                    hang_retries: int = HANG_RETRIES,
                    stall_after_s: float = STALL_AFTER_S) -> ChapterRun:
    """Run ``chapter``'s notebook with papermill at ``profile``; the executed notebook is
    written to ``out_dir/<chapter>.ipynb`` (with outputs, also when a cell fails). A cell
    running longer than ``cell_timeout_s`` (default: :data:`CELL_TIMEOUT_S` for the profile)
    fails the chapter, so a stuck kernel never hangs a build; a chapter whose kernel hung or
    died, or that stalled (its kernel idle for a cell without replying for ``stall_after_s``
    seconds), is run again from scratch up to ``hang_retries`` times (``attempts`` says how
    many runs it took, ``retry_reasons`` why). A failing assertion or any other error is not
    retried. Raises :class:`KernelConnectionError` when no kernel can be reached."""
    if isinstance(hang_retries, bool) or not isinstance(hang_retries, int) or hang_retries < 0:
        raise ValueError(f"hang_retries must be an integer of at least 0, got {hang_retries!r}")
    if cell_timeout_s is not None and not (isinstance(cell_timeout_s, (int, float))
                                           and cell_timeout_s > 0):
        raise ValueError(f"cell_timeout_s must be a positive number of seconds, got "
                         f"{cell_timeout_s!r}")
    if not (isinstance(stall_after_s, (int, float)) and stall_after_s > 0):
        raise ValueError(f"stall_after_s must be a positive number of seconds, got "
                         f"{stall_after_s!r}")
    check_profile(profile)
    check_loopback()
    timeout = CELL_TIMEOUT_S[profile] if cell_timeout_s is None else cell_timeout_s
    reasons: list[str] = []
    late = 0
    for attempt in range(1, hang_retries + 2):
        run, hung = _execute_once(chapter, profile, out_dir, book_root=book_root,
                                  log_output=log_output, cell_timeout_s=timeout,
                                  stall_after_s=stall_after_s)
        run.attempts = attempt
        late += run.late_replies
        run.late_replies, run.retry_reasons = late, list(reasons)
        if not hung:
            break
        reasons.append(run.error or "kernel hung")
    return run


def _execute_once(chapter: Chapter | str, profile: str, out_dir: Path, *, book_root: Path,
                  log_output: bool, cell_timeout_s: float,
                  stall_after_s: float) -> tuple[ChapterRun, bool]:
    """One papermill run of ``chapter``; returns the run and whether its kernel stalled, hung
    or died."""
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    from effnotes.kernel_client import ENGINE_NAME, KernelStallError, WatchedEngine

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
                                   execution_timeout=cell_timeout_s, engine_name=ENGINE_NAME,
                                   stall_after_s=float(stall_after_s))
    except PapermillExecutionError as error:
        run.status = "failed"
        run.failing_cell = error.exec_count
        first_line = next((line for line in str(error.source).splitlines() if line.strip()), "")
        run.failing_source = first_line[:120]
        run.error = f"{error.ename}: {error.evalue}"
    except Exception as error:  # the kernel stalled, hung or died, the notebook is malformed, ...
        run.status = "failed"
        if isinstance(error, RuntimeError) and "didn't respond" in str(error):
            error = KernelConnectionError(f"{error}; {LOOPBACK_HELP}")
        run.error = f"{type(error).__name__}: {_first_line(error)}"
        if isinstance(error, KernelStallError):
            run.error = (f"KernelStallError: the kernel went idle without replying for "
                         f"{stall_after_s:g} s")
        hung = isinstance(error, (CellTimeoutError, DeadKernelError))
    client = WatchedEngine.last_client
    run.late_replies = len(client.late_replies) if client is not None else 0
    WatchedEngine.last_client = None
    run.wall_s = time.perf_counter() - start
    run.finished_utc = _now()
    return run, hung


def _first_line(error: BaseException) -> str:
    """The first non-empty line of an error's message (cell timeouts quote the whole cell)."""
    return next((line for line in str(error).splitlines() if line.strip()), "")


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
    """A plain-text table: chapter, profile, status, wall time, attempts; failures and retries
    spelled out below."""
    header = f"{'chapter':<20} {'profile':<8} {'status':<8} {'wall time':>10} {'attempts':>8}"
    lines = [header, "-" * len(header)]
    for run in runs:
        lines.append(f"{run.chapter:<20} {run.profile:<8} {run.status:<8} {run.wall_s:>9.1f}s "
                     f"{run.attempts:>8}")
    notes = [f"chapter {run.chapter!r}: attempt {i} discarded: {reason}"
             for run in runs for i, reason in enumerate(run.retry_reasons, 1)]
    notes += [run.describe_failure() for run in runs if not run.ok]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)
