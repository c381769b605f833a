"""Lion, dynamic FP8 scaling, the torchao baseline and the GPU benchmark's bookkeeping
(effnotes.unit_scaling.lion, .formats, .torchao_float8, .gpu_bench, .summary), on the CPU."""

from __future__ import annotations

import importlib.util
import math
import warnings

import pandas as pd
import pytest
import torch
from conftest import cpu_scaled_mm_works

from effnotes.unit_scaling import E4M3, E5M2, Decoder, DecoderConfig, quantize
from effnotes.unit_scaling import gpu_bench, torchao_float8
from effnotes.unit_scaling.formats import dynamic_scale, quantize_dynamic
from effnotes.unit_scaling.functional import scaled_linear
from effnotes.unit_scaling.lion import Lion
from effnotes.unit_scaling.summary import mean_interval, precision_gaps
from effnotes.unit_scaling.train import TrainSettings, train_decoder

HAS_TORCHAO = importlib.util.find_spec("torchao") is not None


# --- Lion ----------------------------------------------------------------------------------


def test_lion_two_steps_by_hand():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
    opt = Lion([p], lr=0.1, betas=(0.9, 0.99), weight_decay=0.5)
    p.grad = torch.tensor([0.3, -0.1, 0.0])
    opt.step()
    # p * (1 - 0.1 * 0.5) - 0.1 * sign(0.1 * g); m = 0.01 * g
    assert torch.allclose(p.data, torch.tensor([0.85, -1.8, 0.475]))
    assert torch.allclose(opt.state[p]["momentum"], torch.tensor([0.003, -0.001, 0.0]))
    p.grad = torch.tensor([-0.05, 0.2, 0.0])
    opt.step()
    # c = 0.9 m + 0.1 g = [-0.0023, 0.0191, 0]: sign [-1, 1, 0]. (With beta2 in place of
    # beta1 the first entry would be 0.99 * 0.003 + 0.01 * -0.05 > 0, the other sign.)
    assert torch.allclose(p.data, torch.tensor([0.85 * 0.95 + 0.1, -1.8 * 0.95 - 0.1,
                                                0.475 * 0.95]))
    assert torch.allclose(opt.state[p]["momentum"],
                          torch.tensor([0.99 * 0.003 - 0.0005, -0.00099 + 0.002, 0.0]))


def test_lion_checks_its_arguments_and_skips_parameters_without_gradients():
    p = torch.nn.Parameter(torch.ones(2))
    for bad in (dict(lr=0.0), dict(lr=float("nan")), dict(betas=(0.9, 1.0)),
                dict(weight_decay=-1.0)):
        with pytest.raises(ValueError):
            Lion([p], **bad)
    opt = Lion([p], lr=0.1)
    opt.step()  # no gradient: nothing moves, no state
    assert torch.equal(p.data, torch.ones(2)) and not opt.state


def test_training_with_lion_lowers_the_loss_and_unknown_optimizers_are_refused():
    from effnotes.unit_scaling.data import ByteSplit

    with pytest.raises(ValueError, match="unknown optimizer"):
        TrainSettings(optimizer="sgd")
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 8, (4000,), generator=g)  # 8 symbols: easy to learn
    data = ByteSplit(train=tokens[:3600], val=tokens[3600:])
    config = DecoderConfig(d_model=32, n_layers=1, n_heads=2, seq_len=16)
    run = train_decoder(config, data, TrainSettings(steps=30, batch_size=8, lr=0.05,
                                                    warmup_steps=3, optimizer="lion"))
    assert not run.diverged and run.curve["loss"].iloc[-1] < run.curve["loss"].iloc[0] - 1.0


# --- dynamic per-tensor scaling --------------------------------------------------------------


def test_dynamic_scaling_fills_the_format_and_spares_tiny_tensors():
    z = torch.randn(10_000, generator=torch.Generator().manual_seed(0))
    tiny = 1e-7 * z
    assert float(dynamic_scale(tiny, E5M2)) == pytest.approx(E5M2.max / float(tiny.abs().max()),
                                                            rel=1e-6)
    # a plain cast flushes all of it to zero; with a dynamic scale the rounding error is
    # E5M2's, as for a unit-scale tensor
    assert float(quantize(tiny, E5M2).abs().max()) == 0.0
    rel = ((quantize_dynamic(tiny, E5M2) - tiny).abs() / tiny.abs()).median()
    assert float(rel) < 0.1
    assert torch.equal(quantize_dynamic(torch.zeros(3), E4M3), torch.zeros(3))
    assert quantize_dynamic(z.bfloat16(), E4M3).dtype == torch.bfloat16


def test_dynamic_fp8_linear_keeps_gradients_that_a_plain_cast_flushes():
    x = torch.randn(8, 16, requires_grad=True)
    w = torch.randn(4, 16, requires_grad=True)
    grads = {}
    for precision in ("fp8_sim", "fp8_sim_dynamic"):
        x.grad = None
        (scaled_linear(x, w, precision=precision) * 1e-9).sum().backward()
        grads[precision] = x.grad.clone()
    assert float(grads["fp8_sim"].abs().max()) == 0.0
    assert float(grads["fp8_sim_dynamic"].abs().min()) > 0.0


def test_precision_gaps_reads_the_dynamic_arm():
    runs = pd.DataFrame({"parametrisation": ["sp", "sp", "sp", "mus", "mus"],
                         "precision": ["fp32", "fp8_sim", "fp8_sim_dynamic", "fp32", "fp8_sim"],
                         "final_loss": [2.0, 2.4, 2.02, 1.9, 1.9]})
    dynamic = precision_gaps(runs, "fp8_sim_dynamic")
    assert dynamic["sp"] == pytest.approx(0.01) and math.isnan(dynamic["mus"])


# --- intervals, visits and logits -------------------------------------------------------------


def test_mean_interval_by_hand():
    out = mean_interval([1.0, 2.0, 3.0])
    # sd 1, n 3, t(0.975, 2) = 4.3027 (tables): half-width 4.3027 / sqrt(3) = 2.4842
    assert out["mean"] == 2.0 and out["sd"] == pytest.approx(1.0)
    assert out["low"] == pytest.approx(2 - 2.4842, abs=1e-3)
    assert out["high"] == pytest.approx(2 + 2.4842, abs=1e-3)
    single = mean_interval([0.5])
    assert single["mean"] == 0.5 and math.isnan(single["low"])
    assert math.isnan(mean_interval([1.0, float("nan")])["high"])
    with pytest.raises(ValueError, match="non-empty"):
        mean_interval([])


def test_summarise_visits_pairs_each_round_with_the_baseline():
    rows = gpu_bench.summarise_visits({"bf16": [0.30, 0.28, 0.29], "fp8": [0.20, 0.21, 0.20],
                                       "torchao_tensorwise": []})
    by = {r["arm"]: r for r in rows}
    assert set(by) == {"bf16", "fp8"}
    assert by["fp8"]["step_s"] == 0.20 and by["fp8"]["step_max_s"] == 0.21
    assert by["fp8"]["speedup"] == pytest.approx(1.45)  # median of 1.5, 1.333, 1.45
    assert by["fp8"]["speedup_min"] == pytest.approx(0.28 / 0.21)
    assert by["bf16"]["speedup"] == 1.0
    table = gpu_bench.step_time_table({"sizes": {"d64": {
        "arms": rows, "unavailable": {"torchao_rowwise": "torchao is not installed"}}}})
    assert list(table["unavailable"]) == ["", "", "torchao is not installed"]


def test_logit_agreement_by_hand():
    ref = torch.tensor([[[2.0, 0.0], [0.0, 1.0]]])
    out = gpu_bench.logit_agreement(ref, ref + torch.tensor([[[0.0, 3.0], [0.0, 0.0]]]),
                                    torch.tensor([[0, 1]]))
    assert out["relative_l2"] == pytest.approx(3 / math.sqrt(5))
    assert out["max_abs"] == 3.0 and out["argmax_agreement"] == 0.5
    assert out["reference_loss"] == pytest.approx(math.log(1 + math.exp(-2)) / 2
                                                  + math.log(1 + math.exp(-1)) / 2)
    with pytest.raises(ValueError, match="shapes disagree"):
        gpu_bench.logit_agreement(ref, ref[..., :1], torch.tensor([[0, 1]]))


def test_inference_parity_on_the_cpu_compares_fp8_with_bf16_of_the_same_weights():
    torch.manual_seed(0)
    config = DecoderConfig(d_model=32, n_layers=1, n_heads=2, seq_len=16)
    mus = Decoder(config.replace(precision="fp8_sim"))
    sp = Decoder(config.replace(parametrisation="sp"))
    twin = gpu_bench.same_weights(mus, "fp32")
    assert twin.config.precision == "fp32" and torch.equal(twin.head.weight, mus.head.weight)
    ids = torch.randint(0, 256, (2, 16))
    out = gpu_bench.inference_parity(mus, sp, ids, ids)
    assert out["sp"]["fp8_precision"] == "fp8_sim_dynamic"
    for entry in out.values():
        assert 0 < entry["relative_l2"] < 0.5 and 0 <= entry["argmax_agreement"] <= 1
        assert math.isfinite(entry["loss"]) and math.isfinite(entry["reference_loss"])


# --- arms and the torchao baseline ------------------------------------------------------------


def test_arms_say_why_they_cannot_run_on_the_cpu():
    assert gpu_bench.arm_unavailable_reason("bf16", "cpu") is None
    assert "not a CUDA device" in gpu_bench.arm_unavailable_reason("fp8", "cpu")
    reason = gpu_bench.arm_unavailable_reason("torchao_rowwise_sp", "cpu")
    assert reason is not None and (HAS_TORCHAO or "torchao is not installed" in reason)
    with pytest.raises(ValueError, match="unknown arms"):
        gpu_bench.ThroughputConfig(arms=("bf16", "int8"))
    with pytest.raises(RuntimeError, match="CUDA"):
        gpu_bench.compare_step_times(gpu_bench.ThroughputConfig(**gpu_bench.TINY["throughput"]),
                                     "cpu")
    for config in gpu_bench.STEP_TIME_CONFIGS.values():
        assert config.rounds >= 3 and config.arms[0] == "bf16"


def test_to_nn_linear_keeps_the_function_and_the_weights():
    torch.manual_seed(0)
    model = Decoder(DecoderConfig(d_model=32, n_layers=2, n_heads=2, seq_len=16))
    ids = torch.randint(0, 256, (2, 16))
    before = model(ids)
    weight = model.blocks[1].down.weight
    assert torchao_float8.to_nn_linear(model) == 8
    assert isinstance(model.blocks[1].down.linear, torch.nn.Linear)
    assert model.blocks[1].down.linear.weight is weight
    assert torch.allclose(model(ids), before, atol=1e-5)
    fp8 = Decoder(DecoderConfig(d_model=32, n_layers=1, n_heads=2, seq_len=16,
                                precision="fp8_sim"))
    with pytest.raises(ValueError, match="full-precision"):
        torchao_float8.to_nn_linear(fp8)
    with pytest.raises(ValueError, match="unknown torchao float8 recipe"):
        torchao_float8.convert_decoder(model, "blockwise")


def test_convert_decoder_without_torchao_says_so(monkeypatch):
    monkeypatch.setattr(torchao_float8.importlib.util, "find_spec", lambda name: None)
    model = Decoder(DecoderConfig(d_model=32, n_layers=1, n_heads=2, seq_len=16))
    with pytest.raises(RuntimeError, match="torchao is not installed"):
        torchao_float8.convert_decoder(model, "tensorwise")
    assert isinstance(model.blocks[0].qkv, torchao_float8.Linear)  # left as it was


@pytest.mark.skipif(not HAS_TORCHAO, reason="torchao is not installed")
def test_convert_decoder_swaps_in_torchao_float8_linear():
    model = Decoder(DecoderConfig(d_model=32, n_layers=1, n_heads=2, seq_len=16))
    torchao_float8.convert_decoder(model, "tensorwise")
    assert type(model.blocks[0].up.linear).__name__ == "Float8Linear"


# --- the FP8 layer's backward computes only what is asked for ---------------------------------


@pytest.mark.skipif(not cpu_scaled_mm_works(), reason="this torch has no FP8 GEMM on the CPU")
def test_fp8_backward_computes_only_the_gradients_needed():
    from effnotes.unit_scaling import fp8_cuda

    g = torch.Generator().manual_seed(3)
    x = torch.randn(32, 64, generator=g).to(torch.float8_e4m3fn).float()
    w = torch.randn(48, 64, generator=g).to(torch.float8_e4m3fn).float()
    grad = torch.randn(32, 48, generator=g).to(torch.float8_e5m2).bfloat16()
    scale, one = torch.tensor(1 / 8.0), torch.tensor(1.0)
    both = [x.clone().requires_grad_(), w.clone().requires_grad_()]
    fp8_cuda.FP8LinearFunction.apply(*both, scale, one).backward(grad)
    for needs in ((True, False), (False, True)):
        xs = x.clone().requires_grad_(needs[0])
        ws = w.clone().requires_grad_(needs[1])
        fp8_cuda.FP8LinearFunction.apply(xs, ws, scale, one).backward(grad)
        for tensor, full, needed in ((xs, both[0], needs[0]), (ws, both[1], needs[1])):
            assert (tensor.grad is not None) == needed
            if needed:
                assert torch.equal(tensor.grad, full.grad)


def test_decoder_with_dynamic_fp8_trains_a_step():
    model = Decoder(DecoderConfig(d_model=32, n_layers=1, n_heads=2, seq_len=16,
                                  parametrisation="sp", precision="fp8_sim_dynamic"))
    ids = torch.randint(0, 256, (2, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = model.loss(ids, ids)
    loss.backward()
    assert torch.isfinite(loss) and model.blocks[0].qkv.weight.grad.abs().sum() > 0


# --- the chapter's reading of the stored GPU runs ---------------------------------------------


def _stored_like(gap_values, sp_values, argmax=0.97, fp8_loss=1.80):
    gaps = {}
    for reference, values in (("mus_bf16", gap_values), ("sp_bf16", sp_values)):
        for loss in ("final_loss_gap", "val_loss_gap"):
            gaps[f"{reference}_{loss}"] = mean_interval(values)
    inference = {f"inference_{m}_{k}": v for m in ("mus", "sp") for k, v in
                 (("relative_l2", 0.01), ("argmax_agreement", argmax), ("loss", fp8_loss),
                  ("reference_loss", 1.79))}
    return {"parity_gaps": gaps, **inference}


def _steps_like(fp8_times, tao_times, wide=(0.5, 0.4)):
    def size(visits):
        return {"arms": gpu_bench.summarise_visits(visits), "unavailable": {}}
    return {"sizes": {"d2048": size({"bf16": [0.28] * 3, "fp8": fp8_times,
                                     "torchao_tensorwise": tao_times}),
                      "d4096": size({"bf16": [wide[0]] * 3, "fp8": [wide[1]] * 3})}}


def test_stored_claims_hold_fail_or_are_not_stored():
    from effnotes.unit_scaling.gpu_report import stored_claims

    none = stored_claims(None, None)
    assert set(none["holds"]) == {"not stored"}
    good = stored_claims(_stored_like([0.001, 0.002, 0.0], [-0.05, -0.04, -0.06]),
                         _steps_like([0.20, 0.20, 0.205], [0.25, 0.24, 0.26]))
    assert set(good["holds"]) == {"yes"}, good
    # a gap whose interval reaches past 1%, a slow step, an overlap with torchao, a wide
    # model that is slower in FP8, and a poor arg-max agreement each fail their own claim
    bad = stored_claims(_stored_like([0.001, 0.02, 0.0], [0.02, 0.03, 0.01], argmax=0.9),
                        _steps_like([0.22, 0.21, 0.25], [0.24, 0.25, 0.26], wide=(0.5, 0.6)))
    assert set(bad["holds"]) == {"NO"}, bad
    assert "95% interval" in bad.loc["parity_mus", "evidence"]


def test_parity_and_inference_tables_and_the_step_sentence():
    from effnotes.unit_scaling import gpu_report

    assert gpu_report.parity_table({"final_loss_gap": 0.01}) is None  # an older stored run
    assert gpu_report.inference_table({}) is None
    assert gpu_report.step_time_sentence(None) == "not stored yet"
    table = gpu_report.parity_table(_stored_like([0.01, 0.02, 0.03], [0.0, 0.0, 0.0]))
    assert list(table["against"]) == ["μS-BF16"] * 2 + ["SP-BF16"] * 2
    assert table.loc[0, "mean_gap_pct"] == pytest.approx(2.0)
    assert table.loc[0, "per_seed_pct"] == "1.00, 2.00, 3.00"
    sentence = gpu_report.step_time_sentence(_steps_like([0.2] * 3, [0.25] * 3))
    assert sentence.startswith("μS, effnotes FP8 (static scales) 1.40×")
    assert sentence.endswith("Fastest: μS, effnotes FP8 (static scales)")


def test_the_step_time_view_keeps_every_value_under_shorter_headings():
    from effnotes.unit_scaling import gpu_report

    rows = gpu_bench.summarise_visits({"bf16": [0.30, 0.28, 0.29], "fp8": [0.20, 0.21, 0.20]})
    table = gpu_bench.step_time_table({"sizes": {"d64": {"arms": rows, "unavailable": {}}}})
    view = gpu_report.step_time_view(table)
    assert list(view.index) == list(zip(table["model"], table["arm"]))
    for heading, column in gpu_report.STEP_VIEW_COLUMNS.items():
        if column != "unavailable":
            assert list(view[heading]) == list(table[column]), column
    # no arm failed: the column of reasons is left out; a failed arm brings it back
    assert ("not run because", "") not in view.columns
    failed = gpu_bench.step_time_table({"sizes": {"d64": {
        "arms": rows, "unavailable": {"torchao_rowwise": "torchao is not installed"}}}})
    reasons = gpu_report.step_time_view(failed)[("not run because", "")]
    assert list(reasons) == ["", "", "torchao is not installed"]
    before = table.copy()
    with pytest.raises(ValueError, match=r"lacks the step_time_table columns \['speedup_max'\]"):
        gpu_report.step_time_view(table.drop(columns="speedup_max"))
    with pytest.raises(TypeError, match="table must be a DataFrame"):
        gpu_report.step_time_view(rows)
    pd.testing.assert_frame_equal(table, before)


def test_parity_bench_end_to_end_on_the_cpu(monkeypatch):
    """The whole loss- and inference-parity path at toy size, with the CUDA check lifted
    (the FP8 arm then runs the simulation, warning once), read back by the chapter's report."""
    from effnotes.unit_scaling import gpu_report
    from effnotes.unit_scaling.data import ByteSplit

    monkeypatch.setattr(gpu_bench, "_require_cuda", lambda device: None)
    tokens = torch.randint(0, 16, (6000,), generator=torch.Generator().manual_seed(0))
    data = ByteSplit(train=tokens[:5000], val=tokens[5000:])
    config = gpu_bench.ParityConfig(d_model=32, n_layers=1, n_heads=2, seq_len=32, batch_size=4,
                                    steps=4, warmup_steps=1, seeds=(0, 1), compile=False,
                                    log_every=2, eval_batches=1, inference_windows=2,
                                    base_width=32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        flat = gpu_bench.run_gpu_bench(None, config, data, "cpu")
    assert len(flat["parity"]["runs"]) == 6 and len(flat["parity"]["gaps"]) == 4
    assert flat["final_loss_gap"] == flat["parity_gaps"]["mus_bf16_final_loss_gap"]["mean"]
    assert 0 <= flat["inference_mus_argmax_agreement"] <= 1 and "inference_error" not in flat
    claims = gpu_report.stored_claims(flat, None)
    assert claims.loc["parity_mus", "holds"] in ("yes", "NO")
    assert claims.loc["speed_goal", "holds"] == "not stored"
    assert len(gpu_report.parity_table(flat)) == 4 and len(gpu_report.inference_table(flat)) == 2


def test_compare_step_times_alternates_arms_and_records_failures(monkeypatch):
    order = []

    def fake_visit(config, arm, device):
        order.append(arm)
        if arm == "torchao_rowwise":
            raise RuntimeError("out of memory")
        return {"arm": arm, "step_s": {"bf16": 0.3, "fp8": 0.2}[arm]}

    monkeypatch.setattr(gpu_bench, "_require_cuda", lambda device: None)
    monkeypatch.setattr(gpu_bench, "time_training_steps", fake_visit)
    monkeypatch.setattr(gpu_bench, "release_compiled", lambda: None)
    monkeypatch.setattr(gpu_bench, "apply_torchao_compile_settings", lambda: None)
    monkeypatch.setattr(gpu_bench, "arm_unavailable_reason",
                        lambda arm, device: "torchao is not installed"
                        if arm == "torchao_tensorwise" else None)
    config = gpu_bench.ThroughputConfig(arms=("bf16", "fp8", "torchao_tensorwise",
                                              "torchao_rowwise"), rounds=3)
    out = gpu_bench.compare_step_times(config, "cpu")
    # round 0 forwards, round 1 backwards; the arm that failed is not visited again
    assert order == ["bf16", "fp8", "torchao_rowwise", "fp8", "bf16", "bf16", "fp8"]
    assert out["unavailable"] == {"torchao_tensorwise": "torchao is not installed",
                                  "torchao_rowwise": "RuntimeError: out of memory"}
    by = {row["arm"]: row for row in out["arms"]}
    assert by["fp8"]["visits"] == 3 and by["fp8"]["speedup"] == pytest.approx(1.5)
    assert out["torchao_compile_settings"] is True
    table = gpu_bench.step_time_table({"sizes": {"d": out}})
    assert len(table) == 4 and (table["unavailable"] != "").sum() == 2
