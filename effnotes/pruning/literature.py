r"""The pruning literature in numbers: the ShrinkBench meta-analysis tables, parsed.

Blalock et al. ("What is the State of Neural Network Pruning?", MLSys 2020) tabulated 81
pruning papers: which methods each compares to, which (dataset, architecture) pairs it
reports, and its reported results. Their tables ship with this package (MIT licence, kept in
``data/shrinkbench/LICENSE``) and are read from there, never downloaded.

This module turns those tables into tidy :class:`pandas.DataFrame` objects and computes the
paper's literature figures from them:

- :func:`load_papers`, :func:`load_results`: the two main tables, parsed;
- :func:`comparison_counts`, :func:`comparison_summary`: how many other methods a paper
  compares to;
- :func:`paper_entries`, :func:`list_length_mismatches`, :func:`pair_counts`,
  :func:`fragmentation`: the (dataset, architecture) pairs papers report on;
- :func:`reported_tradeoffs`: change in top-1 against compression ratio and theoretical
  speedup, one row per reported result;
- :func:`load_gale_resnet50`, :func:`magnitude_vs_random`: Gale et al.'s ResNet-50 runs;
- :func:`architecture_families`, :func:`pruned_on_architecture_axes`: unpruned
  architectures and pruned models on the same (parameters, top-1) axes.

Units, everywhere: accuracies and their changes in **percent points** (``76.5`` means 76.5 %);
kept/saved fractions as **fractions** in ``[0, 1]``; parameters in **millions** (``mparams``);
FLOPs in **billions** as the source counts them (``gflops``); compression ratio and speedup as
**original / remaining** (``>= 1`` for a smaller model).

The figures are computed, never typed in. Where the shipped tables give a count that differs
from the paper's (the repository's tables are a later export than the paper's), the functions
report what the tables say; the tests record the paper's figure beside it.

Every loader takes an optional ``root``: a folder laid out like ``existing-results/`` (the
tests write small tables there). Without it the shipped copy is read through
:func:`importlib.resources.files`, so it also works from an installed wheel.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

#: How the tables write a dataset or model nobody could identify; read as missing.
UNKNOWN = "???"

#: The number of distinct (dataset, architecture) pairs the paper counts in its
#: meta-analysis (Blalock et al. 2020); the shipped tables may give another count.
PAPER_PAIR_COUNT = 195

PAPERS_FILE = "Papers-Grid view.csv"
RESULTS_FILE = "Results-Grid view.csv"
GALE_DIR = "state-of-sparsity-resnet50"
GALE_FILES = {"magnitude": "rn50_magnitude_pruning.csv", "random": "rn50_random_pruning.csv"}
GALE_BASELINES = "rn50_baselines.csv"
KERAS_FILE = "keras/keras-models-summary.csv"
PYTORCH_FILE = "pytorch-pretrained/ModelsComparison.csv"
EFFICIENTNET_FILE = "efficientnet/efficientnet-models-summary.csv"


# ----------------------------------------------------------------------------- reading


def data_root() -> Traversable:
    """The shipped ``existing-results/`` folder (inside the installed package)."""
    return files("effnotes.pruning") / "data" / "shrinkbench" / "existing-results"


def _resolve(root: str | Path | Traversable | None) -> Traversable:
    if root is None:
        return data_root()
    if isinstance(root, (str, Path)):
        return Path(root)
    return root


def _read_csv(root, relative: str, required: Iterable[str], **kwargs) -> pd.DataFrame:
    """Read one table and check its columns; every failure names the file."""
    base = _resolve(root)
    target = base
    for part in relative.split("/"):
        target = target / part
    if not target.is_file():
        raise FileNotFoundError(f"literature table not found: {target} (expected the ShrinkBench "
                                f"file {relative!r} under {base})")
    try:
        with target.open("r", encoding="utf-8-sig") as handle:
            frame = pd.read_csv(handle, skipinitialspace=True, **kwargs)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise ValueError(f"cannot read literature table {target}: {error}") from error
    frame.columns = [str(column).strip() for column in frame.columns]
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ValueError(f"literature table {target} lacks column(s) {missing}; "
                         f"it has {list(frame.columns)}")
    frame.attrs["source"] = str(target)
    return frame


def _name(value) -> str | None:
    """A stripped name, or None for a blank or ``???`` entry."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return None if value in ("", UNKNOWN) else value


def _name_list(value) -> list[str | None]:
    """A comma-separated cell as a list; unknown entries stay in place as None so that
    parallel lists keep their alignment. A blank cell is an empty list."""
    if not isinstance(value, str) or not value.strip():
        return []
    return [_name(part) for part in value.split(",")]


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _percent_column(frame: pd.DataFrame, column: str, *, scale: float) -> pd.Series:
    """Parse strings like ``'-1.400%'`` (the ``%`` is optional) into floats times ``scale``;
    blanks and ``???`` become NaN; anything else raises, naming file, column and value."""

    def parse(value):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return np.nan
        if isinstance(value, (int, float, np.number)):
            return float(value) * scale
        text = str(value).strip().rstrip("%").strip()
        if text in ("", UNKNOWN):
            return np.nan
        if not _NUMBER.match(text):
            raise ValueError(f"{frame.attrs.get('source', 'table')}: column {column!r} has "
                             f"{value!r}, not a percentage")
        return float(text) * scale

    return frame[column].map(parse).astype(float)


def _number_column(frame: pd.DataFrame, column: str) -> pd.Series:
    values = frame[column].map(lambda v: np.nan if isinstance(v, str) and v.strip() in ("", UNKNOWN)
                               else v)
    try:
        return pd.to_numeric(values, errors="raise").astype(float)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{frame.attrs.get('source', 'table')}: column {column!r} is not "
                         f"numeric ({error})") from error


# ----------------------------------------------------------------------------- the tables

_PAPER_COLUMNS = ("Name", "Date", "AuthorName", "Venue", "Compares To", "Models", "Datasets",
                  "Results")


def load_papers(root=None) -> pd.DataFrame:
    """The papers table (``Papers-Grid view.csv``), one row per paper.

    Columns: ``paper`` (the table's short id, e.g. ``"SNIP"``), ``year`` and ``month`` (ints,
    from ``Date`` written ``"2019-6"``), ``author`` (first author's surname), ``venue``,
    ``compares_to`` (list of the ids of the papers it compares against), ``models`` and
    ``datasets`` (parallel lists: the i-th model was evaluated on the i-th dataset; an
    unknown ``???`` entry is None in place), ``result_ids`` (parallel list of ints: the
    ``result_id`` in :func:`load_results` of that entry), ``non_pruning`` (bool: the table marks
    the paper as not a pruning method, e.g. a low-rank decomposition), ``notes``, ``bibtex``.
    """
    raw = _read_csv(root, PAPERS_FILE, _PAPER_COLUMNS)
    source = raw.attrs["source"]
    dates = raw["Date"].astype("string").str.strip().str.extract(r"^(\d{4})-(\d{1,2})$")
    bad = dates[0].isna()
    if bad.any():
        raise ValueError(f"{source}: Date must be written YEAR-MONTH, got "
                         f"{raw.loc[bad, 'Date'].tolist()[:5]}")

    def ids(value) -> list[int]:
        parts = [p.strip() for p in value.split(",")] if isinstance(value, str) else []
        try:
            return [int(p) for p in parts if p]
        except ValueError as error:
            raise ValueError(f"{source}: Results must list integer result ids ({error})") from error

    papers = pd.DataFrame({
        "paper": raw["Name"].map(_name),
        "year": dates[0].astype(int),
        "month": dates[1].astype(int),
        "author": raw["AuthorName"].map(_name),
        "venue": raw["Venue"].map(_name),
        "compares_to": raw["Compares To"].map(lambda v: [n for n in _name_list(v) if n]),
        "models": raw["Models"].map(_name_list),
        "datasets": raw["Datasets"].map(_name_list),
        "result_ids": raw["Results"].map(ids),
        "non_pruning": raw["Non-pruning"].notna() if "Non-pruning" in raw else False,
        "notes": raw["Notes"] if "Notes" in raw else None,
        "bibtex": raw["BibTeX"] if "BibTeX" in raw else None,
    })
    if papers["paper"].isna().any():
        raise ValueError(f"{source}: a paper has no Name")
    duplicated = papers["paper"][papers["paper"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"{source}: duplicated paper ids {duplicated}")
    return papers


#: Results columns holding accuracies as percent strings -> percent points.
_RESULT_PERCENT_POINTS = {"Top1": "top1", "Top5": "top5", "Err1": "err1", "Err5": "err5",
                          "stdTop1": "std_top1", "dTop1": "d_top1", "dTop5": "d_top5",
                          "OrigTop1": "orig_top1", "OrigTop5": "orig_top5",
                          "OrigErr1": "orig_err1", "OrigErr5": "orig_err5",
                          "stdOrigTop1": "std_orig_top1"}
#: Results columns holding kept/saved shares as percent strings -> fractions.
_RESULT_FRACTIONS = {"keptParams": "kept_params", "savedParams": "saved_params",
                     "keptFLOPS": "kept_flops", "savedFLOPS": "saved_flops"}
#: Plain numbers.
_RESULT_NUMBERS = {"NumTrials": "num_trials", "MParams": "mparams", "OrigMParams": "orig_mparams",
                   "GFLOPS": "gflops", "OrigGFLOPS": "orig_gflops",
                   "old/new Nparam": "orig_over_new_params", "old/new FLOPS": "orig_over_new_flops"}


def load_results(root=None) -> pd.DataFrame:
    """The reported results (``Results-Grid view.csv``), one row per result.

    Columns: ``result_id`` (int, the table's ``Name``), ``paper``, ``dataset``, ``model``
    (None where the table has ``???``), ``method`` (a variant name within the paper, mostly
    missing), ``notes``;
    in percent points: ``top1``, ``top5``, ``err1``, ``err5``, ``std_top1``, ``d_top1`` and
    ``d_top5`` (pruned minus original, as reported), ``orig_top1``, ``orig_top5``,
    ``orig_err1``, ``orig_err5``, ``std_orig_top1``;
    as fractions in [0, 1]: ``kept_params``, ``saved_params``, ``kept_flops``,
    ``saved_flops``;
    numbers: ``num_trials``, ``mparams`` and ``orig_mparams`` (millions of parameters),
    ``gflops`` and ``orig_gflops`` (billions of FLOPs as the paper counts them),
    ``orig_over_new_params`` and ``orig_over_new_flops`` (the table's ``old/new Nparam`` and
    ``old/new FLOPS`` ratios). Missing values are NaN.
    """
    required = ["Name", "Paper", "Dataset", "Model", *_RESULT_PERCENT_POINTS, *_RESULT_FRACTIONS,
                *_RESULT_NUMBERS]
    raw = _read_csv(root, RESULTS_FILE, required)
    source = raw.attrs["source"]
    ids = _number_column(raw, "Name")
    if ids.isna().any() or (ids != ids.round()).any():
        raise ValueError(f"{source}: every result needs an integer Name (its id)")
    out = pd.DataFrame({
        "result_id": ids.astype(int),
        "paper": raw["Paper"].map(_name),
        "dataset": raw["Dataset"].map(_name),
        "model": raw["Model"].map(_name),
        "method": raw["Method"].map(_name) if "Method" in raw else None,
        "notes": raw["Notes"] if "Notes" in raw else None,
    })
    for column, name in _RESULT_PERCENT_POINTS.items():
        out[name] = _percent_column(raw, column, scale=1.0)
    for column, name in _RESULT_FRACTIONS.items():
        values = _percent_column(raw, column, scale=0.01)
        outside = values[(values < 0) | (values > 1)]
        if len(outside):
            raise ValueError(f"{source}: column {column!r} must lie in 0%..100%, got "
                             f"{(outside * 100).tolist()[:5]}%")
        out[name] = values
    for column, name in _RESULT_NUMBERS.items():
        out[name] = _number_column(raw, column)
    if out["result_id"].duplicated().any():
        raise ValueError(f"{source}: duplicated result ids "
                         f"{out.loc[out['result_id'].duplicated(), 'result_id'].tolist()[:5]}")
    return out


# ----------------------------------------------------------------------------- comparisons


def comparison_counts(papers: pd.DataFrame) -> pd.DataFrame:
    """Per paper, how many other methods it compares to, and how many papers compare to it.

    ``papers`` is :func:`load_papers`'s frame. Returns columns ``paper``, ``venue``, ``year``,
    ``n_compares_to`` (distinct ids in ``compares_to``, the paper itself excluded) and
    ``n_compared_by`` (papers of the table that list this one), in the input's order.
    """
    targets = papers["compares_to"].map(set)
    targets = [sorted(t - {p}) for t, p in zip(targets, papers["paper"])]
    cited = pd.Series([t for ts in targets for t in ts], dtype=object)
    by = cited.value_counts()
    return pd.DataFrame({
        "paper": papers["paper"].to_numpy(),
        "venue": papers["venue"].to_numpy(),
        "year": papers["year"].to_numpy(),
        "n_compares_to": np.array([len(t) for t in targets], dtype=int),
        "n_compared_by": papers["paper"].map(by).fillna(0).astype(int).to_numpy(),
    })


@dataclass(frozen=True)
class ComparisonSummary:
    """How much papers compare to one another.

    ``histogram`` has columns ``n_compares_to`` (0, 1, 2, ... up to the maximum), ``n_papers``
    (papers comparing to exactly that many methods) and ``cumulative`` (to at most that many).
    """

    n_papers: int
    n_compare_to_none: int
    n_compare_to_at_most_one: int
    histogram: pd.DataFrame

    def share(self, count: int) -> float:
        """Fraction of papers that compare to at most ``count`` other methods."""
        rows = self.histogram[self.histogram["n_compares_to"] <= count]
        return float(rows["n_papers"].sum()) / self.n_papers


def comparison_summary(counts: pd.DataFrame) -> ComparisonSummary:
    """Summarise :func:`comparison_counts`: papers comparing to none, to at most one, and the
    full histogram."""
    n = counts["n_compares_to"].astype(int)
    if (n < 0).any():
        raise ValueError("n_compares_to must be non-negative")
    top = int(n.max()) if len(n) else 0
    histogram = pd.DataFrame({"n_compares_to": np.arange(top + 1)})
    histogram["n_papers"] = histogram["n_compares_to"].map(n.value_counts()).fillna(0).astype(int)
    histogram["cumulative"] = histogram["n_papers"].cumsum()
    return ComparisonSummary(n_papers=int(len(n)), n_compare_to_none=int((n == 0).sum()),
                             n_compare_to_at_most_one=int((n <= 1).sum()), histogram=histogram)


# ----------------------------------------------------------------------------- pairs


def list_length_mismatches(papers: pd.DataFrame) -> pd.DataFrame:
    """Papers whose parallel ``models``, ``datasets`` and ``result_ids`` lists differ in
    length (so their entries cannot be paired). Columns ``paper``, ``n_models``,
    ``n_datasets``, ``n_results``; empty when every row lines up."""
    lengths = pd.DataFrame({"paper": papers["paper"],
                            "n_models": papers["models"].map(len),
                            "n_datasets": papers["datasets"].map(len),
                            "n_results": papers["result_ids"].map(len)})
    bad = ((lengths["n_models"] != lengths["n_datasets"])
           | (lengths["n_models"] != lengths["n_results"]))
    return lengths[bad].reset_index(drop=True)


def paper_entries(papers: pd.DataFrame) -> pd.DataFrame:
    """The papers' (dataset, architecture) entries in long form: one row per position of the
    parallel lists, columns ``paper``, ``dataset``, ``architecture`` (None where unknown) and
    ``result_id``. A paper whose lists differ in length is left out with a warning that
    counts them (see :func:`list_length_mismatches`) rather than paired by guesswork."""
    mismatched = set(list_length_mismatches(papers)["paper"])
    if mismatched:
        warnings.warn(f"{len(mismatched)} paper(s) have models/datasets/results lists of "
                      f"different lengths and are left out of the pairs: {sorted(mismatched)}",
                      stacklevel=2)
    rows = [(row.paper, dataset, model, rid)
            for row in papers.itertuples(index=False) if row.paper not in mismatched
            for model, dataset, rid in zip(row.models, row.datasets, row.result_ids)]
    return pd.DataFrame(rows, columns=["paper", "dataset", "architecture", "result_id"])


def pair_counts(papers: pd.DataFrame) -> pd.DataFrame:
    """Papers and results per (dataset, architecture) pair.

    Columns ``dataset``, ``architecture``, ``n_papers`` (distinct papers reporting on the
    pair), ``n_results``; sorted by ``n_papers`` then ``n_results`` (both descending), then
    by name. Entries whose dataset or architecture is unknown (``???``) are not a pair and are
    left out (:func:`fragmentation` counts them).
    """
    entries = paper_entries(papers).dropna(subset=["dataset", "architecture"])
    grouped = entries.groupby(["dataset", "architecture"])
    table = pd.DataFrame({"n_papers": grouped["paper"].nunique(),
                          "n_results": grouped.size()}).reset_index()
    table = table.sort_values(["n_papers", "n_results", "dataset", "architecture"],
                              ascending=[False, False, True, True], kind="stable")
    return table.reset_index(drop=True).astype({"n_papers": int, "n_results": int})


@dataclass(frozen=True)
class Fragmentation:
    """How spread out the literature's evaluations are.

    ``n_datasets``, ``n_architectures`` and ``n_pairs`` count distinct names among the known
    pairs; ``most_common_pair`` is (dataset, architecture) and ``most_common_pair_papers`` the
    papers reporting on it; ``n_pairs_in_one_paper`` pairs appear in a single paper;
    ``n_entries`` list positions were read, of which ``n_unknown_entries`` had an unknown
    dataset or architecture; ``n_mismatched_papers`` papers could not be paired at all.
    """

    n_papers: int
    n_datasets: int
    n_architectures: int
    n_pairs: int
    most_common_pair: tuple[str, str]
    most_common_pair_papers: int
    n_pairs_in_one_paper: int
    n_entries: int
    n_unknown_entries: int
    n_mismatched_papers: int
    pairs: pd.DataFrame


def fragmentation(papers: pd.DataFrame) -> Fragmentation:
    """Distinct datasets, architectures and pairs, and the most common pair (ties broken by
    name). See :func:`pair_counts` for how unknown entries are handled."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the mismatch count is returned instead
        entries = paper_entries(papers)
    known = entries.dropna(subset=["dataset", "architecture"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pairs = pair_counts(papers)
    if pairs.empty:
        raise ValueError("no (dataset, architecture) pair in the papers table")
    top = pairs.iloc[0]
    return Fragmentation(
        n_papers=int(len(papers)),
        n_datasets=int(known["dataset"].nunique()),
        n_architectures=int(known["architecture"].nunique()),
        n_pairs=int(len(pairs)),
        most_common_pair=(str(top["dataset"]), str(top["architecture"])),
        most_common_pair_papers=int(top["n_papers"]),
        n_pairs_in_one_paper=int((pairs["n_papers"] == 1).sum()),
        n_entries=int(len(entries)),
        n_unknown_entries=int(len(entries) - len(known)),
        n_mismatched_papers=int(len(list_length_mismatches(papers))),
        pairs=pairs,
    )


# ----------------------------------------------------------------------------- tradeoffs


def _first_available(candidates: list[tuple[str, pd.Series]], index) -> tuple[pd.Series, pd.Series]:
    """Take, per row, the first candidate that is a finite positive number; also say which."""
    value = pd.Series(np.nan, index=index, dtype=float)
    origin = pd.Series(None, index=index, dtype=object)
    for label, candidate in candidates:
        candidate = candidate.replace([np.inf, -np.inf], np.nan)
        use = value.isna() & candidate.notna() & (candidate > 0)
        value[use] = candidate[use]
        origin[use] = label
    return value, origin


def _ratios(results: pd.DataFrame, kind: str) -> tuple[pd.Series, pd.Series]:
    """Original / remaining, for ``kind`` 'params' or 'flops', in a fixed order of trust."""
    if kind == "params":
        direct, kept, saved, new, old = ("orig_over_new_params", "kept_params", "saved_params",
                                         "mparams", "orig_mparams")
    else:
        direct, kept, saved, new, old = ("orig_over_new_flops", "kept_flops", "saved_flops",
                                         "gflops", "orig_gflops")
    with np.errstate(divide="ignore", invalid="ignore"):
        candidates = [(direct, results[direct]),
                      (kept, 1.0 / results[kept]),
                      (saved, 1.0 / (1.0 - results[saved])),
                      (f"{old}/{new}", results[old] / results[new])]
    return _first_available(candidates, results.index)


@dataclass(frozen=True)
class ReportedTradeoffs:
    """Reported results usable for a tradeoff plot, and how many were not.

    ``table`` keeps the results with a change in top-1 and at least one of compression ratio
    or speedup; ``n_dropped`` of the ``n_results`` lacked them.
    """

    table: pd.DataFrame
    n_results: int
    n_dropped: int

    @property
    def n_vs_compression(self) -> int:
        """Results with both Δtop-1 and a compression ratio."""
        return int(self.table["compression_ratio"].notna().sum())

    @property
    def n_vs_speedup(self) -> int:
        """Results with both Δtop-1 and a theoretical speedup."""
        return int(self.table["speedup"].notna().sum())


def reported_tradeoffs(results: pd.DataFrame) -> ReportedTradeoffs:
    """Change in top-1 against compression ratio and theoretical speedup, per reported result.

    ``results`` is :func:`load_results`'s frame. The table has columns ``result_id``,
    ``paper``, ``dataset``, ``model``, ``method``; ``top1`` and ``orig_top1`` (percent points;
    ``100 - err1`` where only the error is given); ``d_top1`` (percent points, pruned minus
    original) and ``d_top1_from``; ``d_top1_reported`` (the table's own ``dTop1``);
    ``compression_ratio`` (original / remaining parameters) and ``compression_from``;
    ``speedup`` (original / remaining FLOPs) and ``speedup_from``; ``mparams``,
    ``orig_mparams``, ``gflops``, ``orig_gflops`` as reported.

    Precedence, first available wins:

    - Δtop-1: ``top1 - orig_top1`` when both absolute accuracies are known (two numbers read
      straight from the paper), else the reported ``dTop1``. The two disagree for a couple of
      rows of the shipped table, where a delta was copied between rows; ``d_top1_reported``
      keeps the table's value so that stays visible.
    - compression ratio: the reported ratio ``old/new Nparam``; else ``1 / keptParams``; else
      ``1 / (1 - savedParams)``; else ``OrigMParams / MParams``. Speedup: the same with the
      FLOPs columns. (On the shipped table the sources agree within 5 % wherever several are
      given, so the order decides the label, not the number.)
    """
    top1 = results["top1"].fillna(100.0 - results["err1"])
    orig = results["orig_top1"].fillna(100.0 - results["orig_err1"])
    from_absolute = top1 - orig
    d_top1 = from_absolute.where(from_absolute.notna(), results["d_top1"])
    d_from = pd.Series(np.where(from_absolute.notna(), "top1 - orig_top1",
                                np.where(results["d_top1"].notna(), "dTop1", None)),
                       index=results.index, dtype=object)
    compression, compression_from = _ratios(results, "params")
    speedup, speedup_from = _ratios(results, "flops")
    table = pd.DataFrame({
        "result_id": results["result_id"], "paper": results["paper"],
        "dataset": results["dataset"], "model": results["model"], "method": results["method"],
        "top1": top1, "orig_top1": orig,
        "d_top1": d_top1, "d_top1_from": d_from, "d_top1_reported": results["d_top1"],
        "compression_ratio": compression, "compression_from": compression_from,
        "speedup": speedup, "speedup_from": speedup_from,
        "mparams": results["mparams"], "orig_mparams": results["orig_mparams"],
        "gflops": results["gflops"], "orig_gflops": results["orig_gflops"],
    })
    usable = table["d_top1"].notna() & (table["compression_ratio"].notna()
                                        | table["speedup"].notna())
    return ReportedTradeoffs(table=table[usable].reset_index(drop=True),
                             n_results=int(len(table)), n_dropped=int((~usable).sum()))


# ----------------------------------------------------------------------------- Gale et al.


def load_gale_resnet50(root=None) -> pd.DataFrame:
    """Gale et al.'s ("The State of Sparsity in Deep Neural Networks", 2019) ResNet-50 /
    ImageNet runs of magnitude and random pruning, one row per run (a hyperparameter
    setting).

    Columns: ``method`` (``"magnitude"`` or ``"random"``), ``sparsity`` (target fraction of
    weights removed), ``begin``, ``end``, ``freq`` (pruning schedule, training steps),
    ``label_smoothing``, ``top1`` (percent points; the files store fractions).
    """
    frames = []
    for method, filename in GALE_FILES.items():
        sparsity = "Sparsity" if method == "magnitude" else "Target Sparsity"
        raw = _read_csv(root, f"{GALE_DIR}/{filename}",
                        [sparsity, "begin", "end", "freq", "label smoothing", "accuracy"])
        frame = pd.DataFrame({
            "method": method,
            "sparsity": _number_column(raw, sparsity).round(6),
            "begin": _number_column(raw, "begin"),
            "end": _number_column(raw, "end"),
            "freq": _number_column(raw, "freq"),
            "label_smoothing": _number_column(raw, "label smoothing"),
            "top1": 100.0 * _number_column(raw, "accuracy"),
        })
        if frame[["sparsity", "top1"]].isna().any().any():
            raise ValueError(f"{raw.attrs['source']}: a run lacks its sparsity or accuracy")
        if ((frame["sparsity"] < 0) | (frame["sparsity"] >= 1)).any():
            raise ValueError(f"{raw.attrs['source']}: sparsity must lie in [0, 1)")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def gale_dense_baseline(root=None) -> pd.Series:
    """Top-1 (percent points) of Gale et al.'s dense ResNet-50 runs (``rn50_baselines.csv``,
    which stores percent points already)."""
    raw = _read_csv(root, f"{GALE_DIR}/{GALE_BASELINES}", ["Accuracy"])
    values = _number_column(raw, "Accuracy").dropna()
    if values.empty:
        raise ValueError(f"{raw.attrs['source']}: no dense baseline accuracy")
    return values.rename("top1").reset_index(drop=True)


def magnitude_vs_random(root=None) -> pd.DataFrame:
    """Magnitude against random pruning of ResNet-50 on ImageNet, per target sparsity.

    Each file row is one hyperparameter setting (pruning start, end, frequency, label
    smoothing) of one method. The headline numbers take the **best** top-1 over settings per
    sparsity: that is the tuned result each method can reach, and it is what the paper quotes
    (the card's 76.53/74.59 at 0.5 ... 57.90/44.00 at 0.98 are these maxima, rounded). The
    mean over settings is also given; it mixes well- and badly-tuned schedules and so
    depends on the grid searched, which is why it is not the headline.

    Columns: ``sparsity``; ``magnitude_best``, ``random_best``, ``magnitude_mean``,
    ``random_mean`` (percent points); ``magnitude_runs``, ``random_runs`` (settings tried);
    ``best_gap`` (magnitude minus random, best vs best); ``dense`` (mean top-1 of the dense
    runs). Only sparsities both methods were run at are kept.
    """
    runs = load_gale_resnet50(root)
    per = (runs.groupby(["sparsity", "method"])["top1"].agg(["max", "mean", "size"])
           .unstack("method"))
    per = per.dropna()
    table = pd.DataFrame({
        "sparsity": per.index.to_numpy(dtype=float),
        "magnitude_best": per[("max", "magnitude")].to_numpy(),
        "random_best": per[("max", "random")].to_numpy(),
        "magnitude_mean": per[("mean", "magnitude")].to_numpy(),
        "random_mean": per[("mean", "random")].to_numpy(),
        "magnitude_runs": per[("size", "magnitude")].astype(int).to_numpy(),
        "random_runs": per[("size", "random")].astype(int).to_numpy(),
    })
    table["best_gap"] = table["magnitude_best"] - table["random_best"]
    table["dense"] = float(gale_dense_baseline(root).mean())
    return table


# ----------------------------------------------------------------------------- architectures

#: Ordered (pattern, family) rules on lower-cased model names; the first match wins.
_FAMILY_RULES: tuple[tuple[str, str], ...] = (
    (r"^efficientnet", "EfficientNet"),
    (r"^amoebanet", "AmoebaNet"),
    (r"^pnasnet", "NASNet"),
    (r"^nasnet", "NASNet"),
    (r"^bn-inception", "Inception"),
    (r"inception|^xception", "Inception"),
    (r"^se-|^senet", "SENet"),
    (r"^resnext", "ResNeXt"),
    (r"resnet", "ResNet"),
    (r"^densenet", "DenseNet"),
    (r"^dpn", "DPN"),
    (r"^polynet", "PolyNet"),
    (r"^gpipe", "GPipe"),
    (r"^googlenet", "Inception"),
    (r"^vgg-\d+_bn$", "VGG+BN"),
    (r"^vgg", "VGG"),
    (r"^mobilenet-v2", "MobileNet-v2"),
    (r"^mobilenet(-v1)?$", "MobileNet-v1"),
    (r"^squeezenet", "SqueezeNet"),
    (r"^shufflenet", "ShuffleNet"),
    (r"^alexnet", "AlexNet"),
)


def model_family(model: str) -> str:
    """The architecture family of an ImageNet model name (``"ResNet-50"`` -> ``"ResNet"``).
    Unknown names raise rather than being filed under a guess."""
    lowered = model.strip().lower()
    for pattern, family in _FAMILY_RULES:
        if re.search(pattern, lowered):
            return family
    raise ValueError(f"no architecture family known for model {model!r}")


def architecture_families(root=None) -> pd.DataFrame:
    """Accuracy against size of unpruned ImageNet architectures, one row per (source, model).

    Sources: ``"keras"`` (Keras Applications: no FLOPs), ``"pytorch-pretrained"`` (the
    ``pretrainedmodels`` comparison table) and ``"efficientnet"`` (Table 2 of the EfficientNet
    paper). Columns ``source``, ``model`` (as the source writes it), ``family`` (see
    :func:`model_family`), ``top1`` and ``top5`` (percent points), ``mparams`` (millions),
    ``gflops`` (billions of FLOPs as the source counts them, multiply-adds in both sources
    that give them; NaN where absent).
    """
    keras = _read_csv(root, KERAS_FILE, ["Model", "Parameters", "Top-1 Accuracy", "Top-5 Accuracy"])
    torch_ = _read_csv(root, PYTORCH_FILE, ["Model", "FLOPs", "# Parameters", "Top-1 (%)",
                                            "Top-5 (%)"])
    effnet = _read_csv(root, EFFICIENTNET_FILE, ["Model", "Top1", "Top5", "MParams", "GFLOPS"])
    frames = [
        pd.DataFrame({"source": "keras", "model": keras["Model"].map(_name),
                      "top1": 100.0 * _number_column(keras, "Top-1 Accuracy"),
                      "top5": 100.0 * _number_column(keras, "Top-5 Accuracy"),
                      "mparams": _number_column(keras, "Parameters") / 1e6,
                      "gflops": np.nan}),
        pd.DataFrame({"source": "pytorch-pretrained", "model": torch_["Model"].map(_name),
                      "top1": _number_column(torch_, "Top-1 (%)"),
                      "top5": _number_column(torch_, "Top-5 (%)"),
                      "mparams": _number_column(torch_, "# Parameters") / 1e6,
                      "gflops": _number_column(torch_, "FLOPs")}),
        pd.DataFrame({"source": "efficientnet", "model": effnet["Model"].map(_name),
                      "top1": _number_column(effnet, "Top1"),
                      "top5": _number_column(effnet, "Top5"),
                      "mparams": _number_column(effnet, "MParams"),
                      "gflops": _number_column(effnet, "GFLOPS")}),
    ]
    table = pd.concat(frames, ignore_index=True)
    if table["model"].isna().any():
        raise ValueError("an architecture summary has a row without a model name")
    table.insert(2, "family", table["model"].map(model_family))
    for column in ("top1", "top5"):
        if ((table[column] < 0) | (table[column] > 100)).any():
            raise ValueError(f"architecture summaries: {column} outside 0..100 percent")
    return table


def pruned_on_architecture_axes(tradeoffs: pd.DataFrame, architectures: pd.DataFrame, *,
                                models: Iterable[str] = ("ResNet-50", "VGG-16"),
                                dataset: str = "ImageNet",
                                reference_source: str = "pytorch-pretrained",
                                baseline: str = "reference") -> pd.DataFrame:
    """Pruned results as (parameters, FLOPs, absolute top-1) points, to plot over
    :func:`architecture_families`.

    ``tradeoffs`` is :attr:`ReportedTradeoffs.table`; ``architectures`` is
    :func:`architecture_families`'s frame. With ``baseline="reference"`` (the default, as in
    the paper) every pruned result is placed relative to one common unpruned model, the
    ``reference_source`` row of the same name: ``top1 = reference top1 + d_top1``, ``mparams
    = reference mparams / compression_ratio``, ``gflops = reference gflops / speedup``, so
    papers' differing baselines do not scatter the points. With ``baseline="reported"`` the
    paper's own numbers are used: ``top1`` as reported, ``mparams`` and ``gflops`` as
    reported or else ``orig / ratio``.

    Returns columns ``family`` (e.g. ``"ResNet-50, pruned"``), ``model``, ``paper``,
    ``result_id``, ``top1`` (percent points), ``mparams`` (millions), ``gflops`` (billions),
    ``compression_ratio``, ``speedup``; rows without top-1 or without both sizes are dropped.
    """
    if baseline not in ("reference", "reported"):
        raise ValueError(f"baseline must be 'reference' or 'reported', got {baseline!r}")
    models = list(models)
    rows = tradeoffs[(tradeoffs["dataset"] == dataset) & tradeoffs["model"].isin(models)].copy()
    if baseline == "reference":
        reference = architectures[architectures["source"] == reference_source].set_index("model")
        missing = [m for m in models if m not in reference.index]
        if missing:
            raise ValueError(f"no {reference_source!r} reference for {missing}; it has "
                             f"{sorted(reference.index)}")
        ref = reference.loc[rows["model"]]
        top1 = ref["top1"].to_numpy() + rows["d_top1"].to_numpy()
        mparams = ref["mparams"].to_numpy() / rows["compression_ratio"].to_numpy()
        gflops = ref["gflops"].to_numpy() / rows["speedup"].to_numpy()
    else:
        top1 = rows["top1"].to_numpy()
        mparams = rows["mparams"].fillna(rows["orig_mparams"] / rows["compression_ratio"])
        mparams = mparams.to_numpy()
        gflops = rows["gflops"].fillna(rows["orig_gflops"] / rows["speedup"]).to_numpy()
    points = pd.DataFrame({
        "family": rows["model"].map(lambda m: f"{m}, pruned").to_numpy(),
        "model": rows["model"].to_numpy(), "paper": rows["paper"].to_numpy(),
        "result_id": rows["result_id"].to_numpy(),
        "top1": top1, "mparams": mparams, "gflops": gflops,
        "compression_ratio": rows["compression_ratio"].to_numpy(),
        "speedup": rows["speedup"].to_numpy(),
    })
    keep = points["top1"].notna() & (points["mparams"].notna() | points["gflops"].notna())
    return points[keep].reset_index(drop=True)


def dominated_by_architectures(points: pd.DataFrame, architectures: pd.DataFrame, *,
                               size: str = "mparams") -> pd.Series:
    """For each pruned result in ``points`` (from :func:`pruned_on_architecture_axes`), whether
    some unpruned architecture in ``architectures`` is at most as large in ``size`` and at
    least as accurate in ``top1``: the pruned model could have been replaced by an
    off-the-shelf one. Rows or architectures missing ``size`` or ``top1`` are skipped
    (their result is ``NaN`` / not counted)."""
    for frame, name in ((points, "points"), (architectures, "architectures")):
        missing = [c for c in (size, "top1") if c not in frame.columns]
        if missing:
            raise KeyError(f"{name} lacks columns {missing}")
    reference = architectures.dropna(subset=[size, "top1"])
    result = pd.Series(np.nan, index=points.index, dtype=object, name=f"dominated_by_{size}")
    for index, row in points.dropna(subset=[size, "top1"]).iterrows():
        better = (reference[size] <= row[size]) & (reference["top1"] >= row["top1"])
        result[index] = bool(better.any())
    return result
