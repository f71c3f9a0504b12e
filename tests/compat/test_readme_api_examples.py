"""The README's "REST API" examples run as written against a live server of the demo set: the curl lines, the
requests + pandas script and the AllenSDK lines (both in the AllenSDK venv, which has pandas). The R example is
not run (no R here)."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from pathlib import Path

import pytest
from pytest_django.live_server_helper import LiveServer

pytestmark = [pytest.mark.compat, pytest.mark.django_db]

REPO = Path(__file__).resolve().parents[2]
README_URL = "http://127.0.0.1:8000"


def readme_blocks(language: str) -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## REST API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


@pytest.fixture
def server_url(db):
    server = LiveServer("127.0.0.1")
    try:
        yield server.url
    finally:
        server.stop()


def test_curl_examples(server_url):
    (block,) = readme_blocks("bash")
    lines = [line for line in block.splitlines() if line.startswith("curl ")]
    outputs = [
        subprocess.run(line.replace(README_URL, server_url), shell=True, capture_output=True, text=True, timeout=60)
        for line in lines
    ]
    assert [done.returncode for done in outputs] == [0, 0]
    rows = list(csv.DictReader(io.StringIO(outputs[0].stdout)))
    assert len(rows) == 5 and set(rows[0]) == {"specimen__id", "line_name", "ef__tau"}
    features = json.loads(outputs[1].stdout)["results"]
    assert features == [
        {
            "vrest": pytest.approx(-66.2410736083984),
            "tau": pytest.approx(23.5896544303652),
            "ri": pytest.approx(358.35337638855),
        }
    ]


def run_python(sdk_python: Path, code: str, cwd: Path) -> str:
    done = subprocess.run([str(sdk_python), "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_python_requests_pandas_example(server_url, sdk_python, tmp_path):
    block = next(b for b in readme_blocks("python") if "import requests" in b)
    count, median_tau, reconstructions = run_python(sdk_python, block.replace(README_URL, server_url), tmp_path).split()
    assert (int(count), int(reconstructions)) == (413, 667)
    assert 5 < float(median_tau) < 50


def test_allensdk_example(server_url, sdk_python, tmp_path):
    block = next(b for b in readme_blocks("python") if "CellTypesCache" in b)
    code = block.replace(README_URL, server_url) + "\nprint(len(human), len(features))\n"
    human, features = run_python(sdk_python, code, tmp_path).split()
    assert int(human) == 413 and int(features) > 2000
