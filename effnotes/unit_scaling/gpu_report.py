"""Reading the stored GPU runs for the chapter: tables, sentences and the stored claims.

The chapter's GPU figures come from two stored results: the ``gpu`` profile
(``results/unit_scaling/gpu.json``: loss parity over seeds and inference parity, from
:func:`.gpu_bench.run_gpu_bench`) and the step-time comparison
(``results/unit_scaling/gpu_step_times.json``, from ``gpu_bench --step-times``). Either may
be missing, or older than the fields read here; every function then says "not stored".

:data:`STORED_CLAIMS` are the claims about those runs, fixed before the runs were made.
:func:`stored_claims` checks each one against the data and says whether it holds, with the
evidence; a claim that fails is reported as failing, not hidden.
"""

from __future__ import annotations

import math

import pandas as pd

from effnotes.unit_scaling.bench_claims import (SPEED_TARGET, STEP_TIME_CLAIMS, step_arm,
                                                step_time_claims)
from effnotes.unit_scaling.gpu_bench import ARMS, step_time_table

#: the two references of μS-FP8 in the loss-parity runs, with the chapter's names
REFERENCES = {"mus_bf16": "μS-BF16", "sp_bf16": "SP-BF16"}

#: claim id -> the claim, as the chapter states it (the step-time claims are judged by
#: :func:`.bench_claims.step_time_claims`)
STORED_CLAIMS = {
    "parity_mus": "μS-FP8 matches μS-BF16: the 95% interval of the mean final-loss gap over "
                  "seeds lies within ±1%",
    "parity_sp": "μS-FP8 is not worse than SP-BF16 by more than 1%: the 95% interval of the "
                 "mean final-loss gap ends at or below +1%",
    **STEP_TIME_CLAIMS,
    "inference_mus": "the FP8-trained μS model's FP8 inference agrees with BF16 inference of "
                     "the same weights on at least 95% of arg-max tokens, and its loss is "
                     "within 1% of BF16's",
}


def parity_table(data: dict | None) -> pd.DataFrame | None:
    """The loss-parity gaps of μS-FP8 (``fp8 / reference - 1``, in %) against each
    reference and for the final training and the validation loss: mean, 95% interval, n
    and the per-seed values. ``None`` when ``data`` has no multi-seed parity."""
    if not data or "parity_gaps" not in data:
        return None
    rows = []
    for reference, name in REFERENCES.items():
        for loss in ("final_loss_gap", "val_loss_gap"):
            entry = data["parity_gaps"][f"{reference}_{loss}"]
            rows.append({"against": name, "loss": loss.replace("_gap", ""),
                         "mean_gap_pct": 100 * entry["mean"], "low_pct": 100 * entry["low"],
                         "high_pct": 100 * entry["high"], "seeds": entry["n"],
                         "per_seed_pct": ", ".join(f"{100 * v:.2f}" for v in entry["values"])})
    return pd.DataFrame(rows)


def inference_table(data: dict | None) -> pd.DataFrame | None:
    """FP8 inference against BF16 inference of the same weights, for the μS model (static
    scales) and the SP model (dynamic scales): logit relative L2, arg-max agreement (%) and
    both losses. ``None`` when ``data`` has no such fields."""
    if not data or "inference_mus_relative_l2" not in data:
        return None
    rows = []
    for name, label in (("mus", "μS, FP8-trained; static scales"),
                        ("sp", "SP, BF16-trained; dynamic scales per batch")):
        rows.append({"model": label,
                     "logit_relative_l2": data[f"inference_{name}_relative_l2"],
                     "argmax_agreement_pct": 100 * data[f"inference_{name}_argmax_agreement"],
                     "fp8_loss": data[f"inference_{name}_loss"],
                     "bf16_loss": data[f"inference_{name}_reference_loss"]})
    return pd.DataFrame(rows)


#: the columns of :func:`.gpu_bench.step_time_table` under the page's two-level headings
STEP_VIEW_COLUMNS = {("step time (ms)", "median"): "step_ms",
                     ("step time (ms)", "min"): "step_ms_min",
                     ("step time (ms)", "max"): "step_ms_max", ("visits", ""): "visits",
                     ("speedup over μS-BF16 (×)", "median"): "speedup",
                     ("speedup over μS-BF16 (×)", "min"): "speedup_min",
                     ("speedup over μS-BF16 (×)", "max"): "speedup_max",
                     ("not run because", ""): "unavailable"}


def step_time_view(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`.gpu_bench.step_time_table` laid out to fit the page's content column: a row per
    (model, arm) in the index, and the step time (ms) and the speedup over μS-BF16 (×) each
    under one heading with its median, min and max (the step time's over visits, the
    speedup's over rounds), then the number of visits; the "not run because" column only
    where an arm did not run. The values are the table's own."""
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a DataFrame, got {type(table).__name__}")
    missing = sorted({"model", "arm", *STEP_VIEW_COLUMNS.values()} - set(table.columns))
    if missing:
        raise ValueError(f"table lacks the step_time_table columns {missing}")
    indexed = table.set_index(["model", "arm"])
    view = pd.DataFrame({heading: indexed[column] for heading, column in STEP_VIEW_COLUMNS.items()
                         if column != "unavailable" or (indexed[column] != "").any()})
    view.columns = pd.MultiIndex.from_tuples(view.columns)
    return view


def step_time_sentence(step_data: dict | None, size: str = "d2048") -> str:
    """Each arm's median speedup over μS-BF16 at ``size`` (with its range over rounds), the
    fastest arm, and the arms that could not run; "not stored yet" without data."""
    if not step_data or size not in step_data.get("sizes", {}):
        return "not stored yet"
    entry = step_data["sizes"][size]
    rows = [r for r in entry["arms"] if r["arm"] != "bf16"]
    parts = [f"{r['label']} {r['speedup']:.2f}× ({r['speedup_min']:.2f}–{r['speedup_max']:.2f})"
             for r in sorted(rows, key=lambda r: -r["speedup"])]
    fastest = min(entry["arms"], key=lambda r: r["step_s"])
    text = "; ".join(parts) + f". Fastest: {fastest['label']}"
    if entry["unavailable"]:
        text += ". Not run: " + "; ".join(f"{ARMS[a].label} ({why})"
                                          for a, why in entry["unavailable"].items())
    return text


def _within(value: float, low: float, high: float) -> bool:
    return math.isfinite(value) and low <= value <= high


def stored_claims(data: dict | None, step_data: dict | None) -> pd.DataFrame:
    """Each of :data:`STORED_CLAIMS` checked against the stored runs: ``holds`` is True,
    False, or None where the run it needs is not stored; ``evidence`` gives the figures."""
    results = {}
    table = parity_table(data)
    for claim, reference, bounds in (("parity_mus", "μS-BF16", (-1.0, 1.0)),
                                     ("parity_sp", "SP-BF16", (-math.inf, 1.0))):
        if table is None:
            results[claim] = (None, "no multi-seed parity run stored")
            continue
        row = table[(table["against"] == reference) & (table["loss"] == "final_loss")].iloc[0]
        holds = _within(row["low_pct"], *bounds) and _within(row["high_pct"], *bounds)
        results[claim] = (holds, f"mean gap {row['mean_gap_pct']:+.2f}%, 95% interval "
                                 f"[{row['low_pct']:+.2f}%, {row['high_pct']:+.2f}%] over "
                                 f"{row['seeds']} seeds")
    speed = step_time_claims(step_data or {}).set_index("name")["holds"]
    fp8, tao = (step_arm(step_data or {}, "d2048", arm) for arm in ("fp8", "torchao_tensorwise"))
    if fp8 is None:
        results["speed_goal"] = (None, "no step-time comparison at width 2048 stored")
    else:
        results["speed_goal"] = (speed["speed_goal"],
                                 f"median {fp8['speedup']:.3f}× (rounds "
                                 f"{fp8['speedup_min']:.3f}–{fp8['speedup_max']:.3f}×)")
    if fp8 is None or tao is None:
        results["speed_torchao"] = (None, "effnotes FP8 or torchao tensorwise not stored at "
                                          "width 2048")
    else:
        results["speed_torchao"] = (speed["speed_torchao"],
                                    f"effnotes FP8 {1e3 * fp8['step_min_s']:.1f}–"
                                    f"{1e3 * fp8['step_max_s']:.1f} ms, torchao "
                                    f"{1e3 * tao['step_min_s']:.1f}–"
                                    f"{1e3 * tao['step_max_s']:.1f} ms")
    wide = step_arm(step_data or {}, "d4096", "fp8")
    if wide is None:
        results["speed_wide"] = (None, "no step-time comparison at width 4096 stored")
    else:
        results["speed_wide"] = (speed["speed_wide"],
                                 f"speedup {wide['speedup_min']:.3f}–{wide['speedup_max']:.3f}× "
                                 f"over {wide['visits']} rounds")
    inference = inference_table(data)
    if inference is None:
        results["inference_mus"] = (None, "no FP8-against-BF16 inference run stored" + (
            f" (the run failed: {data['inference_error']})" if data and "inference_error" in data
            else ""))
    else:
        row = inference.iloc[0]
        loss_gap = row["fp8_loss"] / row["bf16_loss"] - 1
        results["inference_mus"] = (row["argmax_agreement_pct"] >= 95.0 and abs(loss_gap) <= 0.01,
                                    f"arg-max agreement {row['argmax_agreement_pct']:.2f}%, "
                                    f"loss {row['fp8_loss']:.4f} against {row['bf16_loss']:.4f} "
                                    f"({100 * loss_gap:+.2f}%)")
    rows = [{"claim": text, "holds": {True: "yes", False: "NO", None: "not stored"}[
                 None if results[key][0] is None else bool(results[key][0])],
             "evidence": results[key][1]} for key, text in STORED_CLAIMS.items()]
    return pd.DataFrame(rows, index=list(STORED_CLAIMS))


def shape_sentence(config: dict | None) -> str:
    """A stored benchmark's model shape in words ("width 2048, 24 layers, sequences of 2048
    bytes, 8 sequences a step"), from its config dict; "not stored" without one."""
    if not config:
        return "not stored"
    text = (f"width {config['d_model']}, {config['n_layers']} layers, sequences of "
            f"{config['seq_len']}, {config['batch_size']} sequences "
            f"({config['batch_size'] * config['seq_len']:,} tokens) a step")
    if "steps" in config:
        text += f", {config['steps']} steps"
    if "seeds" in config:
        text += f", seeds {', '.join(str(s) for s in config['seeds'])}"
    return text


def show_gpu_runs() -> dict:
    """Display the stored GPU runs on the chapter's page: the step-time table
    (``gpu_step_times.json``), the loss-parity and inference-parity tables of the ``gpu`` run
    and its parity curves, or a note for each that is not stored; then the claims about the
    step times (:func:`stored_claims`). Returns the values the page glues (sources, shapes,
    the speed target, sentences)."""
    import matplotlib.pyplot as plt
    from IPython.display import Markdown, display

    from effnotes.contract import stored_result
    from effnotes.notebook import wrapping_table
    from effnotes.results import has_result, load_result
    from effnotes.unit_scaling.plots import plot_parity_curves

    stored = stored_result("unit_scaling", "gpu")
    data = None if stored is None else dict(stored.data)
    steps = load_result("unit_scaling", "gpu_step_times") \
        if has_result("unit_scaling", "gpu_step_times") else None
    step_data = None if steps is None else steps.data
    tables = {"step-time comparison":
              None if step_data is None else step_time_view(step_time_table(step_data)),
              "loss parity": parity_table(data), "inference parity": inference_table(data)}
    for title, table in tables.items():
        display(Markdown(f"*No {title} of this kind is stored yet.*") if table is None
                else table.round(3))
    if tables["loss parity"] is not None:
        plot_parity_curves(data["parity"]["curves"], stored.provenance.get("device", "?"))
        plt.show()
    claims = stored_claims(data, step_data)
    speed = claims.loc[["speed_goal", "speed_torchao", "speed_wide"]]
    display(wrapping_table(speed.rename(columns={"holds": "holds on the stored run"})))
    sizes = (step_data or {}).get("sizes", {})
    parity_config = (data or {}).get("parity", {}).get("config")
    return {"step_source": "not stored yet" if steps is None else steps.describe(),
            "gpu_source": "not stored yet" if stored is None else stored.describe(),
            "steps_d2048": step_time_sentence(step_data, "d2048"),
            "steps_d4096": step_time_sentence(step_data, "d4096"),
            "shape_d2048": shape_sentence(sizes.get("d2048", {}).get("config")),
            "shape_d4096": shape_sentence(sizes.get("d4096", {}).get("config")),
            "parity_shape": shape_sentence(parity_config),
            "parity_base_width": str((parity_config or {}).get("base_width", "?")),
            "speed_target": SPEED_TARGET,
            "speed_goal_verdict": claims.loc["speed_goal", "holds"],
            "speed_goal_evidence": claims.loc["speed_goal", "evidence"],
            "parity_mus_evidence": claims.loc["parity_mus", "evidence"],
            "parity_sp_evidence": claims.loc["parity_sp", "evidence"],
            "inference_mus_evidence": claims.loc["inference_mus", "evidence"]}


def show_kernel_profile() -> str:
    """Display the stored kernel-time profile (``gpu_profile.json``: GPU kernel time per
    step, ms, by category, BF16 and FP8) as a table and a bar chart, and return the
    sentence the page glues: its Amdahl reading (:func:`.gpu_profile.gemm_amdahl`), or that
    no profile is stored."""
    import matplotlib.pyplot as plt
    from IPython.display import Markdown, display

    from effnotes.results import as_frame, has_result, load_result
    from effnotes.unit_scaling.gpu_profile import gemm_amdahl
    from effnotes.unit_scaling.plots import plot_kernel_breakdown

    if not has_result("unit_scaling", "gpu_profile"):
        display(Markdown("*No stored GPU profile yet.*"))
        return "No profile is stored yet"
    profile = load_result("unit_scaling", "gpu_profile")
    breakdown = as_frame(profile.data["breakdown"]).set_index("category")
    display(breakdown.round(2))
    plot_kernel_breakdown(breakdown)
    plt.show()
    amdahl = gemm_amdahl(breakdown)
    return (f"The profile ({profile.describe()}) puts {100 * amdahl['gemm_share']:.0f}% of the "
            f"BF16 step's kernel time in GEMMs, which ran {amdahl['gemm_factor']:.2f}× faster "
            f"in FP8; Amdahl's law turns that into {amdahl['predicted_speedup']:.2f}× for the "
            f"step (the arms' total kernel times differ by {amdahl['kernel_time_ratio']:.2f}×). "
            f"Even GEMMs twice as fast would give only "
            f"{amdahl['speedup_if_gemms_doubled']:.2f}×: attention, norms, casts and the "
            "optimiser, which FP8 leaves alone, cap the step's gain")


__all__ = ["REFERENCES", "SPEED_TARGET", "STEP_VIEW_COLUMNS", "STORED_CLAIMS", "inference_table",
           "parity_table", "shape_sentence", "show_gpu_runs", "show_kernel_profile", "step_time_sentence",
           "step_time_table", "step_time_view", "stored_claims"]
