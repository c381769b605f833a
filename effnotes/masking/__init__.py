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

from effnotes._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "analysis": ["arm_summary", "mean_interval", "schedule_speedup", "steps_to_reach", "verdict"],
    "collator": ["IGNORE", "FrozenMasks", "MaskingCollator", "SpecialTokens",
        "frozen_eval_masks", "mask_tokens"],
    "corpus": ["CORPUS_ENV", "TokenizedCorpus", "corpus_for", "load_corpus", "prepare_corpus",
        "save_corpus", "train_tokenizer"],
    "data": ["area_task", "pack_chunks", "split_documents"],
    "model": ["EncoderConfig", "MaskedLanguageModel"],
    "pretrain": ["PretrainConfig", "PretrainResult", "heldout_loss", "pretrain"],
    "probe": ["majority_accuracy", "probe_accuracy"],
    "schedules": ["KINDS", "MaskingSchedule", "parse_schedule"],
})
