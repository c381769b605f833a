"""The chapter's whole experiment as one call, for running a profile without Jupyter.

``python -m effnotes.masking.experiment --profile gpu --store`` pretrains every arm (a
masking schedule) with every seed, probes each model on the downstream task, and stores
the outcome as ``results/masking_schedules/<profile>.json`` with provenance. It needs
torch, numpy, pandas and scikit-learn; on a machine without ``tokenizers`` set
``$EFFNOTES_MASKING_CORPUS`` to a corpus file made by ``python -m effnotes.masking.corpus``.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import torch

from effnotes.masking.analysis import arm_summary, mean_interval, schedule_speedup, verdict
from effnotes.masking.collator import IGNORE, frozen_eval_masks
from effnotes.masking.corpus import TokenizedCorpus, corpus_for
from effnotes.masking.data import area_task, label_task, pack_chunks, split_documents
from effnotes.masking.model import EncoderConfig, MaskedLanguageModel
from effnotes.masking.pretrain import PretrainConfig, pretrain
from effnotes.masking.probe import majority_accuracy, probe_accuracy
from effnotes.masking.schedules import parse_schedule
from effnotes.profile_runner import profile_main
from effnotes.results import as_frame
from effnotes.runtime import choose_device, describe_hardware, torch_threads

CHAPTER = "masking_schedules"
BASELINE, DECREASING, INCREASING = "constant-0.15", "linear-0.30-0.15", "linear-0.15-0.30"
#: The arm with more targets throughout: the control for "more targets, any order".
MORE_TARGETS = "constant-0.30"
#: Seed of the frozen evaluation masks, shared by every arm and every seed.
EVAL_MASK_SEED = 12345


def model_config(params: dict, vocab_size: int) -> EncoderConfig:
    return EncoderConfig(vocab_size=vocab_size, max_len=params["seq_len"],
                         d_model=params["d_model"], n_layers=params["n_layers"],
                         n_heads=params["n_heads"], d_ff=params["d_ff"],
                         dropout=params["dropout"])


def pretrain_config(params: dict) -> PretrainConfig:
    return PretrainConfig(steps=params["steps"], batch_size=params["batch_size"], lr=params["lr"],
                          eval_every=params["eval_every"])


def unigram_loss(chunks: torch.Tensor, labels: torch.Tensor, vocab_size: int) -> float:
    """Cross-entropy (nats) of the held-out targets under the training chunks' token
    frequencies (add-one smoothed): the loss of a model that ignores the context."""
    counts = torch.bincount(chunks.flatten(), minlength=vocab_size).double() + 1.0
    log_p = torch.log(counts / counts.sum())
    targets = labels[labels != IGNORE]
    return float(-log_p[targets].mean())


def user_corpus(params: dict) -> tuple[TokenizedCorpus | None, tuple[str, ...] | None, str]:
    """The reader's corpus named by the ``data`` parameter (``None`` for the bundled prose),
    tokenised with the chapter's tokeniser, its labels if a labels file goes with it, and why
    the probe is skipped if none does (empty when it runs)."""
    from effnotes.data.paths import resolve_data
    from effnotes.data.text import find_labels, load_text_data, read_labels
    from effnotes.masking.corpus import prepare_corpus

    path = resolve_data(CHAPTER, params.get("data_path"))
    if path is None:
        return None, None, ""
    text = load_text_data(path)
    labels_file = find_labels(path)
    labels = read_labels(labels_file, text) if labels_file else None
    skipped = "" if labels else (f"the downstream probe is skipped: no labels file goes with "
                                 f"{path} (labels.csv or labels.jsonl, columns document,label)")
    return prepare_corpus(text, vocab_size=params["vocab_size"]), labels, skipped


def prepare_data(params: dict, corpus: TokenizedCorpus | None = None) -> dict:
    """Corpus, chunks, frozen evaluation masks and the probe's task for a profile (for a
    reader's unlabelled corpus, no task: ``task_train`` is None and ``probe_skipped`` says why)."""
    labels, skipped = None, ""
    if corpus is None and params.get("data_path") is not None:
        corpus, labels, skipped = user_corpus(params)
    corpus = corpus or corpus_for(params["vocab_size"])
    split = split_documents(corpus, heldout_fraction=0.1, seed=0)
    chunks = pack_chunks(corpus, split.train, params["seq_len"])
    heldout = pack_chunks(corpus, split.heldout, params["seq_len"])
    if heldout.shape[0] < params["n_eval"]:
        raise ValueError(f"only {heldout.shape[0]} held-out chunks, fewer than n_eval={params['n_eval']}")
    masks = frozen_eval_masks(heldout[: params["n_eval"]], corpus.special, rate=0.15,
                              seed=EVAL_MASK_SEED)
    if params.get("data_path") is None:
        task_train, task_test = area_task(corpus, split, n_classes=params["n_classes"],
                                          seq_len=params["seq_len"])
    elif labels is not None:
        task_train, task_test = label_task(corpus, split, labels, seq_len=params["seq_len"])
    else:
        task_train = task_test = None
    extra = {"probe_skipped": skipped} if skipped else {}
    return {"corpus": corpus, "chunks": chunks, "heldout": heldout, "masks": masks,
            "task_train": task_train,
            "task_test": task_test, **extra}


def run_profile(params: dict, *, progress: bool = False, data: dict | None = None) -> dict:
    """Pretrain every arm with every seed and probe each model, with ``params`` (a profile's
    parameters from the registry); return plain data ready to store."""
    device = choose_device(params["device"])
    data = data or prepare_data(params)
    corpus, chunks, masks = data["corpus"], data["chunks"], data["masks"]
    schedules = [parse_schedule(spec) for spec in params["arms"]]
    names = [s.name for s in schedules]
    for required in (BASELINE, DECREASING, INCREASING):
        if required not in names:
            raise ValueError(f"the arms must include {required!r}; got {names}")
    mconfig, pconfig = model_config(params, corpus.vocab_size), pretrain_config(params)
    threads = params["torch_threads"]
    probing = data["task_train"] is not None

    def probe(model, seed: int) -> float:
        if not probing:  # a reader's corpus without labels: nothing to probe against
            return float("nan")
        return probe_accuracy(model, data["task_train"], data["task_test"], seed=seed)

    curves, runs, untrained = [], [], []
    with torch_threads(threads) if threads else contextlib.nullcontext():
        hardware = describe_hardware(device).as_dict()
        for seed in range(params["seeds"]):
            torch.manual_seed(seed)
            fresh = MaskedLanguageModel(mconfig).to(device)
            untrained.append({"seed": seed, "probe_accuracy": probe(fresh, seed)})
            for schedule in schedules:
                result = pretrain(chunks, masks, schedule, corpus.special, mconfig, pconfig,
                                  init_seed=seed, data_seed=seed, mask_seed=seed, device=device,
                                  progress=progress, description=f"{schedule.label}, seed {seed}")
                curves.append(result.curve.assign(arm=schedule.name, seed=seed))
                trace = result.trace
                runs.append({
                    "arm": schedule.name, "label": schedule.label, "seed": seed,
                    "final_loss": float(result.curve["heldout_loss"].iloc[-1]),
                    "scheduled_rate": float(trace["rate"].mean()),
                    "target_share": float(trace["targets"].sum() / trace["maskable"].sum()),
                    "targets": int(trace["targets"].sum()),
                    "train_time_s": result.train_time_s,
                    "probe_accuracy": probe(result.model, seed),
                })
    return {
        "hardware": hardware,
        "corpus": {"n_documents": len(corpus), "n_tokens": corpus.n_tokens,
                   "vocab_size": corpus.vocab_size, "n_chunks": int(chunks.shape[0]),
                   "n_eval_chunks": int(masks.inputs.shape[0]), "eval_targets": masks.n_targets,
                   "eval_checksum": masks.checksum(),
                   "classes": list(data["task_train"].classes) if probing else [],
                   "n_probe_train": int(len(data["task_train"].labels)) if probing else 0,
                   "n_probe_test": int(len(data["task_test"].labels)) if probing else 0},
        "unigram_loss": unigram_loss(chunks, masks.labels, corpus.vocab_size),
        "majority_accuracy": (majority_accuracy(data["task_train"], data["task_test"])
                              if probing else float("nan")),
        **({"probe_skipped": data["probe_skipped"]} if "probe_skipped" in data else {}),
        "curves": pd.concat(curves, ignore_index=True)[["arm", "seed", "step", "heldout_loss"]],
        "runs": pd.DataFrame(runs),
        "untrained": pd.DataFrame(untrained),
    }


def analyse(result: dict, *, n_boot: int = 2000, min_speedup: float = 1.1) -> dict:
    """Speedups, loss and probe summaries, the verdict, and the facts the chapter states
    about a :func:`run_profile` result, live (frames) or read back from JSON (lists of
    records). Keys:

    - ``speedups``: arm -> :class:`~effnotes.tradeoff.SpeedupEstimate` over constant 15%;
    - ``losses``, ``probes``: :func:`arm_summary` frames of final held-out loss and probe
      accuracy (mean, t interval, paired difference from constant 15%);
    - ``direction``: final loss 30→15 − 15→30, ``(mean, low, high)`` over seeds (nats);
    - ``untrained_probe``: the untrained encoder's probe accuracy, ``(mean, low, high)``;
    - ``verdict``: :func:`~effnotes.masking.analysis.verdict`'s dict;
    - ``rate_gap``: the largest |share of tokens that were targets − scheduled mean rate|;
    - ``beats_unigram``: every run's final loss is below the unigram loss;
    - ``probe_beats_majority``: every run's probe beats the majority class (None when the
      probe was skipped: a reader's corpus without labels; ``probes`` is then empty);
    - ``probe_separated``: arms whose paired probe difference from constant 15% has a 95%
      interval excluding 0;
    - ``probe_above_untrained``: arms whose probe interval lies above the untrained mean;
    - ``constant30_minus_decreasing``: final loss constant 30% − 30→15, and
      ``probe_decreasing_minus_constant30``: probe accuracy 30→15 − constant 30%, each
      ``(mean, low, high)`` over seeds, or ``None`` where constant 30% was not run.
    """
    curves, runs = as_frame(result["curves"]), as_frame(result["runs"])
    arms = list(dict.fromkeys(runs["arm"]))
    speedups = {arm: schedule_speedup(curves, BASELINE, arm, n_boot=n_boot)
                for arm in arms if arm != BASELINE}
    losses = arm_summary(runs, "final_loss", BASELINE)
    # a reader's corpus without labels has no probe (result["probe_skipped"] says why)
    probing = not runs["probe_accuracy"].isna().all()
    probes = (arm_summary(runs, "probe_accuracy", BASELINE) if probing
              else pd.DataFrame(columns=losses.columns))
    wide = runs.pivot_table(index="seed", columns="arm", values="final_loss")
    wide_probe = (runs.pivot_table(index="seed", columns="arm", values="probe_accuracy")
                  if probing else None)
    direction = mean_interval(wide[DECREASING] - wide[INCREASING])
    untrained = as_frame(result["untrained"])["probe_accuracy"]
    untrained_probe = ((mean_interval(untrained) if len(untrained) > 1 else
                        (float(untrained.mean()),) * 3) if probing else (float("nan"),) * 3)
    others = probes.drop(index=BASELINE) if probing else probes
    has_30 = MORE_TARGETS in wide.columns
    return {
        "speedups": speedups, "losses": losses, "probes": probes, "direction": direction,
        "untrained_probe": untrained_probe,
        "verdict": verdict(speedups[DECREASING], direction, min_speedup=min_speedup),
        "rate_gap": float((runs["target_share"] - runs["scheduled_rate"]).abs().max()),
        "beats_unigram": bool((runs["final_loss"] < result["unigram_loss"]).all()),
        "probe_beats_majority": (bool((runs["probe_accuracy"]
                                       > result["majority_accuracy"]).all())
                                 if probing else None),
        "probe_separated": [a for a, r in others.iterrows()
                            if r["diff_low"] > 0 or r["diff_high"] < 0],
        "probe_above_untrained": [a for a, r in probes.iterrows()
                                  if r["low"] > untrained_probe[0]],
        "constant30_minus_decreasing": (mean_interval(wide[MORE_TARGETS] - wide[DECREASING])
                                        if has_30 else None),
        "probe_decreasing_minus_constant30": (
            mean_interval(wide_probe[DECREASING] - wide_probe[MORE_TARGETS])
            if has_30 and probing else None),
    }


def headline_numbers(result: dict, n_boot: int = 2000, *,
                     analysis: dict | None = None) -> pd.Series:
    """The chapter's headline figures, so two runs (CPU live, GPU stored) sit side by side.
    Pass the result's :func:`analyse` output as ``analysis`` to reuse its bootstrap."""
    analysis = analysis if analysis is not None else analyse(result, n_boot=n_boot)
    s = analysis["speedups"][DECREASING]
    numbers = {"speedup 30→15 over constant 15% (x)": s.speedup,
               "speedup, 95% CI low": s.low, "speedup, 95% CI high": s.high,
               "final loss 30→15 − 15→30 (nats)": analysis["direction"][0],
               "unigram loss (nats)": result["unigram_loss"],
               "probe accuracy, untrained encoder": analysis["untrained_probe"][0],
               "probe accuracy, majority class": result["majority_accuracy"]}
    for arm, row in analysis["losses"].iterrows():
        numbers[f"{arm}: final held-out loss"] = row["mean"]
    for arm, row in analysis["probes"].iterrows():
        numbers[f"{arm}: probe accuracy"] = row["mean"]
        numbers[f"{arm}: probe accuracy CI low"] = row["low"]
        numbers[f"{arm}: probe accuracy CI high"] = row["high"]
    return pd.Series(numbers, dtype=float)


def _report(data: dict, params: dict) -> None:
    if data.get("probe_skipped"):
        print(data["probe_skipped"])
    with pd.option_context("display.width", 120):
        print(headline_numbers(data, n_boot=params["n_boot"]).round(4).to_string())


def main(argv: list[str] | None = None) -> int:
    return profile_main(CHAPTER, run_profile, _report, argv, description=__doc__)


if __name__ == "__main__":
    raise SystemExit(main())
