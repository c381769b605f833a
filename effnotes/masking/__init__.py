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
- :mod:`effnotes.masking.profiles` the chapter's smoke, ci and gpu profiles;
- :mod:`effnotes.masking.experiment` the experiment's stages (prepare, pretraining, analysis)
  and ``run(profile)``;
- :mod:`effnotes.masking.claims` the claims judged on a live or stored run, and its headline;
- :mod:`effnotes.masking.plots` the chapter's figures.

Nothing here imports ``tokenizers`` until a tokeniser is trained.
"""

from effnotes.chapters import Chapter, register
from effnotes.masking.profiles import PROFILES as _PROFILES

CHAPTER = register(Chapter(
    name='masking_schedules',
    title='Dynamic masking-rate schedules for MLM pretraining',
    notebook='masking_schedules.ipynb',
    paper='Ankner, Saphra, Blalock, Frankle & Leavitt, EACL 2024',
    package=__name__,
    profiles=_PROFILES,
))

from effnotes.masking.analysis import (arm_summary, mean_interval, schedule_speedup,  # noqa: F401
                                      steps_to_reach, verdict)
from effnotes.masking.collator import (IGNORE, FrozenMasks, MaskingCollator, SpecialTokens,  # noqa: F401
                                       corruption_shares, frozen_eval_masks, mask_tokens)
from effnotes.masking.model import EncoderConfig, MaskedLanguageModel  # noqa: F401
from effnotes.masking.pretrain import (PretrainConfig, PretrainResult, heldout_loss,  # noqa: F401
                                       pretrain)
from effnotes.masking.schedules import KINDS, MaskingSchedule, parse_schedule  # noqa: F401
from effnotes._lazy import lazy_exports

# corpus (and data and probe, which import it) load on first use, so that
# `python -m effnotes.masking.corpus` runs a module its package has not imported yet
__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "corpus": ["CORPUS_ENV", "TokenizedCorpus", "corpus_for", "load_corpus", "prepare_corpus",
               "save_corpus", "train_tokenizer"],
    "data": ["area_task", "pack_chunks", "split_documents"],
    "probe": ["majority_accuracy", "probe_accuracy"],
}, eager=["arm_summary", "mean_interval", "schedule_speedup", "steps_to_reach", "verdict",
          "IGNORE", "FrozenMasks", "MaskingCollator", "SpecialTokens", "corruption_shares",
          "frozen_eval_masks",
          "mask_tokens", "EncoderConfig", "MaskedLanguageModel", "PretrainConfig",
          "PretrainResult", "heldout_loss", "pretrain", "KINDS", "MaskingSchedule",
          "parse_schedule"])
