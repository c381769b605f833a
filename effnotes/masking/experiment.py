"""The chapter's experiment as named stages, for the notebook to call one at a time and for
``effnotes experiment masking_schedules --profile gpu --store`` to run whole.

The stages: :func:`prepare` (corpus, chunks, frozen evaluation masks, the probe's task),
:func:`pretraining` (every arm with every seed, each model probed) and :func:`analysis`
(speedups, loss and probe summaries as tables). It needs torch, numpy, pandas and
scikit-learn; on a machine without ``tokenizers`` set ``$EFFNOTES_MASKING_CORPUS`` to a
corpus file made by ``python -m effnotes.masking.corpus``. ``python -m
effnotes.masking.experiment`` is an alias of ``effnotes experiment masking_schedules``.
"""

from __future__ import annotations

import contextlib

import pandas as pd
import torch

from effnotes.contract import Experiment, Result
from effnotes.experiment_runner import experiment_main
from effnotes.masking.analysis import arm_summary, mean_interval, schedule_speedup, verdict
from effnotes.masking.collator import IGNORE, corruption_shares, frozen_eval_masks
from effnotes.masking.corpus import TokenizedCorpus, corpus_for
from effnotes.masking.data import area_task, label_task, pack_chunks, split_documents
from effnotes.masking.model import EncoderConfig, MaskedLanguageModel
from effnotes.masking.pretrain import PretrainConfig, pretrain
from effnotes.masking.probe import majority_accuracy, probe_accuracy
from effnotes.masking.schedules import parse_schedule
from effnotes.results import as_frame
from effnotes.runtime import choose_device, describe_hardware, torch_threads

CHAPTER = "masking_schedules"
BASELINE, DECREASING, INCREASING = "constant-0.15", "linear-0.30-0.15", "linear-0.15-0.30"
#: The arm with more targets throughout: the control for "more targets, any order".
MORE_TARGETS = "constant-0.30"
#: Seed and rate of the frozen evaluation masks, shared by every arm and every seed.
EVAL_MASK_SEED = 12345
EVAL_RATE = 0.15


def _get(params, name: str, default=None):
    """A parameter of a profile dataclass or of a plain parameters dict."""
    if isinstance(params, dict):
        return params.get(name, default)
    return getattr(params, name, default)


def model_config(params, vocab_size: int) -> EncoderConfig:
    """The encoder of a profile (a ``Profile`` or its parameters dict) for a vocabulary of
    ``vocab_size`` tokens."""
    return EncoderConfig(vocab_size=vocab_size, max_len=_get(params, "seq_len"),
                         d_model=_get(params, "d_model"), n_layers=_get(params, "n_layers"),
                         n_heads=_get(params, "n_heads"), d_ff=_get(params, "d_ff"),
                         dropout=_get(params, "dropout"))


def pretrain_config(params) -> PretrainConfig:
    """The optimisation of a profile (a ``Profile`` or its parameters dict)."""
    return PretrainConfig(steps=_get(params, "steps"), batch_size=_get(params, "batch_size"),
                          lr=_get(params, "lr"), eval_every=_get(params, "eval_every"))


def unigram_loss(chunks: torch.Tensor, labels: torch.Tensor, vocab_size: int) -> float:
    """Cross-entropy (nats) of the held-out targets under the training chunks' token
    frequencies (add-one smoothed): the loss of a model that ignores the context."""
    counts = torch.bincount(chunks.flatten(), minlength=vocab_size).double() + 1.0
    log_p = torch.log(counts / counts.sum())
    targets = labels[labels != IGNORE]
    return float(-log_p[targets].mean())


def user_corpus(params) -> tuple[TokenizedCorpus | None, tuple[str, ...] | None, str]:
    """The reader's corpus named by the ``data`` parameter (``None`` for the bundled prose),
    tokenised with the chapter's tokeniser, its labels if a labels file goes with it, and why
    the probe is skipped if none does (empty when it runs)."""
    from effnotes.data.paths import resolve_data
    from effnotes.data.text import find_labels, load_text_data, read_labels
    from effnotes.masking.corpus import prepare_corpus

    path = resolve_data(CHAPTER, _get(params, "data_path"))
    if path is None:
        return None, None, ""
    text = load_text_data(path)
    labels_file = find_labels(path)
    labels = read_labels(labels_file, text) if labels_file else None
    skipped = "" if labels else (f"the downstream probe is skipped: no labels file goes with "
                                 f"{path} (labels.csv or labels.jsonl, columns document,label)")
    return prepare_corpus(text, vocab_size=_get(params, "vocab_size")), labels, skipped




def prepare_data(params, corpus: TokenizedCorpus | None = None) -> dict:
    """Corpus, chunks, frozen evaluation masks and the probe's task for a profile (a
    ``Profile`` or its parameters dict; for a reader's unlabelled corpus, no task:
    ``task_train`` is None and ``probe_skipped`` says why)."""
    labels, skipped = None, ""
    data_path, seq_len, n_eval = (_get(params, k) for k in ("data_path", "seq_len", "n_eval"))
    if corpus is None and data_path is not None:
        corpus, labels, skipped = user_corpus(params)
    corpus = corpus or corpus_for(_get(params, "vocab_size"))
    split = split_documents(corpus, heldout_fraction=0.1, seed=0)
    chunks = pack_chunks(corpus, split.train, seq_len)
    heldout = pack_chunks(corpus, split.heldout, seq_len)
    if heldout.shape[0] < n_eval:
        raise ValueError(f"only {heldout.shape[0]} held-out chunks, fewer than n_eval={n_eval}")
    masks = frozen_eval_masks(heldout[:n_eval], corpus.special, rate=EVAL_RATE,
                              seed=EVAL_MASK_SEED)
    if data_path is None:
        task_train, task_test = area_task(corpus, split, n_classes=_get(params, "n_classes"),
                                          seq_len=seq_len)
    elif labels is not None:
        task_train, task_test = label_task(corpus, split, labels, seq_len=seq_len)
    else:
        task_train = task_test = None
    extra = {"probe_skipped": skipped} if skipped else {}
    return {"corpus": corpus, "chunks": chunks, "heldout": heldout, "masks": masks,
            "task_train": task_train, "task_test": task_test, **extra}


def _tokens(corpus: TokenizedCorpus, ids: torch.Tensor) -> list[str]:
    """``ids`` as tokens; as ``#id`` where the tokeniser cannot be loaded (a machine without
    ``tokenizers``, or a corpus file that stores no tokeniser)."""
    try:
        return corpus.decode_tokens(ids)
    except (ImportError, ValueError):
        return [f"#{int(i)}" for i in ids]


def example_sequence(corpus: TokenizedCorpus, original: torch.Tensor, masks,
                     row: int = 0, positions: int = 16) -> pd.DataFrame:
    """One held-out sequence as the model sees it under the frozen masks: a table of three
    rows (original, model input, target: empty where a position is not a target) and one
    column per position, the first ``positions`` of row ``row``."""
    labels = masks.labels[row][:positions]
    targets = _tokens(corpus, labels.clamp(min=0))
    table = pd.DataFrame({
        "original": _tokens(corpus, original[row][:positions]),
        "model input": _tokens(corpus, masks.inputs[row][:positions]),
        "target": [t if int(label) != IGNORE else "" for t, label in zip(targets, labels)],
    })
    return table.T.rename(columns=str)


def mask_mismatches(heldout: torch.Tensor, masks, special) -> int:
    """Positions (of the inputs and of the labels, counted together) where the frozen
    evaluation masks rebuilt from their seed differ from ``masks``: 0 when they are
    reproducible. ``heldout``: the ``(n, seq_len)`` ids the masks were made from."""
    rebuilt = frozen_eval_masks(heldout[: masks.inputs.shape[0]], special, rate=masks.rate,
                                seed=masks.seed)
    return int((rebuilt.inputs != masks.inputs).sum() + (rebuilt.labels != masks.labels).sum())


def seed_list(profile) -> list[int]:
    """The seeds a profile runs: ``first_seed .. first_seed + seeds - 1``."""
    return list(range(profile.first_seed, profile.first_seed + profile.seeds))


def _rates_word(spec: str) -> str:
    """A schedule's rates as the prose names it: ``"30→15"`` for linear 0.30 to 0.15,
    ``"15%"`` for constant 0.15."""
    s = parse_schedule(spec)
    if s.kind == "constant":
        return f"{100 * s.start:g}%"
    return f"{100 * s.start:g}→{100 * s.end:g}"


def schedule_facts(profile) -> dict:
    """What the page says about the arms before any training: the words for the four
    schedules it discusses (``dec`` 30→15, ``inc`` 15→30, ``base`` and ``more``, the rates of
    constant 15% and 30%), the number of arms and their labels, the mean rate of 30→15 over
    the run in percent and its targets relative to constant 15%, and the widget's run:
    ``steps``, ``batch`` sequences of ``ordinary_tokens`` tokens after ``[CLS]``."""
    mean = {spec: parse_schedule(spec).mean_rate(profile.steps) for spec in profile.arms}
    return {"dec": _rates_word(DECREASING), "inc": _rates_word(INCREASING),
            "base": _rates_word(BASELINE), "more": _rates_word(MORE_TARGETS),
            "eval_rate": f"{100 * EVAL_RATE:g}%",
            "n_arms": len(profile.arms),
            "list": ", ".join(parse_schedule(a).label for a in profile.arms),
            "mean_rate_decreasing": 100 * mean[DECREASING],
            "target_ratio": mean[DECREASING] / mean[BASELINE],
            "steps": profile.steps, "batch": profile.batch_size,
            "ordinary_tokens": profile.seq_len - 1}


def setup_facts(prepared, profile) -> dict:
    """What the page says about the data and model of a run: the :func:`prepare` stage's
    ``prepared`` outputs and the ``profile``'s sizes (shares in percent)."""
    corpus = prepared["corpus"]
    return {"n_documents": corpus["n_documents"], "n_tokens": corpus["n_tokens"],
            "vocab_size": corpus["vocab_size"], "seq_len": profile.seq_len,
            "n_layers": profile.n_layers, "d_model": profile.d_model,
            "n_params": f"{prepared['n_params']:,}", "n_steps": profile.steps,
            "batch": profile.batch_size, "eval_every": profile.eval_every,
            "n_chunks": corpus["n_chunks"], "n_eval_chunks": corpus["n_eval_chunks"],
            "eval_targets": corpus["eval_targets"],
            "eval_target_share": 100 * corpus["eval_target_share"],
            "share_mask": 100 * corpus["eval_mask_share"],
            "share_random": 100 * corpus["eval_random_share"],
            "share_kept": 100 * corpus["eval_kept_share"],
            "n_boot": profile.n_boot, "min_speedup": profile.min_speedup,
            "n_classes": profile.n_classes, "rate_tolerance": profile.rate_tolerance,
            "n_probe_train": corpus["n_probe_train"], "n_probe_test": corpus["n_probe_test"],
            "unigram_loss": prepared["unigram_loss"]}


# --- the stages ----------------------------------------------------------------------------

def prepare(profile, state, *, progress: bool = False) -> dict:
    """Stage 1: the corpus, chunks, frozen evaluation masks and probe task (``_data``, in
    memory), and what the page says about them: ``corpus`` (sizes; the masks' checksum,
    whether they rebuild from their seed, and BERT's corruption shares as fractions of the
    targets), ``example`` (one masked held-out sequence), ``n_params``, ``unigram_loss``
    (nats), ``majority_accuracy`` (a fraction) and ``hardware``."""
    device = choose_device(profile.device)
    data = prepare_data(profile)
    corpus, chunks, masks, heldout = data["corpus"], data["chunks"], data["masks"], data["heldout"]
    probing = data["task_train"] is not None
    evaluated = heldout[: masks.inputs.shape[0]]
    shares = corruption_shares(masks, evaluated, corpus.special)
    model = MaskedLanguageModel(model_config(profile, corpus.vocab_size))
    summary = {
        "n_documents": len(corpus), "n_tokens": corpus.n_tokens,
        "vocab_size": corpus.vocab_size, "n_chunks": int(chunks.shape[0]),
        "n_eval_chunks": int(masks.inputs.shape[0]), "eval_targets": masks.n_targets,
        "eval_ordinary_tokens": int((~corpus.special.never_masked(evaluated)).sum()),
        "eval_checksum": masks.checksum(),
        "eval_mask_mismatches": mask_mismatches(heldout, masks, corpus.special),
        **{f"eval_{k}": v for k, v in shares.items()},
        "classes": list(data["task_train"].classes) if probing else [],
        "n_probe_train": int(len(data["task_train"].labels)) if probing else 0,
        "n_probe_test": int(len(data["task_test"].labels)) if probing else 0}
    return {
        "_data": data, "_device": device,
        "hardware": describe_hardware(device).as_dict(),
        "corpus": summary,
        "example": example_sequence(corpus, heldout, masks),
        "n_params": int(sum(p.numel() for p in model.parameters())),
        "unigram_loss": unigram_loss(chunks, masks.labels, corpus.vocab_size),
        "majority_accuracy": (majority_accuracy(data["task_train"], data["task_test"])
                              if probing else float("nan")),
        **({"probe_skipped": data["probe_skipped"]} if "probe_skipped" in data else {}),
    }


def pretraining(profile, state, *, progress: bool = False) -> dict:
    """Stage 2: pretrain every arm with every seed and probe each model (and an untrained
    encoder per seed). ``runs``: one row per (arm, seed) with final_loss (nats),
    scheduled_rate and target_share (fractions of the ordinary tokens), targets,
    train_time_s (seconds) and probe_accuracy (a fraction; NaN without a task);
    ``curves``: arm, seed, step, heldout_loss (nats); ``untrained``: seed, probe_accuracy."""
    data, device = state["_data"], state["_device"]
    corpus, chunks, masks = data["corpus"], data["chunks"], data["masks"]
    schedules = [parse_schedule(spec) for spec in profile.arms]
    names = [s.name for s in schedules]
    for required in (BASELINE, DECREASING, INCREASING):
        if required not in names:
            raise ValueError(f"the arms must include {required!r}; got {names}")
    mconfig, pconfig = model_config(profile, corpus.vocab_size), pretrain_config(profile)
    probing = data["task_train"] is not None

    def probe(model, seed: int) -> float:
        if not probing:  # a reader's corpus without labels: nothing to probe against
            return float("nan")
        return probe_accuracy(model, data["task_train"], data["task_test"], seed=seed)

    curves, runs, untrained = [], [], []
    threads = profile.torch_threads
    with torch_threads(threads) if threads else contextlib.nullcontext():
        for seed in seed_list(profile):
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
        "curves": pd.concat(curves, ignore_index=True)[["arm", "seed", "step", "heldout_loss"]],
        "runs": pd.DataFrame(runs),
        "untrained": pd.DataFrame(untrained),
    }


def analysis(profile, state, *, progress: bool = False) -> dict:
    """Stage 3: :func:`analyse`'s speedups, summaries and intervals as the storable tables of
    :func:`tables_of`, so the page and the claims read them back without a new bootstrap."""
    return tables_of(analyse(state, n_boot=profile.n_boot, min_speedup=profile.min_speedup))


EXPERIMENT = Experiment(CHAPTER, [prepare, pretraining, analysis])


def run(profile, *, progress: bool = False) -> Result:
    """Every stage of the chapter's experiment at ``profile``: the
    :class:`~effnotes.contract.Result`."""
    return EXPERIMENT.run(profile, progress=progress)


# --- analysis --------------------------------------------------------------------------------

#: The (mean, low, high) intervals of :func:`analyse` kept in the ``intervals`` table.
INTERVALS = ("direction", "untrained_probe", "constant30_minus_decreasing",
             "probe_decreasing_minus_constant30")


def tables_of(found: dict) -> dict:
    """:func:`analyse`'s output as storable tables: ``speedups`` (arm, label, speedup, low,
    high, fraction_defined, target loss in nats, n_boot), ``losses`` and ``probes`` (arm,
    mean, low, high, diff, diff_low, diff_high) and ``intervals`` (name, mean, low, high;
    NaN where the arm an interval needs was not run)."""
    speedups = pd.DataFrame([{"arm": arm, "label": parse_schedule(arm).label,
                              "speedup": s.speedup, "low": s.low, "high": s.high,
                              "fraction_defined": s.fraction_defined, "target": s.target,
                              "n_boot": s.n_boot}
                             for arm, s in found["speedups"].items()])
    nan3 = (float("nan"),) * 3
    intervals = pd.DataFrame([dict(zip(("name", "mean", "low", "high"),
                                       (name, *(found[name] or nan3))))
                              for name in INTERVALS])
    return {"speedups": speedups,
            "losses": found["losses"].rename_axis("arm").reset_index(),
            "probes": found["probes"].rename_axis("arm").reset_index(),
            "intervals": intervals}


def analyse(result, *, n_boot: int = 2000, min_speedup: float = 1.1) -> dict:
    """Speedups, loss and probe summaries, the verdict, and the facts the chapter states
    about a run: a :class:`~effnotes.contract.Result` (live, with frames, or stored, with
    lists of records), its data, or the stages' state. Keys:

    - ``speedups``: arm -> :class:`~effnotes.tradeoff.SpeedupEstimate` over constant 15%;
    - ``losses``, ``probes``: :func:`~effnotes.masking.analysis.arm_summary` frames of final
      held-out loss and probe accuracy (mean, t interval, paired difference from constant 15%);
    - ``direction``: final loss 30→15 − 15→30, ``(mean, low, high)`` over seeds (nats);
    - ``untrained_probe``: the untrained encoder's probe accuracy, ``(mean, low, high)``;
    - ``verdict``: :func:`~effnotes.masking.analysis.verdict`'s dict;
    - ``rate_gap``: the largest ``|share of tokens that were targets − scheduled mean rate|``;
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




def main(argv: list[str] | None = None) -> int:
    """``python -m effnotes.masking.experiment``: an alias of ``effnotes experiment
    masking_schedules``."""
    return experiment_main(CHAPTER, argv)


if __name__ == "__main__":
    raise SystemExit(main())
