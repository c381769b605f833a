"""The tokenised corpus: a WordPiece tokeniser trained on Python's own prose, and a cache.

:func:`prepare_corpus` trains a tokeniser with Hugging Face ``tokenizers`` on a
:class:`~effnotes.data.text.TextCorpus` (by default :func:`~effnotes.data.text.python_prose`)
and encodes every document. The result, a :class:`TokenizedCorpus`, holds only arrays and
strings, so it is saved as a NumPy ``.npz`` (read back with ``allow_pickle=False``, so the
file cannot run code) beside a ``.sha256`` checksum that :func:`load_corpus` verifies.

A machine without ``tokenizers`` (a bare GPU box) runs the chapter from such a file: point
``$EFFNOTES_MASKING_CORPUS`` at it. Build one with::

    python -m effnotes.masking.corpus --vocab-size 4096 --out cache/masking_corpus.npz
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from effnotes.data.text import TextCorpus
from effnotes.masking.collator import SpecialTokens

#: Environment variable naming a prepared corpus file to use instead of training a tokeniser.
CORPUS_ENV = "EFFNOTES_MASKING_CORPUS"
#: The tokeniser's special tokens, given ids 0 to 4 in this order.
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_FORMAT = 1


@dataclass(frozen=True)
class TokenizedCorpus:
    """Every document's token ids, concatenated.

    ``ids``: ``(n_tokens,)`` int32; document ``i`` is ``ids[offsets[i]:offsets[i+1]]``
    (``offsets`` has shape ``(n_documents + 1,)``); ``sources`` names where each document came
    from (``"email.message.Message"``); ``tokenizer_json`` is the trained tokeniser, so a
    reader with ``tokenizers`` can decode ids.
    """

    ids: np.ndarray
    offsets: np.ndarray
    sources: tuple[str, ...]
    vocab_size: int
    tokenizer_json: str = ""

    def __post_init__(self) -> None:
        ids, offsets = np.asarray(self.ids), np.asarray(self.offsets)
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"ids must be a 1-d integer array, got shape {ids.shape} dtype {ids.dtype}")
        if offsets.ndim != 1 or offsets.size < 2:
            raise ValueError("the corpus is empty: offsets must delimit at least one document")
        if offsets[0] != 0 or offsets[-1] != ids.size or np.any(np.diff(offsets) < 0):
            raise ValueError("offsets must rise from 0 to len(ids)")
        if len(self.sources) != offsets.size - 1:
            raise ValueError(f"{offsets.size - 1} documents but {len(self.sources)} sources")
        if ids.size == 0:
            raise ValueError("the corpus is empty: it has no tokens")
        if int(ids.min()) < 0 or int(ids.max()) >= self.vocab_size:
            raise ValueError(f"token ids must lie in [0, {self.vocab_size})")
        object.__setattr__(self, "ids", ids.astype(np.int32))
        object.__setattr__(self, "offsets", offsets.astype(np.int64))
        object.__setattr__(self, "sources", tuple(str(s) for s in self.sources))

    @property
    def special(self) -> SpecialTokens:
        return SpecialTokens(*range(len(SPECIAL_TOKENS)), vocab_size=self.vocab_size)

    def __len__(self) -> int:
        return len(self.sources)

    @property
    def n_tokens(self) -> int:
        return int(self.ids.size)

    def decode_tokens(self, ids) -> list[str]:
        """The token string of each id in ``ids`` (any 1-d sequence of ints), read from the
        stored tokeniser. Needs the ``tokenizers`` package and a ``tokenizer_json``."""
        if not self.tokenizer_json:
            raise ValueError("this corpus stores no tokeniser, so its ids cannot be decoded")
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_str(self.tokenizer_json)
        return [tokenizer.id_to_token(int(i)) for i in ids]

    def document(self, index: int) -> np.ndarray:
        return self.ids[self.offsets[index]:self.offsets[index + 1]]


def train_tokenizer(corpus: TextCorpus, vocab_size: int):
    """A lower-casing WordPiece tokeniser (a ``tokenizers.Tokenizer``) trained on ``corpus``,
    with :data:`SPECIAL_TOKENS` as ids 0-4. Needs the ``tokenizers`` package.

    The trainer picks the same vocabulary every time but numbers it differently from one
    process to the next (ties are broken in hash order). WordPiece splits words by the
    longest match in the vocabulary, so the ids are renumbered in a fixed order (special
    tokens, then the rest sorted) and the same corpus always gives the same token ids."""
    if not isinstance(corpus, TextCorpus):
        raise TypeError(f"corpus must be a TextCorpus, got {type(corpus).__name__}")
    if vocab_size <= len(SPECIAL_TOKENS):
        raise ValueError(f"vocab_size must exceed {len(SPECIAL_TOKENS)}, got {vocab_size}")
    try:
        from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    except ImportError:
        raise ImportError(
            "training the tokeniser needs the 'tokenizers' package; without it, point "
            f"${CORPUS_ENV} at a corpus file made by `python -m effnotes.masking.corpus`") from None
    def configured(model):
        tokenizer = Tokenizer(model)
        tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tokenizer.decoder = decoders.WordPiece()
        return tokenizer

    trained = configured(models.WordPiece(unk_token="[UNK]"))
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                        show_progress=False)
    trained.train_from_iterator((d.text for d in corpus.documents), trainer)
    ordinary = sorted(set(trained.get_vocab()) - set(SPECIAL_TOKENS))
    vocab = {token: i for i, token in enumerate([*SPECIAL_TOKENS, *ordinary])}
    tokenizer = configured(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    for i, token in enumerate(SPECIAL_TOKENS):
        assert tokenizer.token_to_id(token) == i, token
    return tokenizer


def prepare_corpus(corpus: TextCorpus | None = None, *, vocab_size: int = 2048) -> TokenizedCorpus:
    """Train a tokeniser on ``corpus`` (default: Python's prose) and encode every document."""
    if corpus is None:
        from effnotes.data.text import python_prose

        corpus = python_prose()
    tokenizer = train_tokenizer(corpus, vocab_size)
    encoded = tokenizer.encode_batch([d.text for d in corpus.documents], add_special_tokens=False)
    lengths = np.array([len(e.ids) for e in encoded], dtype=np.int64)
    ids = np.concatenate([np.asarray(e.ids, dtype=np.int32) for e in encoded])
    return TokenizedCorpus(ids, np.concatenate([[0], np.cumsum(lengths)]),
                           tuple(d.source for d in corpus.documents),
                           tokenizer.get_vocab_size(), tokenizer.to_str())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_corpus(corpus: TokenizedCorpus, path: str | Path) -> Path:
    """Write ``corpus`` to ``path`` (``.npz``) and its checksum to ``path + '.sha256'``."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"a corpus file must end in .npz, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps({"format": _FORMAT, "vocab_size": corpus.vocab_size})
    np.savez(path, ids=corpus.ids, offsets=corpus.offsets, sources=np.array(corpus.sources),
             tokenizer_json=np.array(corpus.tokenizer_json), meta=np.array(meta))
    Path(f"{path}.sha256").write_text(_sha256(path) + "\n", encoding="utf-8")
    return path


def load_corpus(path: str | Path) -> TokenizedCorpus:
    """Read a file written by :func:`save_corpus`, after checking its SHA-256 checksum."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no corpus file at {path}; make one with "
                                "`python -m effnotes.masking.corpus --out PATH`")
    checksum = Path(f"{path}.sha256")
    if not checksum.is_file():
        raise FileNotFoundError(f"{path} has no checksum file {checksum}; it cannot be trusted")
    if checksum.read_text(encoding="utf-8").strip() != _sha256(path):
        raise ValueError(f"{path} does not match its checksum: the file is damaged or was changed")
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if meta.get("format") != _FORMAT:
            raise ValueError(f"{path} has corpus format {meta.get('format')}, expected {_FORMAT}")
        return TokenizedCorpus(data["ids"], data["offsets"], tuple(data["sources"].tolist()),
                               int(meta["vocab_size"]), str(data["tokenizer_json"]))


def corpus_for(vocab_size: int, path: str | Path | None = None) -> TokenizedCorpus:
    """The corpus a run uses: the file at ``path`` or ``$EFFNOTES_MASKING_CORPUS`` if either
    is given (its vocabulary size must be ``vocab_size``), else a freshly prepared one."""
    path = path or os.environ.get(CORPUS_ENV) or None
    if path is None:
        return prepare_corpus(vocab_size=vocab_size)
    corpus = load_corpus(path)
    if corpus.vocab_size != vocab_size:
        raise ValueError(f"{path} was made with vocab_size {corpus.vocab_size}, but the run "
                         f"asks for {vocab_size}; rebuild it with --vocab-size {vocab_size}")
    return corpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m effnotes.masking.corpus",
                                     description="Tokenise Python's prose (or a text file or "
                                                 "folder given with --input) and save it as .npz.")
    parser.add_argument("--vocab-size", type=int, default=2048)
    parser.add_argument("--input", default=None,
                        help="a UTF-8 text file (one document per paragraph) or a folder of .txt "
                             "files (one document each); default: Python's prose")
    parser.add_argument("--out", required=True, help="the .npz file to write")
    args = parser.parse_args(argv)
    text = None
    if args.input is not None:
        from effnotes.data.text import load_text_data

        try:
            text = load_text_data(args.input)
        except (OSError, ValueError) as error:
            parser.error(f"--input: {error}")
    corpus = prepare_corpus(text, vocab_size=args.vocab_size)
    path = save_corpus(corpus, args.out)
    print(f"wrote {path}: {len(corpus)} documents, {corpus.n_tokens} tokens, "
          f"vocabulary {corpus.vocab_size}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
