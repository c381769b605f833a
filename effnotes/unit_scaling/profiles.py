"""The unit_scaling chapter's profiles: one frozen :class:`Profile` per profile name.

The ``ci`` profile is what the rendered book runs (its values are the notebook's
``parameters`` cell); ``smoke`` is what the tests run; ``gpu`` is the stored run. Losses are
in nats per byte; learning rates are peak rates of the warm-up-then-cosine schedule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Profile:
    """The parameters of one run of the unit_scaling chapter."""

    #: Monte Carlo samples per op in the variance checks
    mc_samples: int
    #: bytes of the corpus to keep (``None``: all of it)
    corpus_bytes: int | None
    #: the deep model at initialisation: blocks, width, heads, batch (sequences), sequence
    #: length (bytes)
    depth_layers: int
    depth_width: int
    depth_heads: int
    depth_batch: int
    depth_seq: int
    #: the SP/μS x FP32/FP8 training comparison: model shape, batch, steps and peak rates
    train_width: int
    train_layers: int
    train_heads: int
    train_seq: int
    train_batch: int
    train_steps: int
    lr_sp: float
    lr_mus: float
    #: decoupled weight decay per step (the same at every width)
    weight_decay: float
    #: the width sweep: widths, the grids of peak rates (powers of two) and the model shape
    sweep_widths: tuple
    sweep_lrs_sp: tuple
    sweep_lrs_mus: tuple
    sweep_layers: int
    sweep_heads: int
    sweep_seq: int
    sweep_batch: int
    sweep_steps: int
    #: largest relative error of a Monte Carlo variance against its exact value
    #: (a fraction; loose at smoke, where few samples are drawn)
    mc_tolerance: float
    #: largest ``|FP8 / FP32 - 1|`` of μS's final loss (a fraction)
    fp8_gap_tolerance: float
    #: smallest FP8 / FP32 - 1 of SP's final loss with a plain cast (a fraction)
    sp_fp8_min_gap: float
    #: most grid steps (factors of two) μS's best rate may move across the widths
    max_mus_shift: int
    #: largest loss cost (a fraction) of training the widest model at the narrowest model's
    #: best rate that still counts as "the rate transfers"; SP's cost must exceed μS's by
    #: at least this much
    transfer_tolerance: float
    #: whether the ``result`` claims (what the experiment finds) are asserted; correctness
    #: claims are asserted at every profile
    enforce_results: bool
    #: sizes of the real-FP8 GPU benchmark (:mod:`.gpu_bench`), or ``None`` to skip it
    gpu_bench: Mapping[str, Any] | None
    #: CPU threads for torch (0: leave torch's default)
    torch_threads: int
    device: str
    #: the reader's text file or folder (``None``: the Python prose that ships with Python)
    data_path: str | None


SMOKE = Profile(
    mc_samples=4000,
    corpus_bytes=300000,
    depth_layers=4,
    depth_width=32,
    depth_heads=2,
    depth_batch=2,
    depth_seq=32,
    train_width=32,
    train_layers=1,
    train_heads=2,
    train_seq=32,
    train_batch=4,
    train_steps=20,
    lr_sp=0.0078125,
    lr_mus=0.015625,
    weight_decay=0.0,
    sweep_widths=(32, 64),
    sweep_lrs_sp=(0.00390625, 0.015625),
    sweep_lrs_mus=(0.0625, 0.25),
    sweep_layers=1,
    sweep_heads=2,
    sweep_seq=32,
    sweep_batch=4,
    sweep_steps=10,
    mc_tolerance=0.5,
    fp8_gap_tolerance=0.2,
    sp_fp8_min_gap=0.02,
    max_mus_shift=1,
    transfer_tolerance=0.5,
    enforce_results=False,
    gpu_bench=None,
    torch_threads=1,
    device='cpu',
    data_path=None,
)
CI = replace(
    SMOKE,
    mc_samples=200000,
    corpus_bytes=None,
    depth_layers=24,
    depth_width=64,
    depth_heads=4,
    depth_batch=4,
    depth_seq=64,
    train_width=64,
    train_layers=2,
    train_heads=4,
    train_seq=64,
    train_batch=16,
    train_steps=300,
    lr_mus=0.125,
    sweep_widths=(32, 64, 128),
    sweep_lrs_sp=(0.00048828125, 0.0009765625, 0.001953125, 0.00390625, 0.0078125, 0.015625, 0.03125),
    sweep_lrs_mus=(0.015625, 0.03125, 0.0625, 0.125, 0.25, 0.5, 1.0),
    sweep_layers=2,
    sweep_heads=4,
    sweep_seq=64,
    sweep_batch=8,
    sweep_steps=200,
    mc_tolerance=0.05,
    fp8_gap_tolerance=0.02,
    max_mus_shift=2,
    transfer_tolerance=0.02,
    enforce_results=True,
)
GPU = replace(
    CI,
    mc_samples=1000000,
    depth_width=256,
    depth_batch=8,
    depth_seq=128,
    train_width=256,
    train_layers=4,
    train_seq=128,
    train_batch=32,
    train_steps=600,
    lr_sp=0.00390625,
    sweep_widths=(128, 256, 512, 1024),
    sweep_lrs_sp=(6.103515625e-05, 0.0001220703125, 0.000244140625, 0.00048828125, 0.0009765625, 0.001953125, 0.00390625, 0.0078125, 0.015625),
    sweep_lrs_mus=(0.0078125, 0.015625, 0.03125, 0.0625, 0.125, 0.25, 0.5, 1.0),
    sweep_batch=16,
    sweep_steps=300,
    gpu_bench={'throughput': None, 'parity': {'d_model': 512, 'n_layers': 8, 'n_heads': 8, 'seq_len': 512, 'batch_size': 32, 'steps': 800, 'warmup_steps': 80, 'optimizer': 'lion', 'lr': 0.02, 'sp_lr': 0.0002, 'base_width': 128, 'seeds': (0, 1, 2)}},
    torch_threads=4,
    device='cuda',
)

PROFILES = {"smoke": SMOKE, "ci": CI, "gpu": GPU}
