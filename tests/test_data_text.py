"""A reader's own text: a folder or a file, labels from CSV or JSONL, the probe from them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from effnotes.data.paths import DATA_ENV
from effnotes.data.text import find_labels, load_text_data, read_labels

WORDS = {"sea": "wave tide salt shore boat sail fish harbour current deep",
         "hill": "rock stone grass path slope summit cliff valley ridge climb"}


def _folder(root, n=30, words=60, seed=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        topic = "sea" if i % 2 == 0 else "hill"
        vocab = WORDS[topic].split()
        (root / f"doc{i:02d}.txt").write_text(" ".join(rng.choice(vocab, words)) + "\n")
        names.append((f"doc{i:02d}.txt", topic))
    return names


def test_folder_documents_and_csv_labels(tmp_path):
    names = _folder(tmp_path / "corpus", n=4, words=5)
    (tmp_path / "corpus" / "sub").mkdir()
    (tmp_path / "corpus" / "sub" / "extra.txt").write_text("one more document here\n")
    corpus = load_text_data(tmp_path / "corpus")
    assert [d.source for d in corpus.documents] == [n for n, _ in names] + ["sub/extra.txt"]
    labels = tmp_path / "corpus" / "labels.csv"
    labels.write_text("document,label\n" + "".join(f"{n},{t}\n" for n, t in names)
                      + "sub/extra.txt,sea\n")
    assert find_labels(tmp_path / "corpus") == labels
    assert read_labels(labels, corpus) == ("sea", "hill", "sea", "hill", "sea")


def test_file_paragraphs_and_jsonl_labels(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("first doc\n\nsecond doc\n\n\nthird doc\n")
    corpus = load_text_data(text)
    assert [d.source for d in corpus.documents] == ["0", "1", "2"]
    labels = tmp_path / "notes.labels.jsonl"
    labels.write_text("\n".join(json.dumps({"document": str(i), "label": lab})
                                for i, lab in enumerate(["a", "b", "a"])) + "\n")
    assert find_labels(text) == labels
    assert read_labels(labels, corpus) == ("a", "b", "a")


def test_text_bad_inputs_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="no text file or folder at .*nothing"):
        load_text_data(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty holds no non-empty .txt file"):
        load_text_data(tmp_path / "empty")
    names = _folder(tmp_path / "c", n=3, words=4)
    corpus = load_text_data(tmp_path / "c")
    bad = tmp_path / "unknown.csv"
    bad.write_text("document,label\n" + "".join(f"{n},{t}\n" for n, t in names) + "ghost.txt,sea\n")
    with pytest.raises(ValueError, match="labels document 'ghost.txt', which is not in the corpus"):
        read_labels(bad, corpus)
    short = tmp_path / "short.csv"
    short.write_text("document,label\ndoc00.txt,sea\n")
    with pytest.raises(ValueError, match="no label for 2 of 3 documents"):
        read_labels(short, corpus)
    header = tmp_path / "header.csv"
    header.write_text("name,class\ndoc00.txt,sea\n")
    with pytest.raises(ValueError, match="columns document,label"):
        read_labels(header, corpus)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"document": "doc00.txt"}\n')
    with pytest.raises(ValueError, match="broken.jsonl line 1"):
        read_labels(broken, corpus)
    with pytest.raises(FileNotFoundError, match="no labels file at .*absent.csv"):
        read_labels(tmp_path / "absent.csv", corpus)


@pytest.fixture
def smoke_profile():
    from effnotes.chapters import get_chapter
    from effnotes.contract import profile_with

    return profile_with(get_chapter("masking_schedules").profile("smoke"), seeds=2, steps=6,
                        eval_every=3, n_eval=8, vocab_size=128)


def test_masking_runs_on_a_user_corpus_with_and_without_labels(tmp_path, monkeypatch,
                                                               smoke_profile):
    pytest.importorskip("tokenizers")
    from effnotes.contract import profile_with
    from effnotes.masking.claims import claims
    from effnotes.masking.experiment import prepare_data, run

    names = _folder(tmp_path / "text", n=40, words=80)
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    profile = profile_with(smoke_profile, data_path="text")
    unlabelled = prepare_data(profile)
    assert unlabelled["task_train"] is None
    assert "probe is skipped: no labels file goes with" in unlabelled["probe_skipped"]
    result = run(profile)
    assert "probe is skipped" in result["probe_skipped"]
    assert result["runs"]["probe_accuracy"].isna().all() and result["probes"].empty
    table = claims(result, profile).set_index("name")
    assert np.isnan(table.loc["probe_beats_majority", "value"])
    assert table.loc[table["kind"] == "correctness", "holds"].all()
    (tmp_path / "text" / "labels.csv").write_text(
        "document,label\n" + "".join(f"{n},{t}\n" for n, t in names))
    labelled = prepare_data(profile)
    assert labelled["task_train"].classes == ("hill", "sea")
    result = run(profile)
    assert "probe_skipped" not in result
    assert result["runs"]["probe_accuracy"].between(0, 1).all()


def test_unit_scaling_reads_bytes_from_data_path(tmp_path, monkeypatch):
    from effnotes.chapters import get_chapter
    from effnotes.contract import profile_with
    from effnotes.unit_scaling.experiment import load_data

    _folder(tmp_path / "t", n=3, words=50)
    profile = profile_with(get_chapter("unit_scaling").profile("smoke"),
                           data_path=str(tmp_path / "t"), corpus_bytes=None)
    data = load_data(profile)
    total = len(load_text_data(tmp_path / "t").text.encode())
    assert len(data.train) + len(data.val) == total
    with pytest.raises(FileNotFoundError, match="no data at .*absent"):
        load_data(profile_with(profile, data_path=str(tmp_path / "absent")))


def test_corpus_cli_takes_an_input(tmp_path, capsys):
    pytest.importorskip("tokenizers")
    from effnotes.masking.corpus import load_corpus, main

    _folder(tmp_path / "t", n=6, words=30)
    assert main(["--input", str(tmp_path / "t"), "--vocab-size", "64",
                 "--out", str(tmp_path / "c.npz")]) == 0
    corpus = load_corpus(tmp_path / "c.npz")
    assert corpus.sources[0] == "doc00.txt" and len(corpus) == 6
    with pytest.raises(SystemExit):
        main(["--input", str(tmp_path / "none"), "--out", str(tmp_path / "d.npz")])
    assert "--input: no text file or folder at" in capsys.readouterr().err
    assert not (tmp_path / "d.npz").exists()
