"""What the chapter says about its stored distributed runs (:mod:`.dist_bench`).

:func:`distributed_summary` reads ``results/unit_scaling/distributed_n<N>.json`` for N = 1
and for the largest stored N > 1, and returns a table of their arms and the sentences the
chapter glues into its "Beyond one GPU" section. Nothing is projected: a run that is not
stored is said to be not stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from effnotes.results import StoredResult, has_result, load_result

CHAPTER = "unit_scaling"
MULTI_GPU_SIZES = (8, 4, 2)
ARM_LABELS = {"plain_bf16": "plain BF16", "plain_fp8": "plain FP8", "fsdp_bf16": "FSDP2 BF16",
              "fsdp_fp8": "FSDP2 FP8 (BF16 all-gather)",
              "fsdp_fp8_gather8": "FSDP2 FP8 (FP8 all-gather)"}


@dataclass(frozen=True)
class DistributedSummary:
    """``n1`` and ``multi`` (the largest stored N > 1) as stored results or ``None``,
    ``table`` (one row per stored arm; ``None`` when nothing is stored) and the chapter's
    sentences about each run, ``n1_text`` and ``multi_text``."""

    n1: StoredResult | None
    multi: StoredResult | None
    table: pd.DataFrame | None
    n1_text: str
    multi_text: str


def _load(name: str, root: Path | None) -> StoredResult | None:
    return load_result(CHAPTER, name, root) if has_result(CHAPTER, name, root) else None


def arm_table(result: StoredResult) -> pd.DataFrame:
    """The arms of one stored run: N, step time (ms), tokens per second, the bytes a step
    all-gathers (MB; computed from the shard sizes) and the largest peak memory of a GPU."""
    rows = []
    for arm, figures in result.data["arms"].items():
        peaks = [p for p in figures.get("peak_memory_gb_per_gpu") or [] if p is not None]
        gathered = figures.get("all_gather_bytes_per_step")
        rows.append({"N": result.data["world_size"], "arm": ARM_LABELS.get(arm, arm),
                     "step (ms)": 1e3 * figures["step_s"],
                     "tokens/s": figures["tokens_per_s"],
                     "all-gather (MB/step)": None if gathered is None else gathered / 1e6,
                     "peak memory (GB/GPU)": max(peaks) if peaks else None})
    return pd.DataFrame(rows)


def _n1_caveat(summary: dict) -> str:
    counted = summary.get("all_gather_bytes_counted", {}).get("fsdp_fp8")
    if counted == 0:
        return ("At N=1 FSDP2 moved no bytes (it copies the shard instead of gathering it), so "
                "these are the bytes the same shapes gather at N > 1, computed from the shard "
                "sizes, and the N=1 time shows the casts' cost, not the saving")
    return ("At N=1 the all-gather is a copy within one GPU, so the N=1 time shows the "
            "casts' cost, not the saving")


def _n1_text(n1: StoredResult | None) -> str:
    if n1 is None:
        return ("The one-GPU run is not stored yet (results/unit_scaling/distributed_n1.json), "
                "so this page has no measured figure for the wrapper or the FP8 all-gather, "
                "and it gives no projected one")
    arms, summary = n1.data["arms"], n1.data["summary"]
    source = f"The stored one-GPU run ({n1.describe()}, {n1.data['gpu']})"
    parts = []
    if "plain_fp8" in arms and "fsdp_fp8" in arms:
        parts.append(f"{source} took {1e3 * arms['fsdp_fp8']['step_s']:.0f} ms for the FSDP2 step "
                     f"against {1e3 * arms['plain_fp8']['step_s']:.0f} ms for the plain step "
                     f"with FP8 layers, a wrapper overhead of "
                     f"{100 * summary['wrapper_overhead_fp8']:+.1f}%")
    if "fp8_gather_step_ratio" in summary:
        bytes_ = summary["all_gather_bytes_per_step"]
        lead = "with" if parts else f"{source}: with"
        parts.append(f"{lead} the FP8 weight all-gather the step took "
                     f"{1e3 * arms['fsdp_fp8_gather8']['step_s']:.0f} ms "
                     f"({summary['fp8_gather_step_ratio']:.3f}× the BF16 all-gather's), and a "
                     f"step's all-gathers shrink from {bytes_['fsdp_fp8'] / 1e9:.2f} GB to "
                     f"{bytes_['fsdp_fp8_gather8'] / 1e9:.2f} GB "
                     f"({summary['all_gather_bytes_ratio']:.2f}×). " + _n1_caveat(summary))
    return "; ".join(parts) if parts else f"{source} holds neither the plain nor the FP8 arms"


def _multi_text(multi: StoredResult | None) -> str:
    if multi is None:
        return ("The multi-GPU run has not been run yet: no result from two or more GPUs is "
                "stored, so this page shows no multi-GPU throughput or scaling efficiency")
    n, arms = multi.data["world_size"], multi.data["arms"]
    summary = multi.data["summary"]
    pieces = [f"{ARM_LABELS.get(arm, arm)} {figures['tokens_per_s']:,.0f} tokens/s"
              for arm, figures in arms.items()]
    text = f"The stored run on {n} GPUs ({multi.describe()}) measured " + "; ".join(pieces)
    efficiency = summary.get("scaling_efficiency")
    if efficiency:
        text += (". Scaling efficiency against one GPU in the same call: " + "; ".join(
            f"{ARM_LABELS.get(arm, arm)} {100 * value:.0f}%" for arm, value in efficiency.items()))
    peaks = [p for figures in arms.values() for p in figures.get("peak_memory_gb_per_gpu") or []
             if p is not None]
    if peaks:
        text += f". The largest peak memory of a GPU was {max(peaks):.1f} GB"
    return text


def distributed_summary(root: Path | None = None) -> DistributedSummary:
    """The stored distributed runs under ``root`` (default: the results folder) and the
    chapter's sentences about them."""
    n1 = _load("distributed_n1", root)
    multi = next((r for n in MULTI_GPU_SIZES if (r := _load(f"distributed_n{n}", root))), None)
    tables = [arm_table(r) for r in (n1, multi) if r is not None]
    table = pd.concat(tables, ignore_index=True) if tables else None
    return DistributedSummary(n1, multi, table, _n1_text(n1), _multi_text(multi))


def show_distributed(root: Path | None = None) -> dict:
    """Display the stored distributed runs' table on the chapter's page (or a note that none
    is stored) and return the sentences it glues, ``dist_n1_text`` and ``dist_multi_text``.
    A stored one-GPU run whose FP8 all-gather does not move fewer bytes than the BF16 one
    (``all_gather_bytes_ratio >= 1``) raises ``AssertionError``: the page's claim is false."""
    from IPython.display import Markdown, display

    beyond = distributed_summary(root)
    display(Markdown("*No distributed run is stored yet.*") if beyond.table is None
            else beyond.table.round(3))
    ratio = None if beyond.n1 is None else beyond.n1.data["summary"].get("all_gather_bytes_ratio")
    if ratio is not None and not ratio < 1:
        raise AssertionError(f"the stored FP8 all-gather moves {ratio:.2f}x the BF16 bytes")
    return {"dist_n1_text": beyond.n1_text, "dist_multi_text": beyond.multi_text}


__all__ = ["DistributedSummary", "distributed_summary", "arm_table", "show_distributed",
           "ARM_LABELS"]
