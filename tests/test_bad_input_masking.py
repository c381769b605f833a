"""Bad input to effnotes.masking.schedules: each case raises the named error type and the
message names the argument; different schedules never share a name."""

import numpy as np
import pytest

import torch

from effnotes.masking.collator import MaskingCollator, SpecialTokens, frozen_eval_masks, mask_tokens
from effnotes.masking.pretrain import PretrainConfig
from effnotes.masking.schedules import MaskingSchedule, check_progress, parse_schedule

LINEAR = MaskingSchedule("linear", 0.3, 0.15)
SPECIAL = SpecialTokens(0, 1, 2, 3, 4, 50)
IDS = torch.arange(5, 37).reshape(4, 8)


def collator(**changes):
    arguments = {"seed": 0, **changes}
    total = arguments.pop("total_steps", 10)
    return MaskingCollator(LINEAR, arguments.pop("special", SPECIAL), total, **arguments)

CASES = [
    ("kind", lambda: MaskingSchedule("exponential", 0.2), ValueError, "kind"),
    ("start 0", lambda: MaskingSchedule("constant", 0.0), ValueError, "start"),
    ("start 1", lambda: MaskingSchedule("constant", 1.0), ValueError, "start"),
    ("start nan", lambda: MaskingSchedule("constant", float("nan")), ValueError, "start"),
    ("start text", lambda: MaskingSchedule("constant", "0.15"), TypeError, "start"),
    ("start bool", lambda: MaskingSchedule("constant", True), TypeError, "start"),
    ("end 1", lambda: MaskingSchedule("linear", 0.3, 1.0), ValueError, "end"),
    ("end nan", lambda: MaskingSchedule("linear", 0.3, float("nan")), ValueError, "end"),
    ("constant end", lambda: MaskingSchedule("constant", 0.15, 0.3), ValueError, "end"),
    ("progress > 1", lambda: LINEAR.rate(1.5), ValueError, "progress"),
    ("progress nan", lambda: LINEAR.rate(float("nan")), ValueError, "progress"),
    ("progress text", lambda: check_progress("half"), TypeError, "progress"),
    ("total_steps 0", lambda: LINEAR.rates(0), ValueError, "total_steps"),
    ("total_steps float", lambda: LINEAR.rates(10.0), ValueError, "total_steps"),
    ("mean_rate steps", lambda: LINEAR.mean_rate(-3), ValueError, "total_steps"),
    ("spec type", lambda: parse_schedule(0.15), TypeError, "spec"),
    ("spec rates", lambda: parse_schedule("linear-0.3"), ValueError, "spec"),
    ("spec numbers", lambda: parse_schedule("linear-a-b"), ValueError, "spec"),
    ("spec kind", lambda: parse_schedule("sine-0.3-0.1"), ValueError, "spec"),
    ("vocab_size float", lambda: SpecialTokens(0, 1, 2, 3, 4, 50.5), TypeError, "vocab_size"),
    ("pad float", lambda: SpecialTokens(0.0, 1, 2, 3, 4, 50), TypeError, "pad"),
    ("collator total float", lambda: collator(total_steps=10.5), TypeError, "total_steps"),
    ("collator total text", lambda: collator(total_steps="10"), TypeError, "total_steps"),
    ("collator total 0", lambda: collator(total_steps=0), ValueError, "total_steps"),
    ("collator special tuple", lambda: collator(special=(0, 1)), TypeError, "special"),
    ("collator seed float", lambda: collator(seed=0.5), TypeError, "seed"),
    ("collator seed -1", lambda: collator(seed=-1), ValueError, "seed"),
    ("collator check_ids text", lambda: collator(check_ids="yes"), TypeError, "check_ids"),
    ("collator step float", lambda: collator()(IDS, 1.5), TypeError, "step"),
    ("collator step text", lambda: collator()(IDS, "1"), TypeError, "step"),
    ("collator step at the end", lambda: collator()(IDS, 10), ValueError, "step"),
    ("mask special tuple", lambda: mask_tokens(IDS, 0.15, (0,), torch.Generator()), TypeError,
     "special"),
    ("frozen seed float", lambda: frozen_eval_masks(IDS, SPECIAL, seed=1.5), TypeError, "seed"),
    ("frozen ids list", lambda: frozen_eval_masks(IDS.tolist(), SPECIAL), TypeError, "ids"),
    ("frozen special tuple", lambda: frozen_eval_masks(IDS, (0,)), TypeError, "special"),
    ("pretrain steps float", lambda: PretrainConfig(steps=10.5), TypeError, "steps"),
    ("pretrain eval_every 0", lambda: PretrainConfig(eval_every=0), ValueError, "eval_every"),
    ("pretrain lr inf", lambda: PretrainConfig(lr=float("inf")), ValueError, "lr"),
    ("pretrain weight_decay -1", lambda: PretrainConfig(weight_decay=-1.0), ValueError,
     "weight_decay"),
    ("pretrain grad_clip 0", lambda: PretrainConfig(grad_clip=0.0), ValueError, "grad_clip"),
    ("pretrain grad_clip nan", lambda: PretrainConfig(grad_clip=float("nan")), ValueError,
     "grad_clip"),
]


@pytest.mark.parametrize("call, error, name", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_named(call, error, name):
    with pytest.raises(error) as raised:
        call()
    assert name in str(raised.value), str(raised.value)


@pytest.mark.parametrize("a, b", [(("constant", 0.151), ("constant", 0.149)),
                                  (("linear", 0.3, 0.151), ("linear", 0.3, 0.149)),
                                  (("cosine", 0.301, 0.15), ("cosine", 0.3, 0.15))])
def test_different_schedules_have_different_names(a, b):
    first, second = MaskingSchedule(*a), MaskingSchedule(*b)
    assert first.name != second.name
    assert parse_schedule(first.name) == first and parse_schedule(second.name) == second


def test_names_of_two_decimal_rates_are_unchanged():
    assert MaskingSchedule("linear", 0.3, 0.15).name == "linear-0.30-0.15"
    assert MaskingSchedule("constant", np.float32(0.25)).name == "constant-0.25"


# --- the encoder, its losses and the analysis (issue 13) -----------------------------------

import pandas as pd  # noqa: E402

from effnotes.masking.analysis import mean_interval, schedule_speedup, verdict  # noqa: E402
from effnotes.masking.collator import IGNORE, FrozenMasks  # noqa: E402
from effnotes.masking.model import EncoderConfig, MaskedLanguageModel  # noqa: E402
from effnotes.masking.pretrain import heldout_loss  # noqa: E402
from effnotes.tradeoff import SpeedupEstimate  # noqa: E402

SMALL = EncoderConfig(vocab_size=50, max_len=8, d_model=16, n_layers=1, n_heads=2, d_ff=32)


def small_model():
    torch.manual_seed(0)
    return MaskedLanguageModel(SMALL)


def small_curves():
    rows = [{"arm": arm, "seed": seed, "step": step, "heldout_loss": 5.0 / np.log(f * step + 1)}
            for seed in range(3) for arm, f in (("base", 1.0), ("fast", 2.0))
            for step in range(10, 101, 10)]
    return pd.DataFrame(rows)


def with_loss(value):
    curves = small_curves()
    if not isinstance(value, float):  # newer pandas refuses to put text in a float column
        curves["heldout_loss"] = curves["heldout_loss"].astype(object)
    curves.loc[3, "heldout_loss"] = value
    return curves


ESTIMATE = SpeedupEstimate(target=2.0, speedup=1.5, low=1.2, high=1.8, confidence=0.95,
                           n_boot=200, fraction_defined=1.0)
LABELS = torch.full((4, 8), IGNORE).index_put_((torch.tensor([0]), torch.tensor([1])),
                                               torch.tensor(7))
NO_TARGETS = FrozenMasks(IDS, torch.full((4, 8), IGNORE), 0.15, 0)
LENGTHS = torch.tensor([8, 5, 3, 8])

MODEL_CASES = [
    ("d_model bool", lambda: EncoderConfig(d_model=True), TypeError, "d_model"),
    ("n_heads float", lambda: EncoderConfig(n_heads=2.0), TypeError, "n_heads"),
    ("vocab_size 0", lambda: EncoderConfig(vocab_size=0), ValueError, "vocab_size"),
    ("dropout text", lambda: EncoderConfig(dropout="0.1"), TypeError, "dropout"),
    ("dropout nan", lambda: EncoderConfig(dropout=float("nan")), ValueError, "dropout"),
    ("ids float", lambda: small_model()(IDS.float()), TypeError, "ids"),
    ("ids list", lambda: small_model()(IDS.tolist()), TypeError, "ids"),
    ("ids 1-d", lambda: small_model()(IDS[0]), ValueError, "ids"),
    ("padding int", lambda: small_model()(IDS, torch.zeros(4, 8, dtype=torch.long)), TypeError,
     "padding"),
    ("padding list", lambda: small_model()(IDS, [[False] * 8] * 4), TypeError, "padding"),
    ("padding shape", lambda: small_model()(IDS, torch.zeros(4, 7, dtype=torch.bool)),
     ValueError, "padding"),
    ("mlm labels float", lambda: small_model().mlm_loss(IDS, LABELS.float()), TypeError,
     "labels"),
    ("mlm labels shape", lambda: small_model().mlm_loss(IDS, LABELS[:, :4]), ValueError,
     "labels"),
    ("mlm inputs int32", lambda: small_model().mlm_loss(IDS.int(), LABELS), TypeError, "inputs"),
    ("pooled lengths list", lambda: small_model().pooled(IDS, [8, 5, 3, 8]), TypeError,
     "lengths"),
    ("pooled lengths float", lambda: small_model().pooled(IDS, LENGTHS.float()), TypeError,
     "lengths"),
    ("pooled lengths shape", lambda: small_model().pooled(IDS, LENGTHS[:3]), ValueError,
     "lengths"),
    ("pooled lengths 0", lambda: small_model().pooled(IDS, torch.tensor([8, 0, 3, 8])),
     ValueError, "lengths"),
    ("pooled lengths long", lambda: small_model().pooled(IDS, torch.tensor([9, 5, 3, 8])),
     ValueError, "lengths"),
    ("pooled ids out of vocab", lambda: small_model().pooled(IDS + 20, LENGTHS), ValueError,
     "ids"),
    ("pooled ids empty", lambda: small_model().pooled(IDS[:0], LENGTHS[:0]), ValueError, "ids"),
    ("pooled batch_size 0", lambda: small_model().pooled(IDS, LENGTHS, batch_size=0),
     ValueError, "batch_size"),
    ("pooled batch_size float", lambda: small_model().pooled(IDS, LENGTHS, batch_size=2.0),
     TypeError, "batch_size"),
    ("heldout model", lambda: heldout_loss(object(), NO_TARGETS), TypeError, "model"),
    ("heldout masks tuple", lambda: heldout_loss(small_model(), (IDS, LABELS)), TypeError,
     "masks"),
    ("heldout batch_size 0", lambda: heldout_loss(small_model(), NO_TARGETS, batch_size=0),
     ValueError, "batch_size"),
    ("heldout no targets", lambda: heldout_loss(small_model(), NO_TARGETS), ValueError,
     "masks"),
    ("heldout labels shape",
     lambda: heldout_loss(small_model(), FrozenMasks(IDS, LABELS[:, :4], 0.15, 0)), ValueError,
     "masks.labels"),
    ("mean_interval text", lambda: mean_interval(["a", "b"]), TypeError, "values"),
    ("mean_interval one", lambda: mean_interval([1.0]), ValueError, "values"),
    ("mean_interval 2-d", lambda: mean_interval([[1.0, 2.0]]), ValueError, "values"),
    ("mean_interval inf", lambda: mean_interval([1.0, float("inf")]), ValueError, "values"),
    ("mean_interval confidence 1", lambda: mean_interval([1.0, 2.0], 1.0), ValueError,
     "confidence"),
    ("mean_interval confidence text", lambda: mean_interval([1.0, 2.0], "0.9"), TypeError,
     "confidence"),
    ("speedup curves list", lambda: schedule_speedup([], "base", "fast"), TypeError, "curves"),
    ("speedup curves column", lambda: schedule_speedup(small_curves().drop(columns="step"),
                                                       "base", "fast"), KeyError, "curves"),
    ("speedup curves empty", lambda: schedule_speedup(small_curves()[:0], "base", "fast"),
     ValueError, "curves"),
    ("speedup loss nan", lambda: schedule_speedup(with_loss(float("nan")), "base", "fast",
                                                  n_boot=100), ValueError, "heldout_loss"),
    ("speedup loss text", lambda: schedule_speedup(with_loss("x"), "base", "fast", n_boot=100),
     TypeError, "heldout_loss"),
    ("speedup duplicate rows",
     lambda: schedule_speedup(pd.concat([small_curves(), small_curves()[:1]]), "base", "fast",
                              n_boot=100), ValueError, "curves"),
    ("speedup n_boot float", lambda: schedule_speedup(small_curves(), "base", "fast",
                                                      n_boot=200.0), TypeError, "n_boot"),
    ("speedup confidence 0", lambda: schedule_speedup(small_curves(), "base", "fast",
                                                      n_boot=100, confidence=0.0), ValueError,
     "confidence"),
    ("speedup seed -1", lambda: schedule_speedup(small_curves(), "base", "fast", n_boot=100,
                                                 seed=-1), ValueError, "seed"),
    ("verdict speedup float", lambda: verdict(1.5, (-0.1, -0.2, -0.05)), TypeError, "speedup"),
    ("verdict interval pair", lambda: verdict(ESTIMATE, (-0.1, -0.2)), ValueError,
     "decreasing_minus_increasing"),
    ("verdict interval text", lambda: verdict(ESTIMATE, ("a", "b", "c")), TypeError,
     "decreasing_minus_increasing"),
    ("verdict interval nan", lambda: verdict(ESTIMATE, (-0.1, float("nan"), -0.05)),
     ValueError, "decreasing_minus_increasing"),
    ("verdict interval order", lambda: verdict(ESTIMATE, (-0.1, -0.05, -0.2)), ValueError,
     "decreasing_minus_increasing"),
    ("verdict min_speedup 0", lambda: verdict(ESTIMATE, (-0.1, -0.2, -0.05), min_speedup=0),
     ValueError, "min_speedup"),
    ("verdict min_speedup text", lambda: verdict(ESTIMATE, (-0.1, -0.2, -0.05),
                                                 min_speedup="1.1"), TypeError, "min_speedup"),
]


@pytest.mark.parametrize("call, error, name", [c[1:] for c in MODEL_CASES],
                         ids=[c[0] for c in MODEL_CASES])
def test_bad_model_and_analysis_input_is_named(call, error, name):
    with pytest.raises(error) as raised:
        call()
    assert name in str(raised.value), str(raised.value)


def test_valid_model_input_is_unchanged_by_the_checks():
    model = small_model()
    padding = torch.zeros(4, 8, dtype=torch.bool)
    padding[1, 5:] = True
    assert torch.equal(model(IDS), model(IDS, None))
    assert model(IDS, padding).shape == (4, 8, 16)
    config = EncoderConfig(vocab_size=np.int64(50), max_len=np.int32(8), d_model=16, n_layers=1,
                           n_heads=2, d_ff=32, dropout=np.float32(0.0))
    assert config == SMALL and type(config.vocab_size) is int
    masks = FrozenMasks(IDS, LABELS, 0.15, 0)
    with torch.no_grad():
        direct = float(torch.nn.functional.cross_entropy(
            model.mlm_logits(model(IDS)[LABELS != IGNORE]), LABELS[LABELS != IGNORE]))
    assert heldout_loss(model, masks) == pytest.approx(direct)
    assert model.pooled(IDS, LENGTHS, batch_size=np.int64(3)).shape == (4, 16)
