"""The chapter's whole experiment as one call, for running a profile without Jupyter.

``python -m effnotes.unit_scaling.experiment --profile gpu --store`` runs the variance
checks, the depth analysis, the four training arms (SP/μS x FP32/simulated FP8), the width
sweep and, where the profile asks for it, the real-FP8 GPU benchmark (:mod:`.gpu_bench`),
and stores the outcome as ``results/unit_scaling/<profile>.json`` with provenance. It needs
torch, numpy, pandas, matplotlib and seaborn only.
"""

from __future__ import annotations

import contextlib

import pandas as pd
import torch
from tqdm.auto import tqdm

from effnotes.profile_runner import profile_main
from effnotes.results import as_frame
from effnotes.runtime import choose_device, describe_hardware, torch_threads
from effnotes.unit_scaling.analysis import hidden_linear_scales, residual_rms, track_scales
from effnotes.unit_scaling.data import ByteSplit, byte_tokens, random_windows, split_bytes
from effnotes.unit_scaling.model import Decoder, DecoderConfig
from effnotes.unit_scaling.summary import (best_learning_rates, best_lr_shift, precision_gaps,
                                           transfer_penalty)
from effnotes.unit_scaling.train import TrainSettings, train_decoder
from effnotes.unit_scaling.variance import monte_carlo_variances

CHAPTER = "unit_scaling"


def load_data(params: dict) -> ByteSplit:
    """The byte corpus, truncated to ``params["corpus_bytes"]`` (``None``: all of it): the
    Python prose, or the reader's text file or folder named by ``params["data_path"]``
    (:func:`effnotes.data.text.load_text_data`)."""
    from effnotes.data.paths import resolve_data
    from effnotes.data.text import load_text_data

    path = resolve_data(CHAPTER, params.get("data_path"))
    corpus = load_text_data(path) if path is not None else None
    return split_bytes(byte_tokens(corpus, max_bytes=params["corpus_bytes"]), val_fraction=0.1)


def depth_analysis(params: dict, data: ByteSplit) -> dict:
    """Per-op scales of a deep SP and a deep μS decoder at initialisation, on one batch of
    text: the full tidy frame, the hidden-linear summary and the residual-stream RMS."""
    frames, hidden, residual = [], [], []
    generator = torch.Generator().manual_seed(0)
    ids, targets = random_windows(data.train, params["depth_batch"], params["depth_seq"], generator)
    for param in ("sp", "mus"):
        torch.manual_seed(0)
        model = Decoder(DecoderConfig(d_model=params["depth_width"], n_layers=params["depth_layers"],
                                      n_heads=params["depth_heads"], seq_len=params["depth_seq"],
                                      parametrisation=param))
        frame = track_scales(model, ids, targets).assign(parametrisation=param)
        frames.append(frame)
        hidden.append(hidden_linear_scales(frame).assign(parametrisation=param))
        residual.append(residual_rms(frame).rename("rms").reset_index().assign(parametrisation=param))
    return {"scales": pd.concat(frames, ignore_index=True),
            "hidden": pd.concat(hidden, ignore_index=True),
            "residual": pd.concat(residual, ignore_index=True)}


def training_comparison(params: dict, data: ByteSplit, device: torch.device, *,
                        progress: bool = False) -> dict:
    """SP and μS, each in FP32 and simulated FP8 (a plain cast, as μS prescribes), and SP
    also in simulated FP8 with dynamic per-tensor scales (amax, then cast: the usual
    recipe), same seed and batches: final losses and curves."""
    rows, curves = [], []
    arms = [(p, prec) for p in ("sp", "mus") for prec in ("fp32", "fp8_sim")]
    arms.insert(2, ("sp", "fp8_sim_dynamic"))
    for param, precision in tqdm(arms, desc="SP/μS x FP32/FP8", disable=not progress):
        config = DecoderConfig(d_model=params["train_width"], n_layers=params["train_layers"],
                               n_heads=params["train_heads"], seq_len=params["train_seq"],
                               parametrisation=param, precision=precision)
        settings = TrainSettings(steps=params["train_steps"], batch_size=params["train_batch"],
                                 lr=params[f"lr_{param}"], warmup_steps=params["train_steps"] // 10,
                                 weight_decay=params["weight_decay"], seed=0)
        run = train_decoder(config, data, settings, device=device)
        rows.append({"parametrisation": param, "precision": precision,
                     "final_loss": run.final_loss, "val_loss": run.val_loss,
                     "diverged": run.diverged, "seconds": run.seconds})
        curves.append(run.curve.assign(parametrisation=param, precision=precision))
    return {"runs": pd.DataFrame(rows), "curves": pd.concat(curves, ignore_index=True)}


def width_sweep(params: dict, data: ByteSplit, device: torch.device, *,
                progress: bool = False) -> pd.DataFrame:
    """Final training loss over a grid of peak rates (``sweep_lrs_sp``, ``sweep_lrs_mus``:
    powers of two) at several widths, for SP (one global rate) and μS (hidden rate
    ``lr * sqrt(base/d)``, base = the smallest width)."""
    widths = list(params["sweep_widths"])
    rows = []
    grid = [(p, w, lr) for p in ("sp", "mus") for w in widths for lr in params[f"sweep_lrs_{p}"]]
    for param, width, lr in tqdm(grid, desc="width sweep", disable=not progress):
        config = DecoderConfig(d_model=width, n_layers=params["sweep_layers"],
                               n_heads=params["sweep_heads"], seq_len=params["sweep_seq"],
                               parametrisation=param)
        settings = TrainSettings(steps=params["sweep_steps"], batch_size=params["sweep_batch"],
                                 lr=lr, warmup_steps=params["sweep_steps"] // 10,
                                 weight_decay=params["weight_decay"], seed=0,
                                 base_width=min(widths), max_loss=8.0)
        run = train_decoder(config, data, settings, device=device)
        rows.append({"parametrisation": param, "width": width, "lr": lr,
                     "loss": run.final_loss, "diverged": run.diverged, "seconds": run.seconds})
    return pd.DataFrame(rows)


def gpu_benchmark(params: dict, data: ByteSplit, device: torch.device, *,
                  progress: bool = False) -> dict:
    """The real-FP8 benchmark of :mod:`.gpu_bench` with the sizes in ``params["gpu_bench"]``
    (keys ``throughput`` and ``parity``, each a dict of the config's fields; a missing or
    None ``throughput`` leaves the step times out)."""
    from effnotes.unit_scaling.gpu_bench import ParityConfig, ThroughputConfig, run_gpu_bench

    sizes = params["gpu_bench"]
    speed = sizes.get("throughput")  # None: step times are stored by gpu_bench --step-times
    return run_gpu_bench(None if speed is None else ThroughputConfig(**speed),
                         ParityConfig(**sizes.get("parity", {})), data, device, progress=progress)


def run_profile(params: dict, *, progress: bool = False) -> dict:
    """Run every part of the chapter with ``params`` (a profile's parameters); return plain
    data ready to store. The GPU benchmark runs only when ``params["gpu_bench"]`` is set."""
    device = choose_device(params["device"])
    data = load_data(params)
    threads = params["torch_threads"]
    with torch_threads(threads) if threads else contextlib.nullcontext():
        hardware = describe_hardware(device).as_dict()
        variances = monte_carlo_variances(n_samples=params["mc_samples"], seed=0)
        depth = depth_analysis(params, data)
        training = training_comparison(params, data, device, progress=progress)
        sweep = width_sweep(params, data, device, progress=progress)
    result = {"hardware": hardware, "variances": variances, **depth, **training, "sweep": sweep}
    if params.get("gpu_bench"):
        if device.type != "cuda":
            raise RuntimeError("params['gpu_bench'] is set but the device is not CUDA")
        result.update(gpu_benchmark(params, data, device, progress=progress))
    return result


def headline_numbers(result: dict) -> pd.Series:
    """The chapter's headline figures, so two runs (CPU live, GPU stored) sit side by side."""
    hidden = as_frame(result["hidden"])
    gaps = precision_gaps(result["runs"])
    shifts = best_lr_shift(result["sweep"])
    penalty = transfer_penalty(result["sweep"])
    mus = hidden[hidden["parametrisation"] == "mus"]
    sp = hidden[hidden["parametrisation"] == "sp"]
    numbers = {
        "μS: smallest hidden-linear input RMS": mus["input_rms"].min(),
        "μS: largest hidden-linear input RMS": mus["input_rms"].max(),
        "μS: gradients underflowing in E5M2 (%)": 100 * mus["grad_underflow"].mean(),
        "SP: gradients underflowing in E5M2 (%)": 100 * sp["grad_underflow"].mean(),
        "μS: FP8 vs FP32 final loss (%)": 100 * gaps.get("mus", float("nan")),
        "SP: FP8 vs FP32 final loss (%)": 100 * gaps.get("sp", float("nan")),
        "SP: FP8 with dynamic scales vs FP32 final loss (%)":
            100 * _dynamic_gaps(result["runs"]).get("sp", float("nan")),
        "μS: best-rate shift across widths (grid steps)": shifts.get("mus", float("nan")),
        "SP: best-rate shift across widths (grid steps)": shifts.get("sp", float("nan")),
        "μS: loss cost of the base width's rate at the widest (%)": 100 * penalty.get("mus", float("nan")),
        "SP: loss cost of the base width's rate at the widest (%)": 100 * penalty.get("sp", float("nan")),
    }
    for key in ("bf16_step_s", "fp8_step_s", "speedup", "final_loss_gap",
                "inference_relative_l2"):
        if key in result:
            numbers[key] = result[key]
    return pd.Series(numbers, dtype=float)


def _dynamic_gaps(runs) -> pd.Series:
    """SP's (and any parametrisation's) dynamic-scale gap; empty for results stored before
    that arm existed."""
    runs = as_frame(runs)
    if "fp8_sim_dynamic" not in set(runs["precision"]):
        return pd.Series(dtype=float)
    return precision_gaps(runs, "fp8_sim_dynamic")


def _report(data: dict, params: dict) -> None:
    with pd.option_context("display.width", 120):
        print(headline_numbers(data).round(4).to_string())
        print(best_learning_rates(data["sweep"]).to_string())


def main(argv: list[str] | None = None) -> int:
    return profile_main(CHAPTER, run_profile, _report, argv, description=__doc__)


if __name__ == "__main__":
    raise SystemExit(main())
