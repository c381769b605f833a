"""The downstream score: a linear probe on a pretrained encoder's pooled features.

The encoder is frozen; each document becomes the mean of its final hidden states
(:meth:`~effnotes.masking.model.MaskedLanguageModel.pooled`), and a multinomial logistic
regression (scikit-learn, on standardised features) learns the document's area from them.
The score is accuracy on the held-out documents. A linear probe measures what pretraining
put into the representation, without fine-tuning blurring arms together.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from effnotes.masking.data import LabelledDocuments
from effnotes.masking.model import MaskedLanguageModel


def probe_accuracy(model: MaskedLanguageModel, train: LabelledDocuments,
                   test: LabelledDocuments, *, C: float = 1.0, seed: int = 0) -> float:
    """Test accuracy of a logistic-regression probe trained on ``train``'s pooled features."""
    if train.classes != test.classes:
        raise ValueError("train and test documents have different classes")
    if len(set(train.labels.tolist())) < 2:
        raise ValueError("the probe's training documents hold fewer than two classes")
    features = model.pooled(train.ids, train.lengths).numpy()
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000, random_state=seed))
    probe.fit(features, train.labels)
    return float(probe.score(model.pooled(test.ids, test.lengths).numpy(), test.labels))


def majority_accuracy(train: LabelledDocuments, test: LabelledDocuments) -> float:
    """Accuracy of always answering the most common training class: the floor to beat."""
    majority = np.bincount(train.labels, minlength=len(train.classes)).argmax()
    return float(np.mean(test.labels == majority))
