"""Bad input to effnotes.results: loading names the file and the problem, the provenance is
checked against its schema, and non-finite floats are stored as null with a flag."""

import json
import math

import pandas as pd
import pytest

from effnotes import results

GOOD_PROVENANCE = {"git_commit": "abc", "effnotes_version": "0", "torch_version": "2",
                   "device": "cpu", "profile": "gpu", "parameters": {}, "wall_time_s": 1.0,
                   "date_utc": "2026-01-01T00:00:00+00:00"}


def write(root, text, chapter="speedup", name="gpu"):
    (root / chapter).mkdir(parents=True, exist_ok=True)
    path = root / chapter / f"{name}.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def record(**provenance):
    return json.dumps({"provenance": {**GOOD_PROVENANCE, **provenance}, "data": {"x": 1}})


LOAD_CASES = [
    ("truncated", '{"provenance": {"git_commit": "a', "invalid JSON"),
    ("not json", "speedup: 2.0\n", "invalid JSON"),
    ("empty file", "", "invalid JSON"),
    ("not utf-8", b"\xff\xfe\x00{", "UTF-8"),
    ("a list", "[1, 2]", "not a stored result"),
    ("extra key", json.dumps({"provenance": GOOD_PROVENANCE, "data": {}, "x": 1}),
     "not a stored result"),
    ("list provenance", json.dumps({"provenance": [1], "data": {}}), "provenance"),
    ("null provenance", json.dumps({"provenance": None, "data": {}}), "provenance"),
    ("missing key", json.dumps({"provenance": {k: v for k, v in GOOD_PROVENANCE.items()
                                               if k != "git_commit"}, "data": {}}),
     "'git_commit' is missing"),
    ("wall time text", record(wall_time_s="fast"), "'wall_time_s' must be a number"),
    ("wall time bool", record(wall_time_s=True), "'wall_time_s' must be a number"),
    ("parameters list", record(parameters=[1]), "'parameters' must be an object"),
    ("hardware text", record(hardware="gpu"), "'hardware' must be an object"),
    ("data list", json.dumps({"provenance": GOOD_PROVENANCE, "data": [1]}), "'data'"),
    ("bad non_finite", record(non_finite=[["x"]]), "non_finite"),
    ("non_finite not null", record(non_finite=[[["data", "x"], "nan"]]), "non_finite"),
    ("non_finite nowhere", record(non_finite=[[["data", "y", 3], "inf"]]), "non_finite"),
]


@pytest.mark.parametrize("text, problem", [c[1:] for c in LOAD_CASES],
                         ids=[c[0] for c in LOAD_CASES])
def test_loading_names_the_file_and_the_problem(tmp_path, text, problem):
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as raised:
        results.load_result("speedup", "gpu", root=tmp_path)
    assert str(path) in str(raised.value) and problem in str(raised.value), str(raised.value)


def save(tmp_path, data=None, **overrides):
    kwargs = {"profile": "gpu", "parameters": {}, "wall_time_s": 1.0, "device": "cpu",
              "root": tmp_path, **overrides}
    return results.save_result("speedup", "gpu", {"x": 1} if data is None else data, **kwargs)


SAVE_CASES = [
    ("data list", lambda p: save(p, [1]), TypeError, "data"),
    ("data object", lambda p: save(p, {"f": object()}), TypeError, "data"),
    ("parameters list", lambda p: save(p, parameters=[1]), TypeError, "parameters"),
    ("profile none", lambda p: save(p, profile=None), TypeError, "profile"),
    ("wall time nan", lambda p: save(p, wall_time_s=float("nan")), ValueError, "wall_time_s"),
    ("wall time < 0", lambda p: save(p, wall_time_s=-1), ValueError, "wall_time_s"),
    ("wall time text", lambda p: save(p, wall_time_s="1"), ValueError, "wall_time_s"),
    ("chapter", lambda p: results.save_result("../x", "gpu", {}, profile="gpu", parameters={},
                                              wall_time_s=0, root=p), ValueError, "chapter"),
    ("live not a series", lambda p: results.live_and_stored("speedup", {"a": 1}, dict, root=p),
     TypeError, "live"),
]


@pytest.mark.parametrize("call, error, name", [c[1:] for c in SAVE_CASES],
                         ids=[c[0] for c in SAVE_CASES])
def test_bad_arguments_are_named(tmp_path, call, error, name):
    with pytest.raises(error) as raised:
        call(tmp_path)
    assert name in str(raised.value), str(raised.value)
    assert not list(tmp_path.rglob("*.json"))  # nothing half-written


def test_non_finite_floats_are_stored_as_null_with_a_flag(tmp_path):
    data = {"a": float("nan"), "b": [1.0, float("inf")], "c": {"d": -math.inf},
            "e": pd.DataFrame({"v": [0.5, float("nan")]})}
    path = save(tmp_path, data)
    text = path.read_text()
    strict = json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name}"))
    assert strict["data"]["a"] is None and strict["data"]["b"][1] is None
    assert [["data", "a"], "nan"] in strict["provenance"]["non_finite"]
    stored = results.load_result("speedup", "gpu", root=tmp_path)
    assert math.isnan(stored.data["a"]) and stored.data["b"] == [1.0, math.inf]
    assert stored.data["c"]["d"] == -math.inf and math.isnan(stored.data["e"][1]["v"])
    beside = results.live_and_stored("speedup", pd.Series({"a": 1.0}),
                                     lambda d: pd.Series({"a": d["a"]}), root=tmp_path)
    assert beside.figure("a") == "undefined"  # never "nan" in the prose


def test_every_stored_result_loads(repo_root):
    files = sorted((repo_root / "results").glob("*/*.json"))
    assert files
    for path in files:
        stored = results.load_result(path.parent.name, path.stem, root=repo_root / "results")
        assert stored.describe() and isinstance(stored.data, dict), path
