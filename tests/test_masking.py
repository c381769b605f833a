"""The masking-schedule chapter's package: schedules, collator, corpus, model, training,
analysis and the experiment's stages."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from effnotes.chapters import get_chapter
from effnotes.data.text import Document, TextCorpus
from effnotes.masking import (IGNORE, EncoderConfig, MaskedLanguageModel, MaskingCollator,
                              MaskingSchedule, PretrainConfig, SpecialTokens, TokenizedCorpus,
                              arm_summary, area_task, corpus_for, frozen_eval_masks, load_corpus,
                              mask_tokens, mean_interval, pack_chunks, parse_schedule, pretrain,
                              save_corpus, schedule_speedup, split_documents, steps_to_reach,
                              verdict)
from effnotes.masking.corpus import CORPUS_ENV, prepare_corpus

SPECIAL = SpecialTokens(pad=0, unk=1, cls=2, sep=3, mask=4, vocab_size=100)


# --- schedules ------------------------------------------------------------------------------

def test_schedules_follow_their_formulas():
    assert MaskingSchedule("constant", 0.15).rate(0.7) == 0.15
    linear = MaskingSchedule("linear", 0.3, 0.15)
    assert linear.rate(0) == pytest.approx(0.3) and linear.rate(1) == pytest.approx(0.15)
    assert linear.rate(0.5) == pytest.approx(0.225)
    cosine = MaskingSchedule("cosine", 0.3, 0.15)
    assert cosine.rate(0) == pytest.approx(0.3) and cosine.rate(1) == pytest.approx(0.15)
    assert cosine.rate(0.5) == pytest.approx(0.225)
    assert cosine.rate(0.25) == pytest.approx(0.15 + 0.15 * (1 + math.cos(math.pi / 4)) / 2)
    step = MaskingSchedule("step", 0.3, 0.15)
    assert step.rate(0.49) == 0.3 and step.rate(0.5) == 0.15
    rates = linear.rates(4)
    assert rates.shape == (4,) and rates == pytest.approx([0.3, 0.2625, 0.225, 0.1875])
    assert linear.mean_rate(4) == pytest.approx(rates.mean())


def test_schedule_names_round_trip():
    for spec in ("constant-0.15", "linear-0.30-0.15", "cosine-0.30-0.15", "step-0.15-0.30"):
        assert parse_schedule(spec).name == spec
    assert parse_schedule("linear-0.3-0.15").label == "linear 30→15%"


@pytest.mark.parametrize("args, message", [
    (("linear", 0.0, 0.15), "open interval"), (("linear", 0.3, 1.0), "open interval"),
    (("constant", -0.1), "open interval"), (("constant", 0.15, 0.3), "one rate"),
    (("quadratic", 0.15), "unknown schedule kind"),
])
def test_schedule_errors(args, message):
    with pytest.raises(ValueError, match=message):
        MaskingSchedule(*args)


def test_schedule_checks_progress_and_specs():
    with pytest.raises(ValueError, match="progress"):
        MaskingSchedule().rate(1.5)
    with pytest.raises(ValueError, match="cannot read"):
        parse_schedule("linear-0.3")
    with pytest.raises(ValueError, match="not numbers"):
        parse_schedule("constant-abc")
    with pytest.raises(TypeError):
        MaskingSchedule("constant", "0.15")


# --- masking --------------------------------------------------------------------------------

def _batch(n=64, length=128, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, SPECIAL.vocab_size, (n, length), generator=g)
    ids[:, 0] = SPECIAL.cls
    ids[:, -1] = SPECIAL.sep
    return ids


def test_mask_tokens_corrupts_80_10_10_at_the_rate():
    ids = _batch()
    inputs, labels = mask_tokens(ids, 0.3, SPECIAL, torch.Generator().manual_seed(1))
    targets = labels != IGNORE
    maskable = ids >= 5
    assert not targets[~maskable].any(), "special tokens are never targets"
    assert targets.sum() / maskable.sum() == pytest.approx(0.3, abs=0.01)
    assert torch.equal(labels[targets], ids[targets])
    assert torch.equal(inputs[~targets], ids[~targets])
    n = targets.sum().item()
    masked = (inputs[targets] == SPECIAL.mask).sum().item() / n
    unchanged = (inputs[targets] == ids[targets]).sum().item() / n
    assert masked == pytest.approx(0.8, abs=0.02)
    assert unchanged == pytest.approx(0.1 + 0.9 * 0.1 / 95, abs=0.02)  # kept, or swapped to itself
    swapped = inputs[targets & (inputs != SPECIAL.mask) & (inputs != ids)]
    assert swapped.numel() > 0 and swapped.min() >= 5


def test_same_seed_gives_nested_targets_across_rates():
    ids = _batch()
    _, low = mask_tokens(ids, 0.15, SPECIAL, torch.Generator().manual_seed(3))
    _, high = mask_tokens(ids, 0.30, SPECIAL, torch.Generator().manual_seed(3))
    assert ((low != IGNORE) <= (high != IGNORE)).all()


def test_mask_tokens_errors():
    ids = _batch(2, 8)
    g = torch.Generator()
    with pytest.raises(ValueError, match="open interval"):
        mask_tokens(ids, 1.0, SPECIAL, g)
    with pytest.raises(TypeError, match="torch.long"):
        mask_tokens(ids.int(), 0.15, SPECIAL, g)
    with pytest.raises(ValueError, match="shape"):
        mask_tokens(ids[0], 0.15, SPECIAL, g)
    with pytest.raises(ValueError, match=r"lie in \[0, 100\)"):
        mask_tokens(ids + 100, 0.15, SPECIAL, g)
    with pytest.raises(ValueError, match="special token ids"):
        SpecialTokens(pad=0, unk=1, cls=2, sep=3, mask=7, vocab_size=100)


def test_collator_follows_the_schedule_step_by_step():
    schedule = MaskingSchedule("linear", 0.3, 0.15)
    collator = MaskingCollator(schedule, SPECIAL, total_steps=10, seed=0)
    shares = []
    for step in range(10):
        _, labels, rate = collator(_batch(32, 64, step), step)
        assert rate == pytest.approx(schedule.rate(step / 10))
        shares.append((labels != IGNORE).float().mean().item() * 64 / 62)
    assert np.corrcoef(shares, schedule.rates(10))[0, 1] > 0.95
    with pytest.raises(ValueError, match="step"):
        collator(_batch(2, 8), 10)
    again = MaskingCollator(schedule, SPECIAL, total_steps=10, seed=0)
    first = MaskingCollator(schedule, SPECIAL, total_steps=10, seed=0)
    assert torch.equal(again(_batch(), 0)[0], first(_batch(), 0)[0])


def test_frozen_eval_masks_are_frozen():
    ids = _batch(8, 32)
    a, b = frozen_eval_masks(ids, SPECIAL), frozen_eval_masks(ids, SPECIAL)
    assert a.checksum() == b.checksum() and a.rate == 0.15 and a.n_targets > 0
    assert frozen_eval_masks(ids, SPECIAL, seed=1).checksum() != a.checksum()
    only_special = torch.full((2, 4), SPECIAL.pad)
    with pytest.raises(ValueError, match="no targets"):
        frozen_eval_masks(only_special, SPECIAL)


# --- corpus and data ------------------------------------------------------------------------

AREAS = ("alpha", "beta", "gamma")


@pytest.fixture(scope="module")
def small_corpus():
    words = ["the", "queue", "socket", "parser", "returns", "value", "list", "file", "reads",
             "writes", "error", "object", "string", "number", "handler", "timeout"]
    rng = np.random.default_rng(0)
    documents = []
    for i in range(120):
        area = AREAS[i % 3]
        text = " ".join(rng.choice(words[: 6 + 5 * (i % 3)], size=30)) + f" {area}."
        documents.append(Document(f"{area}.module.f{i}", text))
    return prepare_corpus(TextCorpus(tuple(documents)), vocab_size=80)


def test_prepared_corpus_round_trips_through_a_checked_file(small_corpus, tmp_path, monkeypatch):
    assert small_corpus.vocab_size <= 80 and len(small_corpus) == 120
    from tokenizers import Tokenizer

    vocab = Tokenizer.from_str(small_corpus.tokenizer_json).get_vocab()
    by_id = sorted(vocab, key=vocab.get)
    assert by_id[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert by_id[5:] == sorted(by_id[5:]), "ids are numbered in a fixed order (reproducible)"
    path = save_corpus(small_corpus, tmp_path / "corpus.npz")
    back = load_corpus(path)
    assert np.array_equal(back.ids, small_corpus.ids) and back.sources == small_corpus.sources
    assert back.tokenizer_json == small_corpus.tokenizer_json
    monkeypatch.setenv(CORPUS_ENV, str(path))
    assert corpus_for(small_corpus.vocab_size).n_tokens == small_corpus.n_tokens
    with pytest.raises(ValueError, match="rebuild it with --vocab-size"):
        corpus_for(small_corpus.vocab_size + 1)
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="checksum"):
        load_corpus(path)
    with pytest.raises(FileNotFoundError, match="no corpus file"):
        load_corpus(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match=".npz"):
        save_corpus(small_corpus, tmp_path / "corpus.pkl")


def test_empty_corpora_are_refused():
    with pytest.raises(ValueError, match="empty"):
        TextCorpus(())
    with pytest.raises(ValueError, match="empty"):
        TokenizedCorpus(np.zeros(0, np.int32), np.array([0, 0]), ("a",), vocab_size=10)
    with pytest.raises(ValueError, match="empty"):
        TokenizedCorpus(np.zeros(0, np.int32), np.array([0]), (), vocab_size=10)


def test_chunks_and_the_area_task(small_corpus):
    split = split_documents(small_corpus, heldout_fraction=0.25, seed=0)
    assert len(split.train) + len(split.heldout) == 120 and not set(split.train) & set(split.heldout)
    chunks = pack_chunks(small_corpus, split.train, 16)
    assert chunks.shape[1] == 16 and (chunks[:, 0] == small_corpus.special.cls).all()
    with pytest.raises(ValueError, match="seq_len"):
        pack_chunks(small_corpus, split.train, 2)
    train, test = area_task(small_corpus, split, n_classes=3, seq_len=16)
    assert train.classes == tuple(sorted(AREAS)) and train.ids.shape == (len(train.labels), 16)
    assert (train.lengths <= 16).all() and len(test.labels) == len(split.heldout)
    with pytest.raises(ValueError, match="fewer than n_classes"):
        area_task(small_corpus, split, n_classes=4, seq_len=16)


# --- model and training ---------------------------------------------------------------------

def test_encoder_config_and_model_errors():
    with pytest.raises(ValueError, match="divisible"):
        EncoderConfig(d_model=10, n_heads=3)
    with pytest.raises(ValueError, match="max_len"):
        EncoderConfig(max_len=0)
    model = MaskedLanguageModel(EncoderConfig(vocab_size=100, max_len=8, d_model=16, n_heads=2,
                                              d_ff=32, n_layers=1))
    with pytest.raises(ValueError, match="exceeds the model's max_len 8"):
        model(torch.zeros(2, 9, dtype=torch.long))
    ids = _batch(4, 8)
    inputs, labels = mask_tokens(ids, 0.5, SPECIAL, torch.Generator().manual_seed(0))
    assert torch.isfinite(model.mlm_loss(inputs, labels))
    with pytest.raises(ValueError, match="no targets"):
        model.mlm_loss(inputs, torch.full_like(labels, IGNORE))
    assert model.pooled(ids, torch.tensor([8, 5, 3, 8])).shape == (4, 16)


def test_pretraining_learns_and_is_reproducible(small_corpus):
    special = small_corpus.special
    split = split_documents(small_corpus, heldout_fraction=0.25, seed=0)
    chunks = pack_chunks(small_corpus, split.train, 16)
    masks = frozen_eval_masks(pack_chunks(small_corpus, split.heldout, 16), special)
    config = EncoderConfig(vocab_size=small_corpus.vocab_size, max_len=16, d_model=32,
                           n_heads=2, d_ff=64, n_layers=1)
    train = PretrainConfig(steps=40, batch_size=16, lr=5e-3, eval_every=10)
    schedule = MaskingSchedule("linear", 0.3, 0.15)
    a = pretrain(chunks, masks, schedule, special, config, train, init_seed=1)
    b = pretrain(chunks, masks, schedule, special, config, train, init_seed=1)
    assert a.curve["step"].tolist() == [10, 20, 30, 40]
    assert a.curve["heldout_loss"].equals(b.curve["heldout_loss"])
    assert a.curve["heldout_loss"].iloc[-1] < math.log(small_corpus.vocab_size)
    assert a.trace["rate"].tolist() == pytest.approx(schedule.rates(40).tolist())
    with pytest.raises(ValueError, match="exceed the model's max_len"):
        pretrain(pack_chunks(small_corpus, split.train, 32), masks, schedule, special, config, train)
    with pytest.raises(ValueError, match="vocab_size"):
        pretrain(chunks, masks, schedule, SPECIAL, config, train)


# --- analysis -------------------------------------------------------------------------------

def _curves(speed=2.0, seeds=3, noise=0.0):
    steps = np.arange(10, 101, 10)
    rows = []
    rng = np.random.default_rng(0)
    for seed in range(seeds):
        for arm, factor in (("base", 1.0), ("fast", speed)):
            loss = 5.0 / np.log(factor * steps + 1) + noise * rng.normal(size=steps.size)
            rows += [{"arm": arm, "seed": seed, "step": s, "heldout_loss": v}
                     for s, v in zip(steps, loss)]
    return pd.DataFrame(rows)


def test_speedup_of_a_curve_twice_as_fast():
    estimate = schedule_speedup(_curves(2.0), "base", "fast", n_boot=200)
    assert estimate.speedup == pytest.approx(2.0, rel=0.05)
    assert estimate.low <= estimate.speedup <= estimate.high and estimate.fraction_defined == 1
    assert steps_to_reach([10, 20, 40], [3.0, 2.0, 1.0], 1.0) == 40
    assert steps_to_reach([10, 20, 40], [3.0, 2.0, 1.5], 1.0) == math.inf


def test_a_slower_arm_that_never_reaches_the_target_has_no_speedup():
    estimate = schedule_speedup(_curves(0.5), "base", "fast", n_boot=200)
    assert math.isnan(estimate.speedup) and estimate.low == 0 and estimate.fraction_defined == 0


def test_speedup_errors():
    curves = _curves()
    with pytest.raises(ValueError, match="same seeds"):
        schedule_speedup(curves[~((curves.arm == "fast") & (curves.seed == 2))], "base", "fast")
    with pytest.raises(KeyError, match="no arm"):
        schedule_speedup(curves, "base", "slow")
    with pytest.raises(ValueError, match="n_boot"):
        schedule_speedup(curves, "base", "fast", n_boot=10)


def test_intervals_and_verdict():
    mean, low, high = mean_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and low == pytest.approx(2 - 4.302653 / math.sqrt(3), rel=1e-5)
    with pytest.raises(ValueError, match="at least 2"):
        mean_interval([1.0])
    table = pd.DataFrame({"arm": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1],
                          "score": [0.5, 0.6, 0.7, 0.8]})
    summary = arm_summary(table, "score", "a")
    assert summary.loc["b", "diff"] == pytest.approx(0.2) and summary.loc["a", "diff"] == 0
    estimate = schedule_speedup(_curves(2.0), "base", "fast", n_boot=200)
    assert verdict(estimate, (-0.1, -0.2, -0.05))["reproduced"]
    assert not verdict(estimate, (-0.1, -0.2, 0.05))["reproduced"]
    assert not verdict(estimate, (-0.1, -0.2, -0.05), min_speedup=3)["speedup_holds"]


# --- the experiment command -----------------------------------------------------------------

@pytest.fixture(scope="module")
def smoke_run():
    """The chapter's experiment at a shortened smoke profile (seconds)."""
    from effnotes.contract import profile_with
    from effnotes.masking.experiment import run

    profile = profile_with(get_chapter("masking_schedules").profile("smoke"), steps=12,
                           eval_every=4)
    return profile, run(profile)


def test_experiment_runs_a_profile(smoke_run):
    profile, result = smoke_run
    runs = result["runs"]
    assert set(runs["arm"]) == set(profile.arms)
    assert len(runs) == profile.seeds * len(profile.arms)
    assert sorted(runs["seed"].unique()) == list(range(profile.seeds))
    assert (runs["target_share"] - runs["scheduled_rate"]).abs().max() <= profile.rate_tolerance
    assert result["curves"]["step"].max() == profile.steps
    assert result["corpus"]["eval_mask_mismatches"] == 0
    assert set(result["speedups"]["arm"]) == set(profile.arms) - {"constant-0.15"}


def test_a_second_seed_set_runs_disjoint_seeds():
    from effnotes.contract import profile_with
    from effnotes.experiment_runner import seed_set_profile
    from effnotes.masking.experiment import seed_list

    smoke = get_chapter("masking_schedules").profile("smoke")
    second = seed_set_profile(smoke, 2)
    assert seed_list(smoke) == [0, 1] and seed_list(second) == [2, 3]
    assert seed_list(profile_with(smoke, first_seed=5, seeds=3)) == [5, 6, 7]


def test_headline_reads_live_and_stored_results_alike(smoke_run, tmp_path, monkeypatch):
    from effnotes.chapters import profile_parameters
    from effnotes.contract import stored_result
    from effnotes.masking.claims import claims, headline
    from effnotes.results import save_result

    profile, result = smoke_run
    monkeypatch.setenv("EFFNOTES_RESULTS", str(tmp_path))
    save_result("masking_schedules", "smoke", dict(result.data), profile="smoke",
                parameters=profile_parameters(profile), wall_time_s=1.0)
    stored = stored_result("masking_schedules", "smoke")
    live_numbers, stored_numbers = headline(result), headline(stored)
    assert np.isfinite(live_numbers["unigram loss (nats)"])
    assert "constant-0.15: probe accuracy" in live_numbers.index
    pd.testing.assert_series_equal(live_numbers, stored_numbers)
    live_claims, stored_claims = claims(result, profile), claims(stored, profile)
    pd.testing.assert_frame_equal(live_claims, stored_claims)


def _synthetic_result(probe_gain_30: float, loss_gain_30: float) -> dict:
    """A made-up run of four arms x 4 seeds whose facts are known in advance."""
    arms = {"constant-0.15": 0.15, "constant-0.30": 0.30, "linear-0.30-0.15": 0.225,
            "linear-0.15-0.30": 0.225}
    final = {"constant-0.15": 3.0, "constant-0.30": 2.8 - loss_gain_30,
             "linear-0.30-0.15": 2.8, "linear-0.15-0.30": 2.9}
    probe = {"constant-0.15": 0.60, "constant-0.30": 0.60 + probe_gain_30,
             "linear-0.30-0.15": 0.60, "linear-0.15-0.30": 0.60}
    wobble = [0.01, -0.01, 0.005, -0.005]
    steps = np.arange(10, 101, 10)
    runs, curves = [], []
    for arm, rate in arms.items():
        for seed, w in enumerate(wobble):
            runs.append({"arm": arm, "seed": seed, "final_loss": final[arm] + w,
                         "probe_accuracy": probe[arm] + w, "scheduled_rate": rate,
                         "target_share": rate + w / 10})
            curve = final[arm] + w + 2.0 * (1 - steps / 100)  # linear descent to the final loss
            curves += [{"arm": arm, "seed": seed, "step": int(t), "heldout_loss": float(c)}
                       for t, c in zip(steps, curve)]
    return {"runs": pd.DataFrame(runs), "curves": pd.DataFrame(curves), "unigram_loss": 2.95,
            "majority_accuracy": 0.5,
            "untrained": pd.DataFrame({"probe_accuracy": [0.55, 0.56, 0.57]})}


def test_analyse_states_the_run_facts_the_chapter_checks():
    from effnotes.masking.experiment import analyse

    facts = analyse(_synthetic_result(probe_gain_30=0.1, loss_gain_30=0.1), n_boot=200)
    assert facts["rate_gap"] == pytest.approx(0.001)
    assert not facts["beats_unigram"]  # constant 15% ends at 3.0 > 2.95
    assert facts["probe_beats_majority"]
    assert facts["probe_separated"] == ["constant-0.30"]
    assert facts["probe_above_untrained"] == list(facts["probes"].index)
    mean, low, high = facts["constant30_minus_decreasing"]
    assert mean == pytest.approx(-0.1) and high < 0
    mean, low, high = facts["probe_decreasing_minus_constant30"]
    assert mean == pytest.approx(-0.1) and high < 0
    assert facts["verdict"]["direction_holds"]  # 2.8 vs 2.9, the same wobble

    level = analyse(_synthetic_result(probe_gain_30=0.0, loss_gain_30=0.0), n_boot=200)
    assert level["probe_separated"] == []
    assert level["probe_decreasing_minus_constant30"][0] == pytest.approx(0.0)


def test_analyse_without_constant_30_has_no_constant_30_facts():
    from effnotes.masking.experiment import analyse

    result = _synthetic_result(0.0, 0.0)
    for key in ("runs", "curves"):
        result[key] = result[key][result[key]["arm"] != "constant-0.30"]
    facts = analyse(result, n_boot=200)
    assert facts["constant30_minus_decreasing"] is None
    assert facts["probe_decreasing_minus_constant30"] is None


def test_experiment_runs_from_a_corpus_file_without_tokenizers(small_corpus, tmp_path, monkeypatch):
    """The GPU machine has no ``tokenizers``: a prepared corpus file must be all it needs."""
    import sys

    from effnotes.contract import profile_with
    from effnotes.masking.experiment import run

    path = save_corpus(small_corpus, tmp_path / "corpus.npz")
    monkeypatch.setitem(sys.modules, "tokenizers", None)  # any import of it now fails
    monkeypatch.setenv(CORPUS_ENV, str(path))
    with pytest.raises(ImportError, match=CORPUS_ENV):
        prepare_corpus(TextCorpus((Document("a", "some text here"),)), vocab_size=50)
    profile = profile_with(get_chapter("masking_schedules").profile("smoke"),
                           vocab_size=small_corpus.vocab_size, n_classes=3, n_eval=8,
                           seq_len=16, steps=6, eval_every=3, seeds=2, batch_size=8)
    result = run(profile)
    assert len(result["runs"]) == 2 * len(profile.arms)
    assert result["corpus"]["n_documents"] == len(small_corpus)


def test_corruption_shares_follow_bert_80_10_10():
    from effnotes.masking import corruption_shares

    ids = torch.randint(SPECIAL.n_special, SPECIAL.vocab_size, (400, 64),
                        generator=torch.Generator().manual_seed(0))
    ids[:, 0] = SPECIAL.cls                       # one special token per row, never a target
    masks = frozen_eval_masks(ids, SPECIAL, rate=0.2, seed=1)
    shares = corruption_shares(masks, ids, SPECIAL)
    assert shares["target_share"] == pytest.approx(0.2, abs=0.01)
    assert shares["mask_share"] == pytest.approx(0.8, abs=0.02)
    # a random replacement equals the original about once in (vocab - specials) draws
    assert shares["random_share"] == pytest.approx(0.1 * (1 - 1 / 95), abs=0.02)
    assert shares["kept_share"] == pytest.approx(0.1 * (1 + 1 / 95), abs=0.02)
    assert sum(v for k, v in shares.items() if k != "target_share") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shape"):
        corruption_shares(masks, ids[:10], SPECIAL)


def test_decode_tokens_reads_ids_back_through_the_stored_tokeniser(small_corpus):
    from dataclasses import replace

    tokens = small_corpus.decode_tokens(small_corpus.document(0)[:5])
    assert len(tokens) == 5 and all(isinstance(t, str) and t for t in tokens)
    assert small_corpus.decode_tokens([small_corpus.special.mask]) == ["[MASK]"]
    with pytest.raises(ValueError, match="stores no tokeniser"):
        replace(small_corpus, tokenizer_json="").decode_tokens([0])
