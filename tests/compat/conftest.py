"""The AllenSDK lives in its own venv (scripts/make_sdk_venv.sh); without it these tests fail, unless
CELLTYPES_SKIP_COMPAT=1 says to skip them."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sdk_python() -> Path:
    venv = Path(os.environ.get("SDK_VENV", REPO / ".sdkvenv"))
    python = venv / "bin" / "python"
    if not python.exists():
        message = f"AllenSDK venv not found at {venv}: run scripts/make_sdk_venv.sh (or CELLTYPES_SKIP_COMPAT=1)"
        if os.environ.get("CELLTYPES_SKIP_COMPAT") == "1":
            pytest.skip(message)
        pytest.fail(message)
    return python
