import numpy as np
import pytest
import torch

from effnotes.runtime import Hardware, choose_device, describe_hardware, seed_everything


def test_same_seed_same_numbers():
    seed_everything(7)
    first = (np.random.rand(3), torch.rand(3))
    seed_everything(7)
    second = (np.random.rand(3), torch.rand(3))
    assert np.array_equal(first[0], second[0])
    assert torch.equal(first[1], second[1])


def test_seed_returns_seeded_generator():
    a = torch.rand(2, generator=seed_everything(3))
    b = torch.rand(2, generator=seed_everything(3))
    assert torch.equal(a, b)


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "3", True])
def test_bad_seed_is_rejected(bad):
    with pytest.raises((TypeError, ValueError)):
        seed_everything(bad)


def test_choose_device():
    assert choose_device("cpu").type == "cpu"
    assert choose_device("auto").type in ("cpu", "cuda")
    with pytest.raises(ValueError, match="device must be one of"):
        choose_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_gpu_raises_instead_of_falling_back():
    with pytest.raises(RuntimeError, match="no CUDA device"):
        choose_device("cuda")


def test_describe_hardware_names_the_cpu():
    hardware = describe_hardware()
    assert isinstance(hardware, Hardware)
    assert hardware.logical_cores >= 1 and hardware.torch_threads >= 1
    assert hardware.accelerator == "none"
    assert hardware.cpu and hardware.cpu in str(hardware)
    assert set(hardware.as_dict()) == {"cpu", "logical_cores", "torch_threads", "accelerator", "platform"}


def test_torch_threads_restores_the_setting():
    from effnotes.runtime import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="positive integer"):
        with torch_threads(0):
            pass
