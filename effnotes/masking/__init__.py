"""Dynamic masking-rate schedules for masked-language-model pretraining (the chapter
"Dynamic masking-rate schedules", after Ankner, Saphra, Blalock, Frankle & Leavitt, 2024).

- :mod:`effnotes.masking.schedules` masking rate as a function of training progress;
- :mod:`effnotes.masking.collator` BERT's 80/10/10 masking at a scheduled rate, frozen eval masks;
- :mod:`effnotes.masking.corpus` a WordPiece tokeniser on Python's prose, and a safe cache file;
- :mod:`effnotes.masking.data` MLM chunks, held-out chunks and the library-area task;
- :mod:`effnotes.masking.model` a small BERT-style encoder with an MLM head;
- :mod:`effnotes.masking.pretrain` MLM training that records held-out loss at a fixed rate;
- :mod:`effnotes.masking.probe` the downstream linear probe;
- :mod:`effnotes.masking.analysis` the speedup with a paired bootstrap, and per-arm intervals;
- :mod:`effnotes.masking.experiment` the whole experiment for one profile, without Jupyter.

Nothing here imports ``tokenizers`` until a tokeniser is trained.
"""

from effnotes.masking.analysis import arm_summary, mean_interval, schedule_speedup, steps_to_reach, verdict
from effnotes.masking.collator import (IGNORE, FrozenMasks, MaskingCollator, SpecialTokens,
                                       frozen_eval_masks, mask_tokens)
from effnotes.masking.corpus import (CORPUS_ENV, TokenizedCorpus, corpus_for, load_corpus,
                                     prepare_corpus, save_corpus, train_tokenizer)
from effnotes.masking.data import area_task, pack_chunks, split_documents
from effnotes.masking.model import EncoderConfig, MaskedLanguageModel
from effnotes.masking.pretrain import PretrainConfig, PretrainResult, heldout_loss, pretrain
from effnotes.masking.probe import majority_accuracy, probe_accuracy
from effnotes.masking.schedules import KINDS, MaskingSchedule, parse_schedule

__all__ = [
    "arm_summary", "mean_interval", "schedule_speedup", "steps_to_reach", "verdict",
    "IGNORE", "FrozenMasks", "MaskingCollator", "SpecialTokens", "frozen_eval_masks",
    "mask_tokens", "CORPUS_ENV", "TokenizedCorpus", "corpus_for", "load_corpus",
    "prepare_corpus", "save_corpus", "train_tokenizer", "area_task", "pack_chunks",
    "split_documents", "EncoderConfig", "MaskedLanguageModel", "PretrainConfig",
    "PretrainResult", "heldout_loss", "pretrain", "majority_accuracy", "probe_accuracy",
    "KINDS", "MaskingSchedule", "parse_schedule",
]
