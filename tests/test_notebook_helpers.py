import numpy as np
import pytest

from effnotes.notebook import _plain, glue_values


def test_plain_values():
    assert _plain("a", np.float64(1.5)) == 1.5 and type(_plain("a", np.float64(1.5))) is float
    assert type(_plain("a", np.int64(3))) is int
    assert _plain("a", np.bool_(True)) is True
    assert _plain("a", "text") == "text"


@pytest.mark.parametrize("bad, error", [(float("nan"), ValueError), (np.inf, ValueError),
                                        ([1, 2], TypeError), (None, TypeError)])
def test_bad_glue_values(bad, error):
    with pytest.raises(error, match="'x'"):
        _plain("x", bad)


def test_glue_values_outside_a_kernel_runs(capsys):
    glue_values(answer=np.float64(42.0))  # displays nothing when display=False


def test_interval_text_scales_and_formats_a_triple():
    from effnotes.notebook import interval_text

    assert interval_text((-0.0861, -0.1159, -0.0571)) == "-0.086 (95% interval -0.116 to -0.057)"
    assert interval_text((0.033, 0.003, 0.063), 100, "+.1f") == "+3.3 (95% interval +0.3 to +6.3)"


def test_claims_record_round_trips_through_an_executed_notebook(tmp_path):
    """show_claims glues the judged claims; the build reads them back from the executed
    notebook for the Claims page."""
    import nbformat
    import papermill
    from nbformat.v4 import new_code_cell, new_notebook

    from effnotes.build import claims_markdown
    from effnotes.execution import ChapterRun
    from effnotes.notebook import claims_record

    source = ("from effnotes.claims import Claim, claims_table\n"
              "from effnotes.notebook import _glue_claims_record\n"
              "live = claims_table([Claim.at_least('a', 'A holds', 3, 2),\n"
              "                     Claim.true('b', 'B | holds', False, kind='correctness')])\n"
              "stored = claims_table([Claim.at_least('a', 'A holds', float('nan'), 2)])\n"
              "_glue_claims_record('speedup', 'ci', live, {'gpu': stored})")
    notebook = new_notebook(cells=[new_code_cell(source)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, tmp_path / "in.ipynb")
    papermill.execute_notebook(str(tmp_path / "in.ipynb"), str(tmp_path / "speedup.ipynb"),
                               kernel_name="python3", progress_bar=False)
    record = claims_record(tmp_path / "speedup.ipynb")
    assert record["chapter"] == "speedup" and [r["name"] for r in record["live"]] == ["a", "b"]
    assert record["stored"]["gpu"][0]["value"] is None  # NaN stored as null
    run = ChapterRun(chapter="speedup", profile="ci", status="ok", wall_s=1.0,
                     output=str(tmp_path / "speedup.ipynb"), finished_utc="", parameters={})
    page = claims_markdown([run])
    assert "1 of 2 claims hold" in page and "B \\| holds" in page
    assert "not in this run" in page and "did not measure" in page
    assert claims_record(tmp_path / "in.ipynb") is None


def test_wrapping_table_shows_text_in_full_escaped_with_breakable_names():
    import pandas as pd

    from effnotes.notebook import wrapping_table

    sentence = "A claim whose sentence is longer than the fifty characters pandas shows, with a < b."
    table = pd.DataFrame({"claim": [sentence]}, index=pd.Index(["a_long_name"], name="name"))
    shown = wrapping_table(table).to_html()
    assert "a_<wbr>long_<wbr>name" in shown
    assert "with a &lt; b." in shown and sentence.split(" with")[0] in shown
    assert table.index[0] == "a_long_name"  # the table itself is unchanged
