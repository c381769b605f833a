"""The masking_schedules chapter's profiles: one frozen :class:`Profile` per profile name.

The ``ci`` profile is what the rendered book runs (its values are the notebook's
``parameters`` cell); ``smoke`` is what the tests run; ``gpu`` is the stored run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Profile:
    """The parameters of one run of the masking_schedules chapter."""

    #: pretraining seeds per arm (each seed: its own initial weights, data order and
    #: masking draws, shared by every arm)
    seeds: int
    #: the masking schedules compared, as specs read by ``parse_schedule``
    #: (``"linear-0.30-0.15"``: linear from a rate of 0.30 to 0.15); must include
    #: constant-0.15, linear-0.30-0.15 and linear-0.15-0.30
    arms: tuple
    #: WordPiece vocabulary size (tokens, specials included)
    vocab_size: int
    #: sequence length (tokens, ``[CLS]`` included)
    seq_len: int
    #: encoder width, number of layers and attention heads, feed-forward width
    d_model: int
    n_layers: int
    n_heads: int
    d_ff: int
    #: dropout probability in the encoder
    dropout: float
    #: optimiser steps per pretraining run, and sequences per step
    steps: int
    batch_size: int
    #: AdamW's peak learning rate (linear warm-up and decay)
    lr: float
    #: steps between held-out loss evaluations
    eval_every: int
    #: held-out sequences in the frozen evaluation masks
    n_eval: int
    #: areas of the standard library in the downstream probe's task
    n_classes: int
    #: bootstrap resamples of the speedup's interval
    n_boot: int
    #: the criterion's smallest speedup of 30->15 over constant 15% (a ratio of steps)
    min_speedup: float
    #: the largest allowed ``|share of tokens that were targets - scheduled mean rate|``
    #: (a fraction of the ordinary tokens)
    rate_tolerance: float
    #: whether the live page's findings (kind "result") are asserted; correctness claims
    #: are asserted at every profile
    enforce_results: bool
    #: whether the findings stated about the larger GPU-scale run (the paper's criterion,
    #: constant 30% against 30->15, the probe against the untrained encoder) are asserted
    enforce_gpu_findings: bool
    #: torch's CPU threads (0: leave torch's default)
    torch_threads: int
    #: ``"cpu"``, ``"cuda"`` or ``"auto"``
    device: str
    #: the reader's text (a file or folder, absolute or under ``$EFFNOTES_DATA``); ``None``
    #: for the bundled prose
    data_path: str | None
    first_seed: int = 0


SMOKE = Profile(
    seeds=2,
    arms=('constant-0.15', 'linear-0.30-0.15', 'linear-0.15-0.30'),
    vocab_size=512,
    seq_len=16,
    d_model=16,
    n_layers=1,
    n_heads=2,
    d_ff=32,
    dropout=0.0,
    steps=30,
    batch_size=16,
    lr=0.005,
    eval_every=10,
    n_eval=64,
    n_classes=4,
    n_boot=200,
    min_speedup=1.1,
    rate_tolerance=0.03,
    enforce_results=False,
    enforce_gpu_findings=False,
    torch_threads=1,
    device='cpu',
    data_path=None,
)
CI = replace(
    SMOKE,
    seeds=3,
    arms=('constant-0.15', 'constant-0.30', 'linear-0.30-0.15', 'linear-0.15-0.30'),
    vocab_size=1024,
    seq_len=32,
    d_model=64,
    n_layers=2,
    d_ff=128,
    steps=500,
    batch_size=64,
    eval_every=25,
    n_eval=256,
    n_classes=8,
    n_boot=2000,
    rate_tolerance=0.005,
    enforce_results=True,
    torch_threads=2,
)
GPU = replace(
    CI,
    seeds=5,
    arms=('constant-0.15', 'constant-0.30', 'linear-0.30-0.15', 'linear-0.15-0.30', 'cosine-0.30-0.15'),
    vocab_size=4096,
    seq_len=128,
    d_model=256,
    n_layers=4,
    n_heads=4,
    d_ff=1024,
    dropout=0.1,
    steps=700,
    lr=0.001,
    eval_every=40,
    n_eval=400,
    n_boot=5000,
    enforce_gpu_findings=True,
    torch_threads=4,
    device='cuda',
)

PROFILES = {"smoke": SMOKE, "ci": CI, "gpu": GPU}
