import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Keep the chapters' math libraries to the CI machine's size and quiet tqdm in test logs.
os.environ.setdefault("TQDM_MININTERVAL", "5")


@pytest.fixture
def repo_root() -> Path:
    return ROOT
