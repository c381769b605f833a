"""Executing notebooks, the status record, the CLI and the book's staging, on a tiny book."""

from dataclasses import dataclass
import json
import os
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from effnotes import build, chapters, cli, execution
from effnotes.chapters import Chapter


def tiny_book(root, body="print(x * 2)"):
    (root / "book").mkdir(parents=True)
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n")
    (root / "_config.yml").write_text("title: tiny\n")
    (root / "book" / "execution.md").write_text(f"# Status\n\n{build.STATUS_MARKER}\n")
    notebook = new_notebook(cells=[new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                                   new_code_cell("y = 3"), new_code_cell(body)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, root / "book" / "tiny.ipynb")
    return Chapter("tiny", "Tiny", "tiny.ipynb", "none", "tiny",
                   {"smoke": TinyProfile(5), "ci": TinyProfile(1), "gpu": TinyProfile(2)})


@dataclass(frozen=True)
class TinyProfile:
    x: int


@pytest.fixture
def registry(monkeypatch):
    """An empty chapter registry for the test (the real one comes back afterwards). The book's
    chapter packages are imported first, so that none registers itself into the empty one."""
    chapters.chapters()
    monkeypatch.setattr(chapters, "_REGISTRY", {})
    return chapters._REGISTRY


def outputs_text(path):
    notebook = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)


def test_execute_chapter_injects_the_profile(tmp_path):
    chapter = tiny_book(tmp_path / "repo")
    run = execution.execute_chapter(chapter, "smoke", tmp_path / "out", book_root=tmp_path / "repo")
    assert run.ok and run.status == "ok" and run.wall_s > 0 and run.parameters == {"x": 5}
    assert "10" in outputs_text(run.output)


def test_failing_chapter_names_its_cell(tmp_path):
    chapter = tiny_book(tmp_path / "repo", body="raise RuntimeError('claim does not hold')")
    run = execution.execute_chapter(chapter, "ci", tmp_path / "out", book_root=tmp_path / "repo")
    assert not run.ok and run.status == "failed"
    assert run.error == "RuntimeError: claim does not hold"
    assert run.failing_source.startswith("raise RuntimeError")
    message = run.describe_failure()
    assert "'tiny'" in message and f"cell {run.failing_cell}" in message
    assert "failed" in execution.format_runs([run]) and message in execution.format_runs([run])


def test_missing_notebook(tmp_path):
    chapter = tiny_book(tmp_path / "repo")
    (tmp_path / "repo" / "book" / "tiny.ipynb").unlink()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        execution.execute_chapter(chapter, "ci", tmp_path / "out", book_root=tmp_path / "repo")


def test_status_record_merges(tmp_path):
    def run(name, status):
        return execution.ChapterRun(name, "ci", status, 1.0, "x.ipynb", "now", {})
    execution.record_status([run("a", "ok"), run("b", "failed")], tmp_path)
    execution.record_status([run("b", "ok")], tmp_path)
    status = execution.read_status(tmp_path)
    assert {k: v.status for k, v in status.items()} == {"a": "ok", "b": "ok"}
    assert execution.read_status(tmp_path / "nowhere") == {}


def test_find_book_root(tmp_path):
    tiny_book(tmp_path / "repo")
    (tmp_path / "repo" / "book" / "deep").mkdir()
    assert execution.find_book_root(tmp_path / "repo" / "book" / "deep") == (tmp_path / "repo").resolve()


def test_cli_run_table_and_exit_codes(tmp_path, registry, capsys):
    chapters.register(tiny_book(tmp_path / "repo"))
    code = cli.main(["run", "tiny", "--profile", "smoke", "--out", str(tmp_path / "out"),
                     "--root", str(tmp_path / "repo")])
    printed = capsys.readouterr().out
    assert code == 0 and "tiny" in printed and "smoke" in printed and " ok " in printed
    assert cli.main(["run", "nope", "--root", str(tmp_path / "repo")]) == 2
    assert "no chapter named 'nope'" in capsys.readouterr().err


def test_cli_run_fails_on_a_failing_chapter(tmp_path, registry, capsys):
    chapters.register(tiny_book(tmp_path / "repo", body="assert y == 4, 'y is not 4'"))
    code = cli.main(["run", "--profile", "ci", "--out", str(tmp_path / "out"),
                     "--root", str(tmp_path / "repo")])
    printed = capsys.readouterr().out
    assert code == 1
    assert "chapter 'tiny' failed at cell" in printed and "AssertionError: y is not 4" in printed


def test_cli_list(capsys):
    assert cli.main(["list"]) == 0
    printed = capsys.readouterr().out
    assert "speedup" in printed and "book/speedup.ipynb" in printed and "smoke, ci, gpu" in printed


def test_reuse_rules(tmp_path, registry):
    root = tmp_path / "repo"
    chapter = tiny_book(root)
    chapters.register(chapter)
    out = tmp_path / "out"
    run = execution.execute_chapter(chapter, "ci", out, book_root=root)
    future = time.time() + 3600
    os.utime(run.output, (future, future))  # newer than the notebook and the package
    assert build.is_reusable(run, chapter, "ci", root)
    assert not build.is_reusable(run, chapter, "smoke", root)
    assert not build.is_reusable(None, chapter, "ci", root)
    failed = execution.ChapterRun(**{**run.__dict__, "status": "failed"})
    assert not build.is_reusable(failed, chapter, "ci", root)
    os.utime(run.output, (1, 1))  # older than its source
    assert not build.is_reusable(run, chapter, "ci", root)


def test_execute_for_book_reuses_fresh_runs(tmp_path, registry):
    root = tmp_path / "repo"
    chapters.register(tiny_book(root))
    out = tmp_path / "out"
    first = build.execute_for_book(root, out, profile="ci")
    assert [r.status for r in first] == ["ok"]
    future = time.time() + 3600
    os.utime(first[0].output, (future, future))
    second = build.execute_for_book(root, out, profile="ci")
    assert [r.status for r in second] == ["reused"]
    third = build.execute_for_book(root, out, profile="ci", reuse=False)
    assert [r.status for r in third] == ["ok"]
    assert json.loads((out / "status.json").read_text())["tiny"]["status"] == "ok"


def test_stage_book_fills_the_status_page(tmp_path, registry):
    root = tmp_path / "repo"
    chapters.register(tiny_book(root))
    runs = build.execute_for_book(root, tmp_path / "out", profile="ci")
    stage = build.stage_book(root, runs, tmp_path / "stage")
    page = (stage / "book" / "execution.md").read_text()
    assert build.STATUS_MARKER not in page and "| tiny | ci | ok |" in page
    staged = nbformat.read(stage / "book" / "tiny.ipynb", as_version=4)
    assert any(c.get("outputs") for c in staged.cells if c.cell_type == "code")
    by_tag = {tag: c for c in staged.cells for tag in c.metadata.get("tags", [])}
    assert "remove-cell" in by_tag["parameters"].metadata["tags"]  # defaults hidden ...
    injected = by_tag["injected-parameters"]  # ... the values it ran with shown, labelled
    assert injected.source.startswith("# Parameters of the `ci` profile") and "x = 1" in injected.source
    (root / "book" / "execution.md").write_text("# Status\n")
    with pytest.raises(ValueError, match="marker"):
        build.stage_book(root, runs, tmp_path / "stage")


def test_build_stops_before_sphinx_when_a_chapter_fails(tmp_path, registry, monkeypatch):
    root = tmp_path / "repo"
    chapters.register(tiny_book(root, body="1 / 0"))
    monkeypatch.setattr(build, "fetch_book_assets", lambda root: [])
    monkeypatch.setattr(build, "run_jupyter_book", lambda *a: pytest.fail("must not build"))
    assert build.build_book(root, profile="ci") == 1


def test_a_stuck_cell_fails_instead_of_hanging(tmp_path):
    chapter = tiny_book(tmp_path / "repo", body="import time; time.sleep(30)")
    run = execution.execute_chapter(chapter, "ci", tmp_path / "out", book_root=tmp_path / "repo",
                                    cell_timeout_s=2)
    assert not run.ok and run.wall_s < 25
    assert "timed out" in run.error.lower() or "timeout" in run.error.lower(), run.error
    assert run.attempts == 2 and "after 2 attempts" in run.describe_failure()


def test_a_failing_claim_is_not_retried(tmp_path):
    chapter = tiny_book(tmp_path / "repo", body="assert 1 + 1 == 3, 'arithmetic'")
    run = execution.execute_chapter(chapter, "ci", tmp_path / "out", book_root=tmp_path / "repo")
    assert not run.ok and run.attempts == 1 and "arithmetic" in run.error
    with pytest.raises(ValueError, match="hang_retries"):
        execution.execute_chapter(chapter, "ci", tmp_path / "out", book_root=tmp_path / "repo",
                                  hang_retries=-1)


# A cell that makes its kernel drop the cell's own execute_reply (the kernel still goes idle),
# as a kernel that loses a reply does; only on the first attempt when ``once`` (a marker file).
DROP_REPLY = """
import os
kernel = get_ipython().kernel
send = kernel.session.send
def drop_execute_reply(stream, msg_or_type, *args, **kwargs):
    if msg_or_type == "execute_reply":
        kernel.session.send = send
        return None
    return send(stream, msg_or_type, *args, **kwargs)
if not os.path.exists({marker!r}):
    open({marker!r}, "w").close()
    kernel.session.send = drop_execute_reply
"""


def test_a_kernel_idle_without_reply_is_a_stall_retried_once(tmp_path):
    chapter = tiny_book(tmp_path / "repo", body=DROP_REPLY.format(marker=str(tmp_path / "m")))
    start = time.perf_counter()
    run = execution.execute_chapter(chapter, "ci", tmp_path / "out", book_root=tmp_path / "repo",
                                    cell_timeout_s=120, stall_after_s=2)
    assert time.perf_counter() - start < 100  # not waited out to the cell timeout
    assert run.ok and run.attempts == 2, run
    assert len(run.retry_reasons) == 1 and "went idle without replying" in run.retry_reasons[0]
    assert "attempt 1 discarded" in execution.format_runs([run])
    assert "went idle without replying" in build.status_table_markdown([run])
    assert execution.read_status(tmp_path / "nowhere") == {}
    execution.record_status([run], tmp_path / "out")
    assert execution.read_status(tmp_path / "out")["tiny"].retry_reasons == run.retry_reasons


def test_a_kernel_that_always_stalls_fails_after_two_attempts(tmp_path):
    chapter = tiny_book(tmp_path / "repo", body=DROP_REPLY.replace("if not os.path.exists",
                                                                   "if True or os.path.exists")
                        .format(marker=str(tmp_path / "m")))
    run = execution.execute_chapter(chapter, "ci", tmp_path / "out", book_root=tmp_path / "repo",
                                    cell_timeout_s=120, stall_after_s=1)
    assert not run.ok and run.attempts == 2 and "KernelStallError" in run.error
    assert run.failing_cell is None and "after 2 attempts" in run.describe_failure()


def test_without_loopback_the_run_says_so(tmp_path, monkeypatch):
    chapter = tiny_book(tmp_path / "repo")

    def refuse(*args, **kwargs):
        raise OSError(99, "Cannot assign requested address")
    monkeypatch.setattr(execution.socket.socket, "bind", refuse)
    with pytest.raises(execution.KernelConnectionError, match="loopback"):
        execution.execute_chapter(chapter, "ci", tmp_path / "out", book_root=tmp_path / "repo")


def test_chapters_that_share_the_cpu_train_on_one_thread():
    for name in build.SHARES_THE_CPU:
        assert chapters.get_chapter(name).profile("ci").torch_threads == 1, name


class FakeRun:
    """Stands in for an ``effnotes run`` process: records a run (or none) in its --out folder."""

    started = []

    def __init__(self, command):
        name, folder = command[4], command[command.index("--out") + 1]
        FakeRun.started.append(name)
        self.code = 0 if name != "silent" else 2
        if self.code == 0:
            from pathlib import Path
            Path(folder).mkdir(parents=True)
            (Path(folder) / f"{name}.ipynb").write_text("{}")
            execution.record_status([execution.ChapterRun(name, "ci", "ok", 1.0, "x", "now", {})],
                                    Path(folder))

    def poll(self):
        return self.code


def test_side_by_side_runs_collect_each_process_run(tmp_path, registry, monkeypatch):
    monkeypatch.setattr(build.subprocess, "Popen", FakeRun)
    for name in ("one", "two", "silent"):
        chapters.register(Chapter(name, name, f"{name}.ipynb", "none", name,
                                  {"smoke": TinyProfile(5), "ci": TinyProfile(1),
                                   "gpu": TinyProfile(2)}))
    FakeRun.started = []
    runs = build.execute_side_by_side([chapters.get_chapter(n) for n in ("one", "two", "silent")],
                                      "ci", tmp_path / "out", book_root=tmp_path)
    assert FakeRun.started == ["one", "two", "silent"]
    by_name = {r.chapter: r for r in runs}
    assert by_name["one"].ok and (tmp_path / "out" / "one.ipynb").is_file()
    assert by_name["one"].output == str(tmp_path / "out" / "one.ipynb")
    assert not by_name["silent"].ok and "code 2" in by_name["silent"].error
    recorded = json.loads((tmp_path / "out" / "status.json").read_text())
    assert set(recorded) == {"one", "two", "silent"}
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith("side-by-side")]
