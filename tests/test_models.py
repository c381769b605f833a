import pytest
import torch
from torch import nn

from effnotes.models import BlurPool2d, DigitsCNN


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


def test_blurpool_blurs_then_subsamples():
    pool = BlurPool2d(2, stride=2)
    assert torch.allclose(pool(torch.ones(1, 2, 8, 8)), torch.ones(1, 2, 4, 4))  # constants pass
    assert pool(torch.zeros(3, 2, 7, 7)).shape == (3, 2, 4, 4)
    checker = (torch.arange(8)[:, None] + torch.arange(8)[None, :]) % 2
    image = checker.float().expand(1, 2, 8, 8)
    # plain subsampling of a checkerboard aliases it to a constant 0 (or 1); the blur keeps
    # its mean (interior pixels), which is what anti-aliasing is for
    assert image[..., ::2, ::2].eq(0).all()
    assert torch.allclose(pool(image)[..., 1:, 1:], torch.full((1, 2, 3, 3), 0.5))
    assert not any(p.requires_grad for p in pool.parameters())
    assert torch.allclose(BlurPool2d(1, filter_size=1)(image[:, :1]), image[:, :1, ::2, ::2])


def test_blurpool_errors():
    with pytest.raises(ValueError, match="odd"):
        BlurPool2d(2, filter_size=4)
    with pytest.raises(ValueError, match="channels and stride"):
        BlurPool2d(0)
    with pytest.raises(ValueError, match=r"\(n, 2, h, w\)"):
        BlurPool2d(2)(torch.zeros(1, 3, 8, 8))


def test_digits_cnn_with_blurpool():
    model = DigitsCNN(channels=4, hidden=8, blurpool=True)
    assert model(torch.zeros(3, 1, 8, 8)).shape == (3, 10)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 8, 8] and all(c.stride == (1, 1) for c in convs)
    assert sum(isinstance(m, BlurPool2d) for m in model.modules()) == 1
    assert sum(isinstance(m, BlurPool2d) for m in DigitsCNN(4).modules()) == 0
