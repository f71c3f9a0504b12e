"""The AllenSDK and ipfx live in their own venvs (scripts/make_sdk_venv.sh, scripts/make_ipfx_venv.sh);
without them these tests fail, unless CELLTYPES_SKIP_COMPAT=1 says to skip them."""

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


@pytest.fixture(scope="session")
def ipfx_python() -> Path:
    venv = Path(os.environ.get("IPFX_VENV", REPO / ".ipfxvenv"))
    python = venv / "bin" / "python"
    if not python.exists():
        message = f"ipfx venv not found at {venv}: run scripts/make_ipfx_venv.sh (or CELLTYPES_SKIP_COMPAT=1)"
        if os.environ.get("CELLTYPES_SKIP_COMPAT") == "1":
            pytest.skip(message)
        pytest.fail(message)
    return python
