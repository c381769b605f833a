"""Bad input to the text loaders of effnotes.data (the cases tests/test_data_text.py does not
already cover): each raises the named error type and the message names the argument."""

import pytest

from effnotes.data.text import (Document, TextCorpus, find_labels, load_text, load_text_data,
                                python_prose, read_labels)


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("one paragraph here\n\nand another one\n", encoding="utf-8")
    return path


def corpus():
    return TextCorpus((Document("0", "some words"),))


CASES = [
    ("min_words text", lambda p: python_prose(min_words="5"), TypeError, "min_words"),
    ("min_words float", lambda p: python_prose(min_words=2.5), TypeError, "min_words"),
    ("min_words bool", lambda p: python_prose(min_words=True), TypeError, "min_words"),
    ("min_words 0", lambda p: python_prose(min_words=0), ValueError, "min_words"),
    ("include_topics text", lambda p: python_prose(include_topics="no"), TypeError,
     "include_topics"),
    ("load_text path int", lambda p: load_text(3), TypeError, "path"),
    ("load_text path None", lambda p: load_text(None), TypeError, "path"),
    ("load_text encoding unknown", lambda p: load_text(p, encoding="klingon"), ValueError,
     "encoding"),
    ("load_text encoding None", lambda p: load_text(p, encoding=None), TypeError, "encoding"),
    ("load_text directory", lambda p: load_text(p.parent), IsADirectoryError, "not a file"),
    ("load_text_data path int", lambda p: load_text_data(3), TypeError, "path"),
    ("load_text_data encoding", lambda p: load_text_data(p, encoding="klingon"), ValueError,
     "encoding"),
    ("find_labels path list", lambda p: find_labels([p]), TypeError, "path"),
    ("read_labels path int", lambda p: read_labels(3, corpus()), TypeError, "path"),
    ("read_labels corpus list", lambda p: read_labels(p, ["a"]), TypeError, "corpus"),
    ("empty corpus", lambda p: TextCorpus(()), ValueError, "corpus"),
]


@pytest.mark.parametrize("call, error, name", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_named(text_file, call, error, name):
    with pytest.raises(error) as raised:
        call(text_file)
    assert name in str(raised.value), str(raised.value)


def test_valid_files_still_load(text_file):
    assert len(load_text(text_file)) == 2
    assert [d.source for d in load_text_data(str(text_file)).documents] == ["0", "1"]
    assert find_labels(text_file) is None
