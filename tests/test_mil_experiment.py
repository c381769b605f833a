"""The mil_ecg experiment command stores a result that the chapter can read."""

from effnotes.mil import experiment


def test_experiment_stores_smoke_profile(stored_profile):
    record = stored_profile(experiment, "mil_ecg", "smoke")
    data = record["data"]
    assert record["provenance"]["profile"] == "smoke"
    methods = {row["method"] for row in data["aucs"]}
    assert {"dense/top20", "cnn/mean", "cnn/attention", "hrv", "mean_beat", "morph_var"} <= methods
    numbers = experiment.headline_numbers(data)
    assert 0 <= numbers["patient AUC, dense/top20"] <= 1
    assert numbers["Cox HR, top quartile (median over seeds)"] > 0


def test_gpu_path_imports_without_the_cpu_only_libraries():
    """The experiment imports with neurokit2, wfdb, lifelines and aeon unavailable (as on the
    GPU machine); they are needed only to simulate the bank, read WFDB, HRV and Cox fits."""
    import subprocess
    import sys

    code = ("import sys\n"
            "for name in ('neurokit2', 'wfdb', 'lifelines', 'aeon', 'papermill'):\n"
            "    sys.modules[name] = None\n"
            "import effnotes.mil, effnotes.mil.experiment\n")
    subprocess.run([sys.executable, "-c", code], check=True)
