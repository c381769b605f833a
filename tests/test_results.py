import json

import numpy as np
import pandas as pd
import pytest

from effnotes import results


def test_round_trip_with_provenance(tmp_path):
    data = {"speedup": np.float64(2.5), "curve": np.arange(3), "table": pd.DataFrame({"a": [1, 2]}),
            "nested": {"ok": True, "count": np.int64(4)}}
    path = results.save_result("speedup", "gpu", data, profile="gpu", parameters={"seeds": 3},
                               wall_time_s=12.5, root=tmp_path)
    assert path == tmp_path / "speedup" / "gpu.json"
    stored = results.load_result("speedup", "gpu", root=tmp_path)
    assert stored.data == {"speedup": 2.5, "curve": [0, 1, 2], "table": [{"a": 1}, {"a": 2}],
                           "nested": {"ok": True, "count": 4}}
    p = stored.provenance
    for key in ("git_commit", "effnotes_version", "torch_version", "device", "profile",
                "parameters", "wall_time_s", "date_utc", "hardware"):
        assert key in p
    assert p["profile"] == "gpu" and p["parameters"] == {"seeds": 3} and p["wall_time_s"] == 12.5
    assert "gpu" in stored.describe()
    assert results.has_result("speedup", "gpu", root=tmp_path)
    assert not results.has_result("speedup", "cpu", root=tmp_path)


def test_results_root_can_be_overridden(tmp_path, monkeypatch):
    monkeypatch.setenv(results.RESULTS_ENV, str(tmp_path))
    assert results.results_root() == tmp_path
    monkeypatch.delenv(results.RESULTS_ENV)
    assert results.results_root() == results.repository_root() / "results"


@pytest.mark.parametrize("chapter, name", [("../etc", "x"), ("speedup", "a/b"), ("Speedup", "x"),
                                           ("speedup", "")])
def test_names_cannot_escape_the_results_folder(tmp_path, chapter, name):
    with pytest.raises(ValueError, match="lower-case"):
        results.save_result(chapter, name, {}, profile="ci", parameters={}, wall_time_s=0,
                            root=tmp_path)


def test_missing_and_malformed_results(tmp_path):
    with pytest.raises(FileNotFoundError, match="gpu profile"):
        results.load_result("speedup", "gpu", root=tmp_path)
    (tmp_path / "speedup").mkdir()
    (tmp_path / "speedup" / "gpu.json").write_text(json.dumps({"data": {}}))
    with pytest.raises(ValueError, match="not a stored result"):
        results.load_result("speedup", "gpu", root=tmp_path)


def test_unstorable_values_are_refused(tmp_path):
    with pytest.raises(TypeError, match="cannot store"):
        results.save_result("speedup", "x", {"f": object()}, profile="ci", parameters={},
                            wall_time_s=0, root=tmp_path)
    with pytest.raises(TypeError, match="dict"):
        results.save_result("speedup", "x", [1, 2], profile="ci", parameters={}, wall_time_s=0,
                            root=tmp_path)


def test_git_commit_outside_a_checkout(tmp_path, monkeypatch):
    monkeypatch.delenv(results.COMMIT_ENV, raising=False)
    assert results.git_commit(tmp_path) == "unknown"
    monkeypatch.setenv(results.COMMIT_ENV, "abc123")
    assert results.git_commit(tmp_path) == "abc123"


def test_git_commit_in_this_checkout(repo_root, monkeypatch):
    if not (repo_root / ".git").exists():
        pytest.skip("not a git checkout")
    monkeypatch.delenv(results.COMMIT_ENV, raising=False)
    commit = results.git_commit(repo_root)
    assert len(commit.removesuffix("+dirty")) == 40
    # a stated commit wins over the checkout's own (a copied tree may carry a stale .git)
    monkeypatch.setenv(results.COMMIT_ENV, "abc123")
    assert results.git_commit(repo_root) == "abc123"


def test_live_and_stored_side_by_side(tmp_path):
    def headline(data):
        return pd.Series({"speedup (x)": data["speedup"], "only stored": 7.0})

    live = pd.Series({"speedup (x)": 1.5, "only live": 2.0})
    none = results.live_and_stored("speedup", live, headline, root=tmp_path)
    assert none.stored is None and none.source == "none is stored yet"
    assert none.figure("speedup (x)") == "n/a" and none.figure("x", missing="-") == "-"
    assert list(none.table().columns) == ["CPU (this page, live)"]

    results.save_result("speedup", "gpu", {"speedup": 2.25}, profile="gpu", parameters={},
                        wall_time_s=3.0, device="cpu", root=tmp_path)
    both = results.live_and_stored("speedup", live, headline, root=tmp_path)
    assert "profile gpu" in both.source and both.source.endswith("3 s")
    assert both.figure("speedup (x)") == "2.25"
    assert both.figure("speedup (x)", ".1f", scale=100) == "225.0"
    with pytest.raises(KeyError, match="no figure 'speedup'"):
        both.figure("speedup")
    table = both.table()
    assert list(table.index) == ["speedup (x)", "only live", "only stored"]
    assert table.iloc[:, 1].tolist()[0] == 2.25 and np.isnan(table.iloc[1, 1])
    with pytest.raises(TypeError, match="Series"):
        results.live_and_stored("speedup", {"a": 1}, headline, root=tmp_path)
