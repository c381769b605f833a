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
    assert "pooling_example" not in data  # every instance score: kept live, never stored


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


def test_pooling_example_and_its_plot():
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    import pytest

    from effnotes.chapters import get_chapter
    from effnotes.mil.plots import plot_pooling

    params = get_chapter("mil_ecg").parameters("smoke")
    cohort = experiment.build_cohort(params)
    result = experiment.compare_methods(cohort, {**params, "archs": ["dense"], "attention": False,
                                                 "baselines": []}, "cpu")
    example = result["pooling_example"]
    scores, labels = example["instance_scores"], example["labels"]
    assert scores.shape == (len(labels), params["n_beats"] // params["instance_beats"])
    assert set(np.unique(labels)) == {0, 1}
    ax = plot_pooling(scores, labels, 20)
    assert ax.get_title().startswith(f"mean of the top {int(np.ceil(0.2 * scores.shape[1]))} of")
    with pytest.raises(ValueError, match="n_patients"):
        plot_pooling(scores, labels[:-1], 20)
