"""Tests of effnotes.pruning.literature: on the shipped ShrinkBench tables (values looked up in
the CSV files by hand) and on small tables written to tmp_path through ``root``."""

import math
import textwrap

import numpy as np
import pandas as pd
import pytest

from effnotes.pruning import literature as lit


@pytest.fixture(scope="module")
def papers():
    return lit.load_papers()


@pytest.fixture(scope="module")
def results():
    return lit.load_results()


@pytest.fixture(scope="module")
def tradeoffs(results):
    return lit.reported_tradeoffs(results)


def _row(frame, result_id):
    rows = frame[frame["result_id"] == result_id]
    assert len(rows) == 1
    return rows.iloc[0]


# ----------------------------------------------------------------------------- shipped data


def test_shipped_tables_are_read_from_the_package():
    root = lit.data_root()
    assert (root / lit.PAPERS_FILE).is_file() and (root / lit.RESULTS_FILE).is_file()
    assert (root.parent / "LICENSE").is_file()  # the MIT notice travels with the copy


def test_papers_parsed(papers):
    assert papers.shape[0] == 81 and papers["paper"].is_unique
    snip = papers.set_index("paper").loc["SNIP"]
    assert (snip["year"], snip["month"], snip["venue"], snip["author"]) == (2019, 5, "ICLR", "Lee")
    assert len(snip["compares_to"]) == 7 and snip["compares_to"][0] == "learning-both"
    assert len(snip["models"]) == len(snip["datasets"]) == 19
    assert snip["models"][0] == "LeNet-300-100" and snip["datasets"][-1] == "Tiny ImageNet"
    assert snip["result_ids"][:3] == [1, 2, 3]
    # net-trim reports one result on an unnamed CNN ('???'), kept in place as None
    net_trim = papers.set_index("paper").loc["net-trim"]
    assert None in net_trim["models"] and None not in net_trim["datasets"]
    assert papers["non_pruning"].sum() == 5  # the 'checked' rows (low-rank methods)
    assert papers["year"].between(1990, 2019).all()


def test_results_percent_strings_parsed(results):
    assert results.shape[0] == 551 and results["result_id"].is_unique
    amc = _row(results, 328)  # amc-automl-han, ResNet-50 on CIFAR-10: 93.55%, 60.00% saved
    assert (amc["paper"], amc["dataset"], amc["model"]) == (
        "amc-automl-han", "CIFAR-10", "ResNet-50")
    assert amc["top1"] == pytest.approx(93.55) and amc["orig_top1"] == pytest.approx(93.53)
    assert amc["saved_params"] == pytest.approx(0.60) and math.isnan(amc["kept_params"])
    dcp = _row(results, 365)  # errors, a negative delta written '-1.060%'
    assert dcp["err1"] == pytest.approx(23.60) and dcp["d_top1"] == pytest.approx(-1.06)
    assert dcp["d_top5"] == pytest.approx(-0.61) and math.isnan(dcp["top1"])
    babu = _row(results, 324)  # plain numbers
    assert babu["mparams"] == 5.9 and babu["orig_mparams"] == 60.9
    assert babu["orig_over_new_params"] == 10.3
    assert babu["top1"] == pytest.approx(56.96)
    assert results.loc[results["result_id"] == 117, "model"].isna().all()  # '???'
    for column in ("kept_params", "saved_params", "kept_flops", "saved_flops"):
        assert results[column].dropna().between(0, 1).all()


def test_parallel_lists_line_up_with_the_results_table(papers, results):
    """Models[i] goes with Datasets[i]: each position names a result whose row has exactly that
    (dataset, model), so the pairing is a fact of the data, not a guess."""
    assert lit.list_length_mismatches(papers).empty
    entries = lit.paper_entries(papers)
    assert len(entries) == len(results)
    joined = entries.merge(results, on="result_id", suffixes=("", "_r"), validate="one_to_one")
    assert (joined["paper"] == joined["paper_r"]).all()
    same = lambda a, b: (a == b) | (a.isna() & b.isna())  # noqa: E731
    assert same(joined["dataset"], joined["dataset_r"]).all()
    assert same(joined["architecture"], joined["model"]).all()


def test_comparisons(papers):
    counts = lit.comparison_counts(papers)
    assert counts["n_compares_to"].dtype.kind == "i" and counts["n_compared_by"].dtype.kind == "i"
    # every compared-to id is a paper of the table, so the two degree sums agree
    assert counts["n_compares_to"].sum() == counts["n_compared_by"].sum()
    snip = counts.set_index("paper").loc["SNIP"]
    assert snip["n_compares_to"] == 7
    summary = lit.comparison_summary(counts)
    # the paper: "a quarter compare to no other method, half to at most one" (21/81, 43/81)
    assert summary.n_papers == 81
    assert summary.n_compare_to_none == 21 and summary.n_compare_to_at_most_one == 43
    assert summary.histogram["n_papers"].sum() == 81
    assert summary.histogram["cumulative"].iloc[-1] == 81
    assert summary.share(1) == pytest.approx(43 / 81)
    assert counts.set_index("paper")["n_compared_by"].idxmax() == "pruning-filters"


def test_fragmentation(papers):
    frag = lit.fragmentation(papers)
    # the paper: 49 datasets, 132 architectures, 195 pairs, (ImageNet, VGG-16) in 22 of 81.
    # The shipped (later) export gives 196 pairs once the 13 entries with an unknown ('???')
    # dataset or model are left out; datasets, architectures and the top pair match.
    assert (frag.n_datasets, frag.n_architectures) == (49, 132)
    assert frag.n_pairs == 196
    assert frag.most_common_pair == ("ImageNet", "VGG-16") and frag.most_common_pair_papers == 22
    assert frag.n_unknown_entries == 13 and frag.n_mismatched_papers == 0
    assert frag.pairs["n_results"].sum() == frag.n_entries - frag.n_unknown_entries
    assert frag.pairs["n_papers"].is_monotonic_decreasing
    assert frag.n_pairs_in_one_paper == (frag.pairs["n_papers"] == 1).sum() > frag.n_pairs / 2
    second = frag.pairs.iloc[1]
    assert (second["dataset"], second["architecture"], second["n_papers"]) == (
        "ImageNet", "ResNet-50", 15)


def test_reported_tradeoffs_counts_and_invariants(tradeoffs):
    table = tradeoffs.table
    assert tradeoffs.n_results == 551 and tradeoffs.n_dropped + len(table) == 551
    assert table["d_top1"].notna().all()
    assert (table["compression_ratio"].notna() | table["speedup"].notna()).all()
    assert (tradeoffs.n_vs_compression, tradeoffs.n_vs_speedup, len(table)) == (140, 130, 208)
    # every reported pruned model is no larger and no slower than its original
    assert (table["compression_ratio"].dropna() >= 1).all()
    assert (table["speedup"].dropna() >= 1).all()
    assert set(table["compression_from"].dropna()) <= {
        "orig_over_new_params", "kept_params", "saved_params", "orig_mparams/mparams"}


def test_reported_tradeoffs_hand_checked_rows(tradeoffs):
    table = tradeoffs.table
    amc = _row(table, 328)  # 93.55 - 93.53, 60 % saved -> 1 / 0.4
    assert amc["d_top1"] == pytest.approx(0.02) and amc["compression_ratio"] == pytest.approx(2.5)
    assert amc["compression_from"] == "saved_params" and math.isnan(amc["speedup"])
    mobilenet = _row(table, 330)  # only a delta: -0.400%, 50 % saved
    assert mobilenet["d_top1"] == pytest.approx(-0.4) and mobilenet["d_top1_from"] == "dTop1"
    babu = _row(table, 324)  # the stated ratio 10.3 wins over 60.9 / 5.9 = 10.32
    assert babu["compression_ratio"] == pytest.approx(10.3)
    assert babu["compression_from"] == "orig_over_new_params"
    assert _row(table, 322)["compression_ratio"] == pytest.approx(1 / (1 - 0.678))
    assert _row(table, 262)["compression_ratio"] == pytest.approx(1 / 0.11)
    auto = _row(table, 54)  # autopruner: 2.64 of 7.729 GFLOPs
    assert auto["speedup"] == pytest.approx(7.729 / 2.64)
    assert auto["speedup_from"] == "orig_gflops/gflops"
    assert auto["d_top1"] == pytest.approx(73.04 - 76.15)


def test_reported_delta_disagrees_with_accuracies_only_where_copied(tradeoffs):
    """Zhuang et al.'s two ResNet-50 rows carry the same dTop1 (-1.06) although their errors
    are 23.60 % and 27.25 % against 76.01 % top-1: the delta from the accuracies is used."""
    table = tradeoffs.table
    both = table.dropna(subset=["d_top1_reported"])
    off = both[(both["d_top1"] - both["d_top1_reported"]).abs() > 0.05]
    assert sorted(off["result_id"]) == [365, 525]
    assert _row(table, 365)["d_top1"] == pytest.approx(100 - 23.60 - 76.01)
    assert _row(table, 525)["d_top1"] == pytest.approx(100 - 27.25 - 76.01)


def test_magnitude_vs_random_reproduces_the_quoted_table():
    table = lit.magnitude_vs_random()
    assert table["sparsity"].tolist() == [0.5, 0.7, 0.8, 0.9, 0.95, 0.98]
    quoted = {0.5: (76.53, 74.59), 0.7: (76.38, 72.22), 0.8: (75.58, 70.21),
              0.9: (73.91, 65.00), 0.95: (70.59, 58.08), 0.98: (57.90, 44.00)}
    for row in table.itertuples():
        magnitude, random = quoted[row.sparsity]
        assert round(row.magnitude_best, 2) == magnitude and round(row.random_best, 2) == random
    assert (table["magnitude_mean"] <= table["magnitude_best"]).all()
    assert (table["random_mean"] <= table["random_best"]).all()
    assert table["best_gap"].is_monotonic_increasing and (table["best_gap"] > 0).all()
    assert table["dense"].iloc[0] == pytest.approx((76.67 + 76.8 + 76.59) / 3)
    runs = lit.load_gale_resnet50()
    assert table["magnitude_runs"].sum() == (runs["method"] == "magnitude").sum() == 236
    assert table["random_runs"].sum() == (runs["method"] == "random").sum() == 288


def test_architecture_families():
    arch = lit.architecture_families()
    assert set(arch["source"]) == {"keras", "pytorch-pretrained", "efficientnet"}
    assert arch.groupby("source").size().to_dict() == {"efficientnet": 24, "keras": 20,
                                                      "pytorch-pretrained": 44}
    keras = arch[(arch["source"] == "keras")].set_index("model")
    assert keras.loc["ResNet-50", "mparams"] == pytest.approx(25.636712)
    assert keras.loc["ResNet-50", "top1"] == pytest.approx(74.9)
    assert keras["gflops"].isna().all()
    torch_ = arch[arch["source"] == "pytorch-pretrained"].set_index("model")
    assert torch_.loc["VGG-16", "gflops"] == pytest.approx(15.35)
    assert torch_.loc["VGG-16_BN", "family"] == "VGG+BN"
    assert torch_.loc["SE-ResNet-50", "family"] == "SENet"
    assert torch_.loc["Inception-ResNet-v2", "family"] == "Inception"
    effnet = arch[arch["source"] == "efficientnet"].set_index("model")
    assert math.isnan(effnet.loc["GPipe", "gflops"])
    assert effnet.loc["EfficientNet-B0", "mparams"] == 5.3
    assert arch["top1"].between(50, 90).all() and (arch["mparams"] > 0).all()
    with pytest.raises(ValueError, match="no architecture family"):
        lit.model_family("TotallyNewNet")


def test_pruned_points_on_architecture_axes(tradeoffs):
    arch = lit.architecture_families()
    points = lit.pruned_on_architecture_axes(tradeoffs.table, arch)
    assert set(points["family"]) == {"ResNet-50, pruned", "VGG-16, pruned"}
    auto = _row(points, 54)  # torchvision ResNet-50: 76.01 %, 4.09 GFLOPs
    assert auto["top1"] == pytest.approx(76.01 + 73.04 - 76.15)
    assert auto["gflops"] == pytest.approx(4.09 / (7.729 / 2.64)) and math.isnan(auto["mparams"])
    reference = arch[(arch["source"] == "pytorch-pretrained")].set_index("model")
    assert (points["mparams"].dropna() <= reference.loc[["VGG-16"], "mparams"].iloc[0]).all()
    reported = lit.pruned_on_architecture_axes(tradeoffs.table, arch, baseline="reported")
    assert _row(reported, 54)["top1"] == pytest.approx(73.04)
    assert _row(reported, 54)["gflops"] == pytest.approx(2.64)
    with pytest.raises(ValueError, match="reference"):
        lit.pruned_on_architecture_axes(tradeoffs.table, arch, models=["MobileNet"])
    with pytest.raises(ValueError, match="baseline"):
        lit.pruned_on_architecture_axes(tradeoffs.table, arch, baseline="guess")


# ----------------------------------------------------------------------------- small tables

RESULTS_HEADER = ("Name,Paper,Dataset,Model,Method,Notes,NumTrials,Err1,Err5,Top1,stdTop1,dTop1,"
                  "Top5,dTop5,MParams,savedParams,keptParams,GFLOPS,savedFLOPS,keptFLOPS,OrigTop1,"
                  "stdOrigTop1,OrigTop5,OrigMParams,OrigGFLOPS,old/new Nparam,old/new FLOPS,"
                  "OrigErr1,OrigErr5")


def _results_row(name, paper, dataset, model, **values):
    columns = RESULTS_HEADER.split(",")
    cells = {"Name": str(name), "Paper": paper, "Dataset": dataset, "Model": model, **values}
    return ",".join(cells.get(column, "") for column in columns)


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


@pytest.fixture
def tiny(tmp_path):
    """A miniature existing-results/ folder: three papers, four results, Gale runs."""
    _write(tmp_path / lit.PAPERS_FILE, """\
        Name,Date,AuthorName,Venue,BibTeX,Notes,Compares To,Models,Datasets,Non-pruning,Results
        a,2019-6,Ada,ICML,,,"b, c","Net-1, Net-2","Set-X, Set-Y",,"1,2"
        b,2018-12,Bo,arXiv,,,c,"Net-1, ???","Set-X, Set-X",,"3,4"
        c,2017-1,Cy,NIPS,,,,,,checked,
        """)
    rows = [RESULTS_HEADER,
            _results_row(1, "a", "Set-X", "Net-1", Top1="70.00%", OrigTop1="72.50%",
                         savedParams="75.00%", **{"old/new FLOPS": "2.0"}),
            _results_row(2, "a", "Set-Y", "Net-2", dTop1="-1.5%", MParams="2.0",
                         OrigMParams="10.0"),
            _results_row(3, "b", "Set-X", "Net-1", Err1="30.00%", OrigErr1="28.00%",
                         keptFLOPS="25.00%"),
            _results_row(4, "b", "Set-X", "???", Top1="50.00%")]
    _write(tmp_path / lit.RESULTS_FILE, "\n".join(rows) + "\n")
    _write(tmp_path / lit.GALE_DIR / "rn50_magnitude_pruning.csv", """\
        Sparsity,begin,end,freq,label smoothing,accuracy
        0.5,0,10,1,0,0.70
        0.5,0,10,2,0.1,0.74
        0.9,0,10,1,0,0.60
        """)
    _write(tmp_path / lit.GALE_DIR / "rn50_random_pruning.csv", """\
        Target Sparsity,begin,end,freq,label smoothing,accuracy
        0.5,0,10,1,0,0.68
        0.8,0,10,1,0,0.50
        """)
    _write(tmp_path / lit.GALE_DIR / "rn50_baselines.csv",
           "Accuracy,Training Steps,Batch Size\n76,1,1\n78,1,1\n")
    return tmp_path


def test_small_tables_end_to_end(tiny):
    papers = lit.load_papers(tiny)
    assert papers["compares_to"].tolist() == [["b", "c"], ["c"], []]
    assert papers["models"].iloc[1] == ["Net-1", None]
    assert papers["non_pruning"].tolist() == [False, False, True]
    summary = lit.comparison_summary(lit.comparison_counts(papers))
    assert (summary.n_compare_to_none, summary.n_compare_to_at_most_one) == (1, 2)
    assert summary.histogram["n_papers"].tolist() == [1, 1, 1]
    frag = lit.fragmentation(papers)
    assert (frag.n_datasets, frag.n_architectures, frag.n_pairs) == (2, 2, 2)
    assert frag.most_common_pair == ("Set-X", "Net-1") and frag.most_common_pair_papers == 2
    assert frag.n_unknown_entries == 1

    trade = lit.reported_tradeoffs(lit.load_results(tiny))
    assert trade.n_results == 4 and trade.n_dropped == 1  # result 4 has no delta and no size
    table = trade.table.set_index("result_id")
    assert table.loc[1, "d_top1"] == pytest.approx(-2.5) and table.loc[1, "compression_ratio"] == 4
    assert table.loc[1, "speedup"] == 2 and table.loc[1, "speedup_from"] == "orig_over_new_flops"
    assert table.loc[2, "d_top1"] == -1.5 and table.loc[2, "compression_ratio"] == 5
    assert table.loc[3, "d_top1"] == pytest.approx(-2.0) and table.loc[3, "speedup"] == 4
    assert (trade.n_vs_compression, trade.n_vs_speedup) == (2, 2)


def test_small_gale_tables(tiny):
    table = lit.magnitude_vs_random(tiny)
    assert table["sparsity"].tolist() == [0.5]  # only sparsities both methods ran at
    row = table.iloc[0]
    assert row["magnitude_best"] == pytest.approx(74) and row["magnitude_mean"] == pytest.approx(72)
    assert row["random_best"] == pytest.approx(68) and row["magnitude_runs"] == 2
    assert row["dense"] == pytest.approx(77)


def test_mismatched_lists_are_counted_not_guessed(tiny):
    path = tiny / lit.PAPERS_FILE
    text = path.read_text().replace('"Net-1, Net-2","Set-X, Set-Y"', '"Net-1, Net-2","Set-X"')
    path.write_text(text)
    papers = lit.load_papers(tiny)
    assert lit.list_length_mismatches(papers)["paper"].tolist() == ["a"]
    with pytest.warns(UserWarning, match="1 paper"):
        entries = lit.paper_entries(papers)
    assert set(entries["paper"]) == {"b"}
    assert lit.fragmentation(papers).n_mismatched_papers == 1


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="Papers-Grid view.csv"):
        lit.load_papers(tmp_path)
    with pytest.raises(FileNotFoundError, match="rn50_magnitude_pruning.csv"):
        lit.magnitude_vs_random(tmp_path)
    with pytest.raises(FileNotFoundError, match="keras-models-summary.csv"):
        lit.architecture_families(tmp_path)


def test_missing_column_names_file_and_column(tiny):
    path = tiny / lit.RESULTS_FILE
    path.write_text(path.read_text().replace("savedParams", "saved_params_typo", 1))
    with pytest.raises(ValueError, match=r"Results-Grid view\.csv.*savedParams"):
        lit.load_results(tiny)


def test_bad_percent_names_column_and_value(tiny):
    path = tiny / lit.RESULTS_FILE
    path.write_text(path.read_text().replace("70.00%", "seventy%"))
    with pytest.raises(ValueError, match=r"'Top1'.*seventy"):
        lit.load_results(tiny)


def test_fraction_out_of_range_and_bad_date(tiny):
    path = tiny / lit.RESULTS_FILE
    path.write_text(path.read_text().replace("75.00%", "175.00%"))
    with pytest.raises(ValueError, match="savedParams"):
        lit.load_results(tiny)
    papers = tiny / lit.PAPERS_FILE
    papers.write_text(papers.read_text().replace("2019-6", "June 2019"))
    with pytest.raises(ValueError, match="YEAR-MONTH"):
        lit.load_papers(tiny)


def test_unreadable_file_names_it(tiny):
    (tiny / lit.PAPERS_FILE).write_bytes(b"\xff\xfe\x00garbage\x81\x82")
    with pytest.raises(ValueError, match="Papers-Grid view.csv"):
        lit.load_papers(tiny)


def test_summary_of_empty_and_negative_counts():
    with pytest.raises(ValueError, match="non-negative"):
        lit.comparison_summary(pd.DataFrame({"n_compares_to": np.array([1, -1])}))


def test_dominated_by_architectures():
    import pandas as pd

    from effnotes.pruning.literature import dominated_by_architectures

    points = pd.DataFrame({"mparams": [10.0, 10.0, None], "top1": [70.0, 80.0, 75.0]})
    archs = pd.DataFrame({"mparams": [5.0, 20.0], "top1": [72.0, 85.0]})
    flags = dominated_by_architectures(points, archs)
    assert flags.iloc[0] is True and flags.iloc[1] is False and pd.isna(flags.iloc[2])
    with pytest.raises(KeyError, match="lacks columns"):
        dominated_by_architectures(points.drop(columns="top1"), archs)
