"""From a tokenised corpus to MLM training chunks, held-out chunks and a labelled task.

Documents are split once, by a fixed seed, into a pretraining part and a held-out part. The
MLM trains on the pretraining part packed into chunks ``[CLS] t1 ... t_{L-1}`` (documents
joined by ``[SEP]``); its held-out loss is measured on chunks of the held-out part.

The downstream task asks which area of the standard library a docstring comes from (the
first part of its dotted source, ``email`` for ``email.message.Message``), among the
``n_classes`` areas with the most documents. A probe is trained on labelled documents of
the pretraining part and scored on those of the held-out part, so its test documents were
never seen in pretraining either.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from effnotes.masking.corpus import TokenizedCorpus


@dataclass(frozen=True)
class CorpusSplit:
    """Document indices of the pretraining (``train``) and held-out parts."""

    train: np.ndarray
    heldout: np.ndarray


def split_documents(corpus: TokenizedCorpus, *, heldout_fraction: float = 0.1,
                    seed: int = 0) -> CorpusSplit:
    """A random split of the documents, the same for every run with the same ``seed``."""
    if not 0 < heldout_fraction < 1:
        raise ValueError(f"heldout_fraction must lie in (0, 1), got {heldout_fraction}")
    order = np.random.default_rng(seed).permutation(len(corpus))
    n_heldout = max(1, int(round(heldout_fraction * len(corpus))))
    if n_heldout >= len(corpus):
        raise ValueError(f"a corpus of {len(corpus)} documents is too small to split")
    return CorpusSplit(np.sort(order[n_heldout:]), np.sort(order[:n_heldout]))


def pack_chunks(corpus: TokenizedCorpus, documents: np.ndarray, seq_len: int) -> torch.Tensor:
    """The given documents joined by ``[SEP]`` and cut into ``(n_chunks, seq_len)`` rows,
    each starting with ``[CLS]``; the incomplete last chunk is dropped."""
    if seq_len < 4:
        raise ValueError(f"seq_len must be at least 4, got {seq_len}")
    special = corpus.special
    pieces = []
    for index in documents:
        pieces.append(corpus.document(int(index)))
        pieces.append(np.array([special.sep], dtype=np.int32))
    stream = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
    body = seq_len - 1
    n_chunks = stream.size // body
    if n_chunks == 0:
        raise ValueError(f"{stream.size} tokens are too few for one chunk of length {seq_len}")
    rows = stream[: n_chunks * body].reshape(n_chunks, body)
    cls = np.full((n_chunks, 1), special.cls, dtype=np.int32)
    return torch.from_numpy(np.concatenate([cls, rows], axis=1).astype(np.int64))


def area_of(source: str) -> str:
    """The library area of a document's source: ``"email"`` for ``"email.message.Message"``,
    ``"topics"`` for a help topic."""
    return source.split(":", 1)[0].split(".", 1)[0]


@dataclass(frozen=True)
class LabelledDocuments:
    """Documents as padded rows ``ids`` ``(n, seq_len)`` with ``lengths`` ``(n,)`` and integer
    ``labels`` ``(n,)`` indexing ``classes``."""

    ids: torch.Tensor
    lengths: torch.Tensor
    labels: np.ndarray
    classes: tuple[str, ...]


def encode_documents(corpus: TokenizedCorpus, documents: np.ndarray, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each document as ``[CLS] tokens [SEP]`` truncated to ``seq_len`` and padded; returns
    ``ids`` ``(n, seq_len)`` and ``lengths`` ``(n,)``."""
    special = corpus.special
    ids = np.full((len(documents), seq_len), special.pad, dtype=np.int64)
    lengths = np.zeros(len(documents), dtype=np.int64)
    for row, index in enumerate(documents):
        tokens = corpus.document(int(index))[: seq_len - 2]
        ids[row, 0], ids[row, 1:1 + tokens.size], ids[row, 1 + tokens.size] = (
            special.cls, tokens, special.sep)
        lengths[row] = tokens.size + 2
    return torch.from_numpy(ids), torch.from_numpy(lengths)


def area_task(corpus: TokenizedCorpus, split: CorpusSplit, *, n_classes: int, seq_len: int,
              exclude: tuple[str, ...] = ("topics",)) -> tuple[LabelledDocuments, LabelledDocuments]:
    """The downstream task's (train, test) documents: the ``n_classes`` areas with the most
    documents (ties broken by name), train from the pretraining part, test from held-out."""
    if n_classes < 2:
        raise ValueError(f"a classification task needs at least 2 classes, got {n_classes}")
    areas = [area_of(s) for s in corpus.sources]
    counts = Counter(a for a in areas if a not in exclude)
    if len(counts) < n_classes:
        raise ValueError(f"the corpus has {len(counts)} areas, fewer than n_classes={n_classes}")
    classes = tuple(sorted(sorted(counts), key=lambda a: -counts[a])[:n_classes])
    index = {a: i for i, a in enumerate(classes)}

    def part(documents: np.ndarray) -> LabelledDocuments:
        chosen = np.array([d for d in documents if areas[d] in index], dtype=np.int64)
        ids, lengths = encode_documents(corpus, chosen, seq_len)
        labels = np.array([index[areas[d]] for d in chosen], dtype=np.int64)
        return LabelledDocuments(ids, lengths, labels, classes)

    train, test = part(split.train), part(split.heldout)
    missing = sorted(set(range(n_classes)) - set(test.labels.tolist()))
    if missing:
        raise ValueError(f"the held-out part has no documents of {[classes[i] for i in missing]}")
    return train, test


def label_task(corpus: TokenizedCorpus, split: CorpusSplit, labels: tuple[str, ...], *,
               seq_len: int) -> tuple[LabelledDocuments, LabelledDocuments]:
    """The downstream task from a reader's labels (one string per document of ``corpus``, as
    :func:`effnotes.data.text.read_labels` gives them): classes sorted by name, train from the
    pretraining part, test from held-out. Needs two classes, each present in the held-out part."""
    if len(labels) != len(corpus):
        raise ValueError(f"labels has {len(labels)} entries for {len(corpus)} documents")
    classes = tuple(sorted(set(labels)))
    if len(classes) < 2:
        raise ValueError(f"the labels name {len(classes)} class ({classes}); a probe needs two")
    index = {c: i for i, c in enumerate(classes)}

    def part(documents: np.ndarray) -> LabelledDocuments:
        chosen = np.asarray(documents, dtype=np.int64)
        ids, lengths = encode_documents(corpus, chosen, seq_len)
        return LabelledDocuments(ids, lengths, np.array([index[labels[d]] for d in chosen],
                                                        dtype=np.int64), classes)

    train, test = part(split.train), part(split.heldout)
    missing = sorted(set(range(len(classes))) - set(test.labels.tolist()))
    if missing:
        raise ValueError(f"the held-out part has no documents labelled {[classes[i] for i in missing]}")
    return train, test
