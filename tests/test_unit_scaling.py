"""The unit_scaling package: FP8 casts, unit-scaled ops, the decoder, scale tracking, the
real-FP8 linear (its _scaled_mm path where torch runs FP8 GEMMs on the CPU) and the
summaries the chapter reads."""

import math
import warnings

import pandas as pd
import pytest
import torch
from conftest import cpu_scaled_mm_works

from effnotes.unit_scaling import functional as U
from effnotes.unit_scaling.analysis import hidden_linear_scales, residual_rms, track_scales
from effnotes.unit_scaling.data import byte_tokens, random_windows, split_bytes
from effnotes.unit_scaling.formats import (E4M3, E5M2, cast_backward, cast_forward, get_format,
                                           quantize, saturation_fraction, underflow_fraction)
from effnotes.unit_scaling.model import Decoder, DecoderConfig, optimizer_groups
from effnotes.unit_scaling.summary import (best_learning_rates, best_lr_shift, precision_gaps,
                                           transfer_penalty)
from effnotes.unit_scaling.variance import (attention_variance, attention_variance_exact,
                                            monte_carlo_variances)

# --- formats -------------------------------------------------------------------------------


def test_unknown_format_is_named():
    with pytest.raises(ValueError, match="unknown FP8 format 'e3m4'"):
        get_format("e3m4")
    assert get_format("E4M3") is E4M3


def test_casts_clip_instead_of_overflowing():
    x = torch.tensor([1e6, -1e6, 500.0, 1.0])
    q4, q5 = quantize(x, "e4m3"), quantize(x, "e5m2")
    assert torch.isfinite(q4).all() and torch.isfinite(q5).all()
    assert q4.tolist()[:3] == [448.0, -448.0, 448.0] and q5[0] == 57344.0
    assert saturation_fraction(x, "e4m3") == pytest.approx(0.75)


def test_rounding_error_and_underflow_match_the_formats():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200_000, generator=g)
    rel4 = ((quantize(x, E4M3) - x).abs() / x.abs()).mean()
    rel5 = ((quantize(x, E5M2) - x).abs() / x.abs()).mean()
    assert 0.015 < rel4 < 0.03 and 0.03 < rel5 < 0.055 and rel5 > rel4
    small = 1e-3 * x
    assert 0.6 < underflow_fraction(small, "e4m3") < 0.75
    assert underflow_fraction(small, "e5m2") < 0.01
    assert underflow_fraction(torch.zeros(5), "e4m3") == 0.0


def test_casts_reject_non_float_tensors():
    with pytest.raises(TypeError, match="float16/bfloat16/float32"):
        quantize(torch.arange(3), "e4m3")
    with pytest.raises(TypeError, match="torch.Tensor"):
        underflow_fraction([1.0], "e4m3")


def test_forward_cast_rounds_values_and_passes_gradients_through():
    x = torch.tensor([0.3, 1.7, 1e-4], requires_grad=True)
    y = cast_forward(x, "e4m3")
    assert torch.equal(y.detach(), quantize(x.detach(), "e4m3"))
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones(3))


def test_backward_cast_rounds_the_gradient_only():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = cast_backward(x, "e5m2")
    assert torch.equal(y.detach(), x.detach())
    (y * torch.tensor([1e-7, 0.3])).sum().backward()
    assert x.grad[0] == 0.0 and x.grad[1] == quantize(torch.tensor(0.3), "e5m2")


# --- functional ops and the config ---------------------------------------------------------


def test_unit_scaled_linear_keeps_unit_variance():
    g = torch.Generator().manual_seed(1)
    x, w = torch.randn(512, 256, generator=g), torch.randn(128, 256, generator=g)
    assert U.scaled_linear(x, w).var().item() == pytest.approx(1.0, rel=0.05)
    with pytest.raises(ValueError, match="does not match weight"):
        U.scaled_linear(x, torch.randn(128, 255))
    with pytest.raises(ValueError, match="unknown precision 'fp16'"):
        U.scaled_linear(x, w, precision="fp16")


def test_simulated_fp8_linear_casts_operands_and_output_gradient():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(16, 32, generator=g, requires_grad=True)
    w = torch.randn(8, 32, generator=g, requires_grad=True)
    y = U.scaled_linear(x, w, precision="fp8_sim")
    ref = quantize(x.detach(), "e4m3") @ quantize(w.detach(), "e4m3").T / math.sqrt(32)
    assert torch.allclose(y, ref, atol=1e-5)
    grad = torch.randn(16, 8, generator=g)
    y.backward(grad)
    expected = quantize(grad, "e5m2") @ quantize(w.detach(), "e4m3") / math.sqrt(32)
    assert torch.allclose(x.grad, expected, atol=1e-5)


@pytest.mark.parametrize("tau", [0.0, 1.0, -0.1, 1.5, True, "0.5"])
def test_tau_outside_the_open_unit_interval_is_rejected(tau):
    with pytest.raises(ValueError, match=r"tau must lie in the open interval \(0, 1\)"):
        U.residual_add(torch.ones(2), torch.ones(2), tau)


def test_attention_checks_its_inputs():
    q = torch.randn(1, 2, 5, 4)
    with pytest.raises(ValueError, match="unknown attention variant"):
        U.attention(q, q, q, variant="linear")
    with pytest.raises(ValueError, match=r"\(batch, heads, tokens, head_dim\)"):
        U.attention(q, q[..., :3], q)
    out = U.attention(q, q, q, variant="sqrt_softmax")
    assert out.shape == q.shape


def test_loss_gradient_scale_and_errors():
    logits = torch.randn(2, 3, 5, requires_grad=True)
    targets = torch.randint(0, 5, (2, 3))
    U.cross_entropy(logits, targets).backward()
    mean_grad = logits.grad.clone()
    logits.grad = None
    U.cross_entropy(logits, targets, grad_scale=6.0).backward()
    assert torch.allclose(logits.grad, 6 * mean_grad)
    with pytest.raises(ValueError, match="must agree"):
        U.cross_entropy(logits, targets[:, :2])
    with pytest.raises(ValueError, match="positive finite"):
        U.scale_gradient(logits, 0.0)


@pytest.mark.parametrize("changes, message", [
    ({"d_model": 30, "n_heads": 4}, "not divisible by n_heads"),
    ({"parametrisation": "mup"}, "unknown parametrisation"),
    ({"tau": 1.2}, "open interval"),
    ({"parametrisation": "sp", "tau": 0.2}, "tau is a μS setting"),
    ({"precision": "int8"}, "unknown precision"),
    ({"n_layers": 0}, "n_layers must be a positive integer"),
    ({"attention": "relu"}, "unknown attention variant"),
])
def test_bad_configs_get_clear_errors(changes, message):
    with pytest.raises(ValueError, match=message):
        DecoderConfig(**changes)


def test_decoder_shapes_and_default_tau():
    config = DecoderConfig(d_model=32, n_layers=2, n_heads=4, seq_len=16)
    assert config.residual_tau == 0.4 and config.replace(n_layers=8).residual_tau == 0.1
    assert DecoderConfig(parametrisation="sp").residual_tau is None
    model = Decoder(config)
    ids = torch.randint(0, 256, (3, 16))
    assert model(ids).shape == (3, 16, 256)
    with pytest.raises(ValueError, match="exceed seq_len"):
        model(torch.randint(0, 256, (1, 17)))
    with pytest.raises(ValueError, match=r"\(batch, tokens\)"):
        model(ids[0])
    with pytest.raises(TypeError, match="DecoderConfig"):
        Decoder({"d_model": 32})


def test_mus_keeps_the_residual_stream_at_unit_scale_and_sp_does_not():
    torch.manual_seed(0)
    ids = torch.randint(0, 256, (2, 32))
    frames = {p: track_scales(Decoder(DecoderConfig(d_model=32, n_layers=8, n_heads=2,
                                                    seq_len=32, parametrisation=p)), ids, ids)
              for p in ("mus", "sp")}
    mus_rms, sp_rms = residual_rms(frames["mus"]), residual_rms(frames["sp"])
    assert len(mus_rms) == 8 and mus_rms.between(0.8, 1.25).all()
    assert sp_rms.iloc[-1] > 1.3 * sp_rms.iloc[0] and sp_rms.max() < 0.2  # grows, far from 1
    hidden = {p: hidden_linear_scales(f) for p, f in frames.items()}
    assert hidden["mus"]["grad_underflow"].mean() < hidden["sp"]["grad_underflow"].mean()
    assert set(frames["mus"].columns) >= {"op", "op_type", "layer", "tensor", "direction", "rms",
                                          "format", "underflow", "saturation"}


def test_track_scales_checks_its_inputs():
    model = Decoder(DecoderConfig(d_model=16, n_layers=1, n_heads=2, seq_len=8))
    with pytest.raises(TypeError, match="Decoder"):
        track_scales(torch.nn.Linear(2, 2), torch.zeros(1, 2), torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"\(batch, tokens\)"):
        track_scales(model, torch.zeros(1, 8, dtype=torch.long), torch.zeros(1, 7, dtype=torch.long))


def test_learning_rate_rules_follow_the_parametrisation():
    mus = Decoder(DecoderConfig(d_model=64, n_layers=1, n_heads=2, seq_len=8))
    groups = {g["name"]: g for g in optimizer_groups(mus, 0.01, 0.1, base_width=16)}
    assert groups["hidden"]["lr"] == pytest.approx(0.01 * math.sqrt(16 / 64))
    assert groups["embedding+head"]["lr"] == 0.01 and groups["norms"]["weight_decay"] == 0.0
    # fully decoupled decay: lr * weight_decay is the same for every decayed group
    assert groups["hidden"]["lr"] * groups["hidden"]["weight_decay"] == pytest.approx(0.1)
    sp = Decoder(DecoderConfig(d_model=64, n_layers=1, n_heads=2, seq_len=8, parametrisation="sp"))
    sp_groups = {g["name"]: g for g in optimizer_groups(sp, 0.01, base_width=16, sp_lr_rule=True)}
    assert sp_groups["hidden"]["lr"] == pytest.approx(0.01 * 16 / 64)
    with pytest.raises(ValueError, match="lr must be positive"):
        optimizer_groups(sp, 0.0)


# --- the real-FP8 linear -------------------------------------------------------------------



@pytest.mark.skipif(not cpu_scaled_mm_works(), reason="this torch has no FP8 GEMM on the CPU")
def test_fp8_function_matches_the_simulation_in_all_three_gemms():
    from effnotes.unit_scaling.fp8_cuda import FP8LinearFunction

    g = torch.Generator().manual_seed(3)
    x = torch.randn(32, 64, generator=g, requires_grad=True)
    w = torch.randn(48, 64, generator=g, requires_grad=True)
    scale, one = torch.tensor(1 / 8.0), torch.tensor(1.0)
    y = FP8LinearFunction.apply(x, w, scale, one)
    assert y.dtype == torch.bfloat16 and y.shape == (32, 48)
    xq, wq = quantize(x.detach(), "e4m3"), quantize(w.detach(), "e4m3")
    ref = xq @ wq.T / 8

    def rel(a, b):
        return float((a.detach().float() - b).norm() / b.norm())

    assert rel(y, ref) < 0.01
    grad = torch.randn(32, 48, generator=g).bfloat16()
    y.backward(grad)
    gq = quantize(grad.float(), "e5m2")
    assert x.grad.dtype == x.dtype and w.grad.dtype == w.dtype
    assert rel(x.grad, gq @ wq / 8) < 0.01 and rel(w.grad, gq.T @ xq / 8) < 0.01


def test_fp8_linear_falls_back_to_the_simulation_with_a_message():
    from effnotes.unit_scaling import fp8_cuda

    fp8_cuda._warned.clear()
    layer = fp8_cuda.FP8Linear(32, 16)
    x = torch.randn(4, 32, requires_grad=True)
    with pytest.warns(RuntimeWarning, match="real FP8 GEMMs unavailable .*not on a CUDA device"):
        y = layer(x)
    expected = U.scaled_linear(x, layer.weight, precision="fp8_sim")
    assert torch.allclose(y, expected)
    y.sum().backward()
    assert layer.weight.grad is not None and torch.isfinite(x.grad).all()
    assert fp8_cuda.fp8_unavailable_reason("cpu") == "device cpu is not a CUDA device"
    assert not fp8_cuda.fp8_available("cpu")
    assert "multiple of 16" in fp8_cuda._shape_problem(torch.zeros(8, 32), torch.zeros(16, 32))
    with pytest.raises(ValueError, match="does not match weight"):
        fp8_cuda.fp8_linear(x, torch.zeros(16, 31), 1.0)


def test_decoder_with_fp8_cuda_precision_runs_on_the_cpu_through_the_fallback():
    model = Decoder(DecoderConfig(d_model=32, n_layers=1, n_heads=2, seq_len=16,
                                  precision="fp8_cuda"))
    ids = torch.randint(0, 256, (2, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        loss = model.loss(ids, ids)
    loss.backward()
    assert torch.isfinite(loss)


def test_gpu_bench_configs_and_cpu_refusal():
    from effnotes.unit_scaling import gpu_bench

    with pytest.raises(ValueError, match="compile must be"):
        gpu_bench.ThroughputConfig(compile="max")
    with pytest.raises(RuntimeError, match="needs a CUDA device"):
        gpu_bench.time_training_steps(gpu_bench.ThroughputConfig(**gpu_bench.TINY["throughput"]),
                                      "fp8", "cpu")
    with pytest.raises(ValueError, match="unknown arm"):
        gpu_bench.time_training_steps(gpu_bench.ThroughputConfig(), "fp16", "cpu")
    assert gpu_bench._assignments(["d_model=64", "steps=5"][:1], gpu_bench.ThroughputConfig) == {
        "d_model": 64}
    with pytest.raises(SystemExit, match="bad ParityConfig setting"):
        gpu_bench._assignments(["width=3"], gpu_bench.ParityConfig)
    big = gpu_bench.ThroughputConfig()
    assert 1.2e14 < gpu_bench.step_flops(big) < 1.6e14


# --- variance, data, summaries -------------------------------------------------------------


def test_attention_variance_closed_form_exact_value_and_monte_carlo():
    assert attention_variance(1) == pytest.approx(1.0)
    assert attention_variance_exact(1) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="k must be"):
        attention_variance(0)
    with pytest.raises(ValueError, match="k must be"):
        attention_variance_exact(0)
    frame = monte_carlo_variances(n_samples=40_000, ks=(2, 16), seed=1)
    assert frame["relative_error"].abs().max() < 0.05
    # the closed form is a large-k approximation: far off at k = 2, closer at k = 16
    attn = frame[frame["op"] == "softmax attention"].set_index("k")["formula_error"]
    assert attn[2] > 0.3 and 0 < attn[16] < attn[2]


def test_byte_data_windows_and_errors():
    from effnotes.data.text import Document, TextCorpus

    corpus = TextCorpus((Document("a", "hello world, " * 20),))
    tokens = byte_tokens(corpus, max_bytes=100)
    assert tokens.dtype == torch.int64 and len(tokens) == 100
    split = split_bytes(tokens, 0.2)
    assert len(split.train) == 80 and len(split.val) == 20
    ids, targets = random_windows(split.train, 3, 10, torch.Generator().manual_seed(0))
    assert ids.shape == targets.shape == (3, 10) and torch.equal(ids[:, 1:], targets[:, :-1])
    with pytest.raises(ValueError, match="too few"):
        random_windows(split.val, 1, 30, torch.Generator())
    with pytest.raises(ValueError, match="val_fraction"):
        split_bytes(tokens, 1.0)
    with pytest.raises(ValueError, match="max_bytes"):
        byte_tokens(corpus, max_bytes=1)


def test_summaries_read_best_rates_and_gaps():
    sweep = pd.DataFrame([
        {"parametrisation": p, "width": w, "lr": lr, "loss": loss}
        for p, best in (("mus", {64: 0.01, 256: 0.01}), ("sp", {64: 0.04, 256: 0.01}))
        for w in (64, 256) for lr in (0.01, 0.02, 0.04)
        for loss in [1.0 if lr == best[w] else 2.0]])
    sweep.loc[len(sweep)] = {"parametrisation": "sp", "width": 256, "lr": 0.02, "loss": float("nan")}
    best = best_learning_rates(sweep)
    assert set(best["best_lr"]) == {0.01, 0.04}
    shifts = best_lr_shift(sweep)
    assert shifts["mus"] == 0 and shifts["sp"] == 2
    penalty = transfer_penalty(sweep)  # sp: best at 64 is 0.04, which gives 2.0 at 256 (best 1.0)
    assert penalty["mus"] == 0.0 and penalty["sp"] == pytest.approx(1.0)
    runs = pd.DataFrame({"parametrisation": ["mus", "mus"], "precision": ["fp32", "fp8_sim"],
                         "final_loss": [2.0, 2.02]})
    assert precision_gaps(runs)["mus"] == pytest.approx(0.01)
    with pytest.raises(ValueError, match="lack precision"):
        precision_gaps(runs[runs["precision"] == "fp32"])


def test_experiment_command_stores_the_smoke_profile(stored_profile):
    from effnotes.unit_scaling import experiment

    record = stored_profile(experiment, "unit_scaling", "smoke")
    data = record["data"]
    assert record["provenance"]["profile"] == "smoke"
    assert {"variances", "hidden", "residual", "runs", "curves", "sweep"} <= set(data)
    assert "speedup" not in data  # the GPU benchmark runs only when the profile asks for it
    from effnotes.unit_scaling.claims import headline

    numbers = headline(data)
    assert numbers.notna().sum() >= 6
    assert record["provenance"]["claims"], "--store records the claims it judged"


def test_gpu_profile_sorts_kernel_names_into_categories():
    from effnotes.unit_scaling.gpu_profile import kernel_category

    assert kernel_category("sm90_xmma_gemm_e4m3e4m3_e4m3f32_f32_tn_n") == "GEMMs"
    assert kernel_category("nvjet_tst_128x256_64x4_1x2_h_bz_coopA_TNN") == "GEMMs"
    assert kernel_category("flash_fwd_kernel<Flash_fwd_kernel_traits>") == "attention"
    assert kernel_category("void multi_tensor_apply_kernel<FusedAdamMathFunctor>") == "optimizer"
    assert kernel_category("triton_per_fused_native_layer_norm_0") == "norms"
    assert kernel_category("triton_poi_fused__to_copy_clamp_3") == "casts and copies"
    assert kernel_category("triton_poi_fused_gelu_mul_2") == "other fused element-wise"
    assert kernel_category("some_unknown_kernel") == "other"


def test_gpu_training_step_needs_cuda_and_a_known_arm():
    from effnotes.unit_scaling import gpu_bench

    tiny = gpu_bench.ThroughputConfig(**gpu_bench.TINY["throughput"])
    with pytest.raises(ValueError, match="unknown arm"):
        gpu_bench.build_training_step(tiny, "fp16", "cpu")
    with pytest.raises(RuntimeError, match="CUDA"):
        gpu_bench.build_training_step(tiny, "fp8", "cpu")


def test_gemm_amdahl_reads_the_breakdown():
    import pandas as pd

    from effnotes.unit_scaling.gpu_profile import gemm_amdahl

    table = pd.DataFrame({"category": ["GEMMs", "attention"], "bf16_ms": [60.0, 40.0],
                          "fp8_ms": [30.0, 40.0]})
    out = gemm_amdahl(table)
    assert out["gemm_share"] == pytest.approx(0.6)
    assert out["gemm_factor"] == pytest.approx(2.0)
    assert out["predicted_speedup"] == pytest.approx(1 / (0.4 + 0.3))
    assert out["kernel_time_ratio"] == pytest.approx(100 / 70)
    with pytest.raises(ValueError, match="GEMMs"):
        gemm_amdahl(table[table["category"] != "GEMMs"])
