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
