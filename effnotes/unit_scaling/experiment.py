"""The chapter's experiment as named stages: ``effnotes experiment unit_scaling --profile P``.

The stages, in order (each ``stage(profile, state, *, progress) -> dict``):

1. :func:`load_corpus`: the byte corpus (the Python prose, or the reader's ``data_path``);
2. :func:`variance_checks`: each op's output variance by Monte Carlo against its closed form;
3. :func:`depth_analysis`: per-op tensor scales of a deep SP and a deep μS decoder at
   initialisation;
4. :func:`training_comparison`: SP and μS trained in FP32 and in simulated FP8 (and SP with
   dynamic per-tensor scales);
5. :func:`width_sweep`: final loss over a grid of peak rates at several widths;
6. :func:`gpu_benchmark`: where the profile asks for it, the real-FP8 loss and inference
   parity of :mod:`.gpu_bench` (the step times are a separate stored benchmark).

``--store`` writes the outputs to ``results/unit_scaling/<profile>.json`` with provenance;
:mod:`~effnotes.unit_scaling.claims` judges them. ``python -m effnotes.unit_scaling.experiment``
is an alias.
"""

from __future__ import annotations

import contextlib

import pandas as pd
import torch
from tqdm.auto import tqdm

from effnotes.contract import Experiment, Result
from effnotes.experiment_runner import experiment_main
from effnotes.runtime import choose_device, describe_hardware, torch_threads
from effnotes.unit_scaling.analysis import hidden_linear_scales, residual_rms, track_scales
from effnotes.unit_scaling.data import ByteSplit, byte_tokens, random_windows, split_bytes
from effnotes.unit_scaling.model import Decoder, DecoderConfig
from effnotes.unit_scaling.summary import best_learning_rates
from effnotes.unit_scaling.train import TrainSettings, train_decoder
from effnotes.unit_scaling.variance import monte_carlo_variances

CHAPTER = "unit_scaling"


def _threads(profile):
    """The profile's torch thread count for the duration of a stage (0: torch's default)."""
    count = profile.torch_threads
    return torch_threads(count) if count else contextlib.nullcontext()


def load_data(profile) -> ByteSplit:
    """The byte corpus as token ids (one per UTF-8 byte; 90% train, 10% validation),
    truncated to ``profile.corpus_bytes`` (``None``: all of it): the Python prose, or the
    reader's text file or folder named by ``profile.data_path``
    (:func:`effnotes.data.text.load_text_data`)."""
    from effnotes.data.paths import resolve_data
    from effnotes.data.text import load_text_data

    path = resolve_data(CHAPTER, profile.data_path)
    corpus = load_text_data(path) if path is not None else None
    return split_bytes(byte_tokens(corpus, max_bytes=profile.corpus_bytes), val_fraction=0.1)


def load_corpus(profile, state, *, progress: bool = False) -> dict:
    """Stage 1: the corpus (``_data``, a :class:`~.data.ByteSplit`), the device
    (``_device``), the hardware description and the split's sizes in bytes."""
    device = choose_device(profile.device)
    data = load_data(profile)
    with _threads(profile):
        hardware = describe_hardware(device).as_dict()
    return {"_data": data, "_device": device, "hardware": hardware,
            "corpus": {"train_bytes": len(data.train), "val_bytes": len(data.val)}}


def variance_checks(profile, state, *, progress: bool = False) -> dict:
    """Stage 2: ``variances``, the table of :func:`~.variance.monte_carlo_variances` with
    ``profile.mc_samples`` samples per op (seed 0)."""
    with _threads(profile):
        return {"variances": monte_carlo_variances(n_samples=profile.mc_samples, seed=0)}


def depth_analysis(profile, state, *, progress: bool = False) -> dict:
    """Stage 3: per-op scales of a deep SP and a deep μS decoder at initialisation, on one
    batch of text: ``scales`` (one row per op and tensor), ``hidden`` (per hidden linear
    layer: input RMS, output-gradient RMS, E5M2 underflow fraction) and ``residual`` (the
    residual stream's RMS after each block)."""
    data = state["_data"]
    frames, hidden, residual = [], [], []
    generator = torch.Generator().manual_seed(0)
    ids, targets = random_windows(data.train, profile.depth_batch, profile.depth_seq, generator)
    with _threads(profile):
        for param in ("sp", "mus"):
            torch.manual_seed(0)
            model = Decoder(DecoderConfig(d_model=profile.depth_width,
                                          n_layers=profile.depth_layers,
                                          n_heads=profile.depth_heads, seq_len=profile.depth_seq,
                                          parametrisation=param))
            frame = track_scales(model, ids, targets).assign(parametrisation=param)
            frames.append(frame)
            hidden.append(hidden_linear_scales(frame).assign(parametrisation=param))
            residual.append(residual_rms(frame).rename("rms").reset_index()
                            .assign(parametrisation=param))
    return {"scales": pd.concat(frames, ignore_index=True),
            "hidden": pd.concat(hidden, ignore_index=True),
            "residual": pd.concat(residual, ignore_index=True),
            "depth_tau": DecoderConfig(d_model=profile.depth_width, n_layers=profile.depth_layers,
                                       n_heads=profile.depth_heads, seq_len=profile.depth_seq,
                                       parametrisation="mus").residual_tau}


def training_comparison(profile, state, *, progress: bool = False) -> dict:
    """Stage 4: SP and μS, each in FP32 and simulated FP8 (a plain cast, as μS prescribes),
    and SP also in simulated FP8 with dynamic per-tensor scales (amax, then cast: the usual
    recipe), same seed and batches: ``runs`` (final and validation loss in nats per byte,
    whether it diverged, seconds) and ``curves`` (training loss per logged step)."""
    data, device = state["_data"], state["_device"]
    rows, curves = [], []
    arms = [(p, prec) for p in ("sp", "mus") for prec in ("fp32", "fp8_sim")]
    arms.insert(2, ("sp", "fp8_sim_dynamic"))
    with _threads(profile):
        for param, precision in tqdm(arms, desc="SP/μS x FP32/FP8", disable=not progress):
            config = DecoderConfig(d_model=profile.train_width, n_layers=profile.train_layers,
                                   n_heads=profile.train_heads, seq_len=profile.train_seq,
                                   parametrisation=param, precision=precision)
            settings = TrainSettings(steps=profile.train_steps, batch_size=profile.train_batch,
                                     lr=getattr(profile, f"lr_{param}"),
                                     warmup_steps=profile.train_steps // 10,
                                     weight_decay=profile.weight_decay, seed=0)
            run = train_decoder(config, data, settings, device=device)
            rows.append({"parametrisation": param, "precision": precision,
                         "final_loss": run.final_loss, "val_loss": run.val_loss,
                         "diverged": run.diverged, "seconds": run.seconds})
            curves.append(run.curve.assign(parametrisation=param, precision=precision))
    return {"runs": pd.DataFrame(rows), "curves": pd.concat(curves, ignore_index=True)}


def width_sweep(profile, state, *, progress: bool = False) -> dict:
    """Stage 5: ``sweep``, the final training loss (nats per byte) over a grid of peak rates
    (``sweep_lrs_sp``, ``sweep_lrs_mus``: powers of two) at each of ``sweep_widths``, for
    SP (one global rate) and μS (hidden rate ``lr * sqrt(base/d)``, base = the smallest
    width), and ``best``, each width's best rate (:func:`~.summary.best_learning_rates`)."""
    data, device = state["_data"], state["_device"]
    widths = list(profile.sweep_widths)
    rows = []
    grid = [(p, w, lr) for p in ("sp", "mus") for w in widths
            for lr in getattr(profile, f"sweep_lrs_{p}")]
    with _threads(profile):
        for param, width, lr in tqdm(grid, desc="width sweep", disable=not progress):
            config = DecoderConfig(d_model=width, n_layers=profile.sweep_layers,
                                   n_heads=profile.sweep_heads, seq_len=profile.sweep_seq,
                                   parametrisation=param)
            settings = TrainSettings(steps=profile.sweep_steps, batch_size=profile.sweep_batch,
                                     lr=lr, warmup_steps=profile.sweep_steps // 10,
                                     weight_decay=profile.weight_decay, seed=0,
                                     base_width=min(widths), max_loss=8.0)
            run = train_decoder(config, data, settings, device=device)
            rows.append({"parametrisation": param, "width": width, "lr": lr,
                         "loss": run.final_loss, "diverged": run.diverged,
                         "seconds": run.seconds})
    sweep = pd.DataFrame(rows)
    return {"sweep": sweep, "best": best_learning_rates(sweep)}


def gpu_benchmark(profile, state, *, progress: bool = False) -> dict:
    """Stage 6: the real-FP8 benchmark of :mod:`.gpu_bench` with the sizes in
    ``profile.gpu_bench`` (keys ``throughput`` and ``parity``, each a dict of the config's
    fields; a missing or None ``throughput`` leaves the step times out); nothing when the
    profile sets no ``gpu_bench``. Its outputs are :func:`.gpu_bench.run_gpu_bench`'s keys
    (``parity``, ``parity_gaps``, ``inference_*``)."""
    sizes = profile.gpu_bench
    if not sizes:
        return {}
    device = state["_device"]
    if device.type != "cuda":
        raise RuntimeError("the profile sets gpu_bench but the device is not CUDA")
    from effnotes.unit_scaling.gpu_bench import ParityConfig, ThroughputConfig, run_gpu_bench

    speed = sizes.get("throughput")  # None: step times are stored by gpu_bench --step-times
    parity = dict(sizes.get("parity", {}))
    if "seeds" in parity:
        parity["seeds"] = tuple(parity["seeds"])
    with _threads(profile):
        return run_gpu_bench(None if speed is None else ThroughputConfig(**speed),
                             ParityConfig(**parity), state["_data"], device, progress=progress)


EXPERIMENT = Experiment(CHAPTER, [load_corpus, variance_checks, depth_analysis,
                                  training_comparison, width_sweep, gpu_benchmark])


def run(profile, *, progress: bool = False) -> Result:
    """Every stage at ``profile`` (the chapter's
    :class:`~effnotes.unit_scaling.profiles.Profile`); the :class:`~effnotes.contract.Result`."""
    return EXPERIMENT.run(profile, progress=progress)


def main(argv: list[str] | None = None) -> int:
    """``python -m effnotes.unit_scaling.experiment``: ``effnotes experiment unit_scaling``."""
    return experiment_main(CHAPTER, argv)


if __name__ == "__main__":
    raise SystemExit(main())
