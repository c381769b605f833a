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
