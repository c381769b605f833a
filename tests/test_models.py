import pytest
import torch
from torch import nn

from effnotes.models import DigitsCNN


def test_digits_cnn_shapes():
    model = DigitsCNN(channels=4, hidden=8)
    assert model(torch.zeros(3, 1, 8, 8)).shape == (3, 10)
    assert isinstance(model.classifier, nn.Linear) and model.classifier.out_features == 10
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 8, 8]
    assert DigitsCNN(4, batch_norm=False)(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_digits_cnn_errors():
    with pytest.raises(ValueError, match="channels"):
        DigitsCNN(channels=0)
    with pytest.raises(ValueError, match=r"\(n, channels, 8, 8\)"):
        DigitsCNN()(torch.zeros(2, 64))
