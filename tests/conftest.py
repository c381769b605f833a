import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Quiet tqdm in test logs: redraw progress bars at most every five seconds.
os.environ.setdefault("TQDM_MININTERVAL", "5")


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def stored_profile(tmp_path_factory):
    """Run a chapter's experiment command with ``--store`` into a scratch results folder and
    return the stored JSON record: ``stored_profile(experiment_module, chapter, profile)``."""
    import json

    def run(module, chapter: str, profile: str = "smoke") -> dict:
        root = tmp_path_factory.mktemp("results")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("EFFNOTES_RESULTS", str(root))
            assert module.main(["--profile", profile, "--store"]) == 0
        return json.loads((root / chapter / f"{profile}.json").read_text())

    return run


def cpu_scaled_mm_works() -> bool:
    """Whether this torch runs ``torch._scaled_mm`` (an FP8 GEMM) on the CPU."""
    import torch

    try:
        a = torch.ones(16, 16).to(torch.float8_e4m3fn)
        torch._scaled_mm(a, a.t(), scale_a=torch.tensor(1.0), scale_b=torch.tensor(1.0),
                         out_dtype=torch.bfloat16)
        return True
    except (RuntimeError, AttributeError, TypeError, NotImplementedError):
        return False
