"""Bad input to the command line, the chapter registry and chapter execution: each case
fails with a named error (or exit code 2 and a message naming the option) before any kernel
starts."""

from dataclasses import dataclass

import pytest

from effnotes import chapters, cli, execution
from effnotes.chapters import Chapter, check_profile, get_chapter


@dataclass(frozen=True)
class Tiny:
    xs: tuple = ()


def tiny_chapter():
    return Chapter("tiny", "Tiny", "tiny.ipynb", "none", "tiny",
                   {"smoke": Tiny((1, 2)), "ci": Tiny((3,)), "gpu": Tiny()})


CASES = [
    ("hang_retries -1", lambda p: execution.execute_chapter(tiny_chapter(), "ci", p, book_root=p,
                                                            hang_retries=-1),
     ValueError, "hang_retries"),
    ("hang_retries float", lambda p: execution.execute_chapter(tiny_chapter(), "ci", p,
                                                               book_root=p, hang_retries=1.5),
     ValueError, "hang_retries"),
    ("cell_timeout_s 0", lambda p: execution.execute_chapter(tiny_chapter(), "ci", p, book_root=p,
                                                             cell_timeout_s=0),
     ValueError, "cell_timeout_s"),
    ("stall_after_s -1", lambda p: execution.execute_chapter(tiny_chapter(), "ci", p,
                                                             book_root=p, stall_after_s=-1),
     ValueError, "stall_after_s"),
    ("profile", lambda p: execution.execute_chapter(tiny_chapter(), "fast", p, book_root=p),
     ValueError, "profile"),
    ("profile none", lambda p: check_profile(None), ValueError, "profile"),
    ("chapter name", lambda p: get_chapter("nope"), KeyError, "nope"),
    ("chapter profiles", lambda p: Chapter("x", "X", "x.ipynb", "none", "x", {"ci": Tiny()}), ValueError,
     "profiles"),
    ("root missing", lambda p: execution.check_book_root(p / "nowhere"), FileNotFoundError,
     "--root"),
    ("root a file", lambda p: execution.check_book_root(p / "f"), NotADirectoryError, "--root"),
    ("root not a book", lambda p: execution.check_book_root(p), FileNotFoundError, "--root"),
]


@pytest.mark.parametrize("call, error, name", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_named(tmp_path, call, error, name):
    (tmp_path / "f").write_text("")
    with pytest.raises(error) as raised:
        call(tmp_path)
    assert name in str(raised.value), str(raised.value)


@pytest.mark.parametrize("command", ["run", "build"])
@pytest.mark.parametrize("root", ["/nonexistent", "{tmp}/f", "{tmp}"])
def test_a_bad_root_is_refused_not_ignored(tmp_path, capsys, command, root, monkeypatch):
    (tmp_path / "f").write_text("")
    monkeypatch.setattr(execution, "execute_chapter",
                        lambda *a, **k: pytest.fail("must not execute anything"))
    assert cli.main([command, "--root", root.format(tmp=tmp_path)]) == 2
    assert "--root" in capsys.readouterr().err


def test_parameters_are_a_deep_copy():
    chapter = chapters.get_chapter("cyclic_tradeoff")
    params = chapter.parameters("smoke")
    params["methods"].append("extra")
    assert "extra" not in chapter.parameters("smoke")["methods"]
    own = tiny_chapter()
    own.parameters("smoke")["xs"].append(3)
    assert own.parameters("smoke")["xs"] == [1, 2]
