"""The mil_ecg experiment command stores a result that the chapter's claims can read."""

import json

from effnotes.mil import experiment


def test_experiment_stores_smoke_profile(tmp_path, monkeypatch):
    """The old command (``python -m effnotes.mil.experiment``, an alias of ``effnotes
    experiment mil_ecg``) stores the smoke run, and today's claims and headline read it back."""
    from effnotes.contract import stored_result
    from effnotes.mil.claims import claims, headline
    from effnotes.mil.profiles import SMOKE

    monkeypatch.setenv("EFFNOTES_RESULTS", str(tmp_path))
    assert experiment.main(["--profile", "smoke", "--store", "--quiet",
                            "--dirty-reason", "a test run into a scratch folder"]) == 0
    record = json.loads((tmp_path / "mil_ecg" / "smoke.json").read_text())
    data = record["data"]
    assert record["provenance"]["profile"] == "smoke"
    methods = {row["method"] for row in data["aucs"]}
    assert {"dense/top20", "cnn/mean", "cnn/attention", "hrv", "mean_beat", "morph_var"} <= methods
    assert "pooling_example" not in data and "_pooling_example" not in data  # kept live only
    stored = stored_result("mil_ecg", "smoke", tmp_path)
    numbers = headline(stored)
    assert 0 <= numbers["auc_dense_top20"] <= 1
    assert numbers["risk_cox_hr"] > 0
    table = claims(stored, SMOKE)
    recorded = {c["name"]: c["holds"] for c in record["provenance"]["claims"]}
    assert recorded == dict(zip(table["name"], table["holds"]))  # stored and re-judged agree


def test_gpu_path_imports_without_the_cpu_only_libraries():
    """The experiment imports with neurokit2, wfdb, lifelines and aeon unavailable (as on the
    GPU machine); they are needed only to simulate the bank, read WFDB, HRV and Cox fits."""
    import subprocess
    import sys

    code = ("import sys\n"
            "for name in ('neurokit2', 'wfdb', 'lifelines', 'aeon', 'papermill'):\n"
            "    sys.modules[name] = None\n"
            "import effnotes.mil, effnotes.mil.experiment, effnotes.mil.claims\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_pooling_example_and_its_plot():
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    import pytest

    from effnotes.contract import profile_with
    from effnotes.mil.plots import plot_pooling
    from effnotes.mil.profiles import SMOKE

    profile = profile_with(SMOKE, archs=["dense"], attention=False, baselines=[])
    cohort = experiment.build_cohort(profile)
    result = experiment.compare_methods(cohort, profile, "cpu")
    example = result["pooling_example"]
    scores, labels = example["instance_scores"], example["labels"]
    assert scores.shape == (len(labels), profile.n_beats // profile.instance_beats)
    assert set(np.unique(labels)) == {0, 1}
    assert experiment.pooling_limit_error(scores) == 0
    ax = plot_pooling(scores, labels, 20)
    assert ax.get_title().startswith(f"mean of the top {int(np.ceil(0.2 * scores.shape[1]))} of")
    with pytest.raises(ValueError, match="n_patients"):
        plot_pooling(scores, labels[:-1], 20)
