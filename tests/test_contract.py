"""The chapter contract's machinery on a toy chapter: stages in order, one Result, the
notebook's profile, and `effnotes experiment` storing, refusing and checking."""

import json
import sys
import textwrap

import pytest

from effnotes.chapters import Chapter, register
from effnotes.contract import Experiment, notebook_profile, profile_with, stored_result

TOY = textwrap.dedent('''
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Profile:
        n: int
        threshold: float
        device: str = "cpu"
        seeds: int = 2
        first_seed: int = 0

    PROFILES = {"smoke": Profile(3, 1.0), "ci": Profile(4, 1.0), "gpu": Profile(5, 100.0)}
''')
EXPERIMENT = textwrap.dedent('''
    from effnotes.contract import Experiment

    def data(profile, state, *, progress=False):
        return {"_hidden": object(), "values": list(range(profile.first_seed,
                                                          profile.first_seed + profile.n))}

    def total(profile, state, *, progress=False):
        return {"total": float(sum(state["values"]))}

    EXPERIMENT = Experiment("toy", [data, total])

    def run(profile, *, progress=False):
        return EXPERIMENT.run(profile, progress=progress)
''')
CLAIMS = textwrap.dedent('''
    import pandas as pd
    from effnotes.claims import Claim, claims_table

    def claims(result, profile):
        return claims_table([Claim.at_least("total", "the total is large", result["total"],
                                            profile.threshold)])

    def headline(result):
        return pd.Series({"total": result["total"]})
''')


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    package = root / "toy_chapter"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "profiles.py").write_text(TOY)
    (package / "experiment.py").write_text(EXPERIMENT)
    (package / "claims.py").write_text(CLAIMS)
    (package / "plots.py").write_text("")
    sys.path.insert(0, str(root))
    from toy_chapter.profiles import PROFILES

    yield register(Chapter("toy", "Toy", "toy.ipynb", "nobody", "toy_chapter", PROFILES))
    sys.path.remove(str(root))
    from effnotes import chapters

    chapters._REGISTRY.pop("toy")


def test_stages_run_in_order_once(toy):
    experiment = toy.module("experiment").EXPERIMENT
    run = experiment.start(toy.profile("smoke"))
    with pytest.raises(RuntimeError, match="next is 'data'"):
        run.stage("total")
    with pytest.raises(KeyError, match="no stage 'nope'"):
        run.stage("nope")
    assert run.stage("data")["values"] == [0, 1, 2]
    with pytest.raises(RuntimeError, match="already run"):
        run.stage("data")
    with pytest.raises(RuntimeError, match="have not run"):
        run.result()
    run.stage("total")
    result = run.result()
    assert result.profile == "smoke" and dict(result.data) == {"values": [0, 1, 2], "total": 3.0}
    assert result.parameters["n"] == 3 and not result.stored
    with pytest.raises(KeyError, match="has no 'x'"):
        result["x"]


def test_experiment_checks_its_stages_and_profile(toy):
    def no_progress(profile, state):
        return {}

    with pytest.raises(TypeError, match="keyword 'progress'"):
        Experiment("toy", [no_progress])
    with pytest.raises(TypeError, match="toy_chapter.profiles.Profile"):
        toy.module("experiment").EXPERIMENT.start({"n": 3})


def test_notebook_profile_reads_the_namespace(toy):
    assert notebook_profile("toy", {"n": 4, "threshold": 1.0}) == toy.profile("ci")
    with pytest.raises(NameError, match="threshold"):
        notebook_profile("toy", {"n": 4})
    with pytest.raises(TypeError, match="no fields"):
        profile_with(toy.profile("ci"), nope=1)


def test_store_records_claims_and_sources_and_check_compares(toy, tmp_path, monkeypatch,
                                                            capsys):
    from effnotes.experiment_runner import run_experiment

    monkeypatch.setenv("EFFNOTES_RESULTS", str(tmp_path))
    monkeypatch.setattr("effnotes.sources.tree_state",
                        lambda root=None: __import__("effnotes.sources").sources.TreeState(
                            True, (), "test"))
    assert run_experiment("toy", "gpu", store=True, progress=False,
                          dirty_reason="a test") == 0
    record = json.loads((tmp_path / "toy" / "gpu.json").read_text())
    p = record["provenance"]
    assert p["claims"][0]["name"] == "total" and p["claims"][0]["holds"] is False
    assert p["dirty_reason"] == "a test" and p["deterministic"]["requested"] is True
    assert any(path.startswith("effnotes/") for path in p["source_files"])
    assert record["data"]["total"] == 10.0
    assert stored_result("toy", "gpu", tmp_path).profile == "gpu"
    assert run_experiment("toy", "gpu", check=True, progress=False) == 1  # the claim fails
    out = capsys.readouterr().out
    assert "against the stored run" in out and "difference" in out
    assert run_experiment("toy", "gpu", store=True, seed_set=2, progress=False,
                          dirty_reason="a test") == 0
    second = json.loads((tmp_path / "toy" / "gpu-seeds2.json").read_text())
    assert second["data"]["values"][0] == 2 and second["provenance"]["seed_set"] == 2


def test_seed_set_sentence_names_unsettled_and_failing_claims(toy, tmp_path, monkeypatch):
    from effnotes.experiment_runner import run_experiment
    from effnotes.seed_sets import seed_set_sentence, seed_set_verdict, stored_verdict

    monkeypatch.setenv("EFFNOTES_RESULTS", str(tmp_path))
    assert "No run of the `gpu` profile on a second" in seed_set_sentence("toy", root=tmp_path)
    for seed_set in (1, 2):
        run_experiment("toy", "gpu", store=True, seed_set=seed_set, progress=False,
                       dirty_reason="a test")
    sentence = seed_set_sentence("toy", root=tmp_path)
    assert "(seeds 0–1) holds 0 of 1" in sentence and "(seeds 2–3;" in sentence
    assert "Failing on both: `total`." in sentence
    path = tmp_path / "toy" / "gpu-seeds2.json"
    record = json.loads(path.read_text())
    record["data"]["total"] = 1000.0  # the second set's total now clears the threshold
    path.write_text(json.dumps(record))
    sentence = seed_set_sentence("toy", root=tmp_path)
    assert "hold on one set and fail on the other: `total`." in sentence
    assert "None fails on both." in sentence
    assert seed_set_verdict("toy", "total", root=tmp_path) == "not established"
    assert stored_verdict(stored_result("toy", "gpu-seeds2", tmp_path), "total") == "holds"
    assert stored_verdict(stored_result("toy", "gpu", tmp_path), "total") == "fails"
    with pytest.raises(KeyError, match="no claim named 'nope'"):
        stored_verdict(stored_result("toy", "gpu", tmp_path), "nope")
    path.unlink()
    assert seed_set_verdict("toy", "total", root=tmp_path) == "judged on one seed set only"


def test_store_refuses_a_dirty_tree(toy, tmp_path, monkeypatch, capsys):
    from effnotes import sources
    from effnotes.experiment_runner import run_experiment

    monkeypatch.setenv("EFFNOTES_RESULTS", str(tmp_path))
    monkeypatch.setattr(sources, "tree_state",
                        lambda root=None: sources.TreeState(False, ("effnotes/x.py",), "test"))
    assert run_experiment("toy", "ci", store=True, progress=False) == 2
    assert "effnotes/x.py" in capsys.readouterr().out
    assert not (tmp_path / "toy" / "ci.json").exists()


def test_blob_id_matches_git():
    from effnotes.sources import blob_id

    assert blob_id(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert blob_id(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_staleness_names_changed_files(toy, tmp_path, monkeypatch):
    import dataclasses

    from effnotes.experiment_runner import run_experiment
    from effnotes.stored_runs import matched_commit, staleness, stored_run_names

    monkeypatch.setenv("EFFNOTES_RESULTS", str(tmp_path))
    assert run_experiment("toy", "gpu", store=True, progress=False, dirty_reason="a test") == 0
    assert stored_run_names("toy", tmp_path) == ["gpu"]
    result = stored_result("toy", "gpu", tmp_path)
    fresh = staleness(result)
    assert fresh.known and not fresh.stale and "today's code" in fresh.sentence()
    sources = dict(result.provenance["source_files"])
    path = next(iter(sources))
    sources[path] = "0" * 40
    old = dataclasses.replace(result, provenance={**result.provenance, "source_files": sources})
    assert staleness(old).changed == (path,)
    assert path in staleness(old).sentence()
    assert matched_commit(old).startswith(("no", "unknown"))


def test_device_override_is_checked(toy, tmp_path, monkeypatch, capsys):
    from effnotes.experiment_runner import run_experiment

    monkeypatch.setenv("EFFNOTES_RESULTS", str(tmp_path))
    assert run_experiment("toy", "smoke", device="cpu", progress=False) == 0
    assert run_experiment("toy", "smoke", device="cpu", store=True, progress=False) == 2
    assert "--device: a stored run keeps its profile's device" in capsys.readouterr().out


def test_a_stated_commit_skips_the_local_git_status(toy, tmp_path, monkeypatch):
    """On a machine that got a copy of the tree (its .git stale or absent), the commit is
    stated and git status there is not trusted; the source hashes are stored instead."""
    from effnotes import sources
    from effnotes.experiment_runner import run_experiment

    monkeypatch.setenv("EFFNOTES_RESULTS", str(tmp_path))
    monkeypatch.setenv("EFFNOTES_GIT_COMMIT", "0" * 40)
    monkeypatch.setattr(sources, "tree_state",
                        lambda root=None: sources.TreeState(False, ("effnotes/x.py",), "test"))
    assert run_experiment("toy", "ci", store=True, progress=False) == 0
    record = json.loads((tmp_path / "toy" / "ci.json").read_text())
    assert record["provenance"]["tree_clean"] is None  # the stated commit is unknown here
    assert record["provenance"]["git_commit"] == "0" * 40


def test_a_run_without_determinism_records_why(toy, tmp_path, monkeypatch):
    from effnotes.experiment_runner import run_experiment, run_nondeterministically

    monkeypatch.setenv("EFFNOTES_RESULTS", str(tmp_path))
    assert run_experiment("toy", "gpu", store=True, progress=False, dirty_reason="a test",
                          nondeterministic_reason="too slow in deterministic mode") == 0
    p = json.loads((tmp_path / "toy" / "gpu.json").read_text())["provenance"]
    assert p["deterministic"]["requested"] is False and p["deterministic"]["deterministic"] is False
    assert p["deterministic"]["waived_because"] == "too slow in deterministic mode"
    assert run_experiment("toy", "gpu", progress=False, nondeterministic_reason=" ") == 2
    with pytest.raises(ValueError, match="reason"):
        run_nondeterministically(lambda: None, "")


def test_the_page_says_how_deterministic_a_stored_run_was():
    from effnotes.experiment_runner import Determinism, determinism_sentence

    assert "does not record" in determinism_sentence({})
    assert "deterministic kernels" in determinism_sentence(
        {"deterministic": Determinism(True, ":4096:8", ()).as_dict()})
    waived = Determinism(False, None, (), "too slow").as_dict()
    assert "non-deterministic" in determinism_sentence({"deterministic": waived})
    assert "(too slow)" in determinism_sentence({"deterministic": waived})
    assert "index_add" in determinism_sentence(
        {"deterministic": Determinism(True, None, ("index_add",)).as_dict()})
