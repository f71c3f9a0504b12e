"""`BiophysicalApi.cache_data`, unmodified, against a live server that syncs from an upstream.

The upstream is the tests' stub, answering the SDK's query for model 472451419 with Allen's own recorded response
(AllenSDK test data; see `allen_model_upstream` in tests/conftest.py for which file bodies are real). The server is
told only the model's records (`sync_upstream --no-files`); every file the SDK then asks for is fetched through from
the upstream once, stored, and served.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from tests.support.demo_server import REPO, demo_env, demo_server

pytestmark = pytest.mark.compat

SDK_SCRIPT = """
import hashlib, json, os, sys
from allensdk.api.queries.biophysical_api import BiophysicalApi
from allensdk.core.nwb_data_set import NwbDataSet
bio = BiophysicalApi(base_uri=sys.argv[1])
bio.cache_data(472451419, working_directory="neuronal_model")
files = {}
for root, _, names in os.walk("neuronal_model"):
    for name in names:
        path = os.path.join(root, name)
        files[os.path.relpath(path, "neuronal_model")] = hashlib.sha256(open(path, "rb").read()).hexdigest()
manifest = json.load(open("neuronal_model/manifest.json"))
data_set = NwbDataSet("neuronal_model/386049444.nwb")
numbers = data_set.get_sweep_numbers()
sweep = data_set.get_sweep(numbers[0])
print(json.dumps({"files": files, "manifest": manifest, "nwb_sweeps": numbers,
                  "nwb_samples": len(sweep["response"]), "model_type": bio.model_type}))
"""


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def test_cache_data_fetches_through_from_the_upstream(allen_model_upstream, sdk_python, tmp_path):
    upstream = {"CELLTYPES_UPSTREAM": allen_model_upstream.url}
    root = tmp_path / "live"
    with demo_server(root, server="gunicorn", **upstream) as live:
        synced = subprocess.run(
            [sys.executable, str(REPO / "manage.py"), "sync_upstream", "--neuronal-model", "472451419", "--no-files"],
            cwd=REPO,
            env=demo_env(root, **upstream),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert synced.returncode == 0, synced.stderr
        assert "ephys result" in synced.stdout and "-> 386049444" in synced.stdout
        done = subprocess.run(
            [str(sdk_python), "-c", SDK_SCRIPT, live.url], cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-4000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        (tmp_path / "again").mkdir()
        fetched = [path for path in allen_model_upstream.requests if "well_known_file_download" in path]
        again = subprocess.run(
            [str(sdk_python), "-c", SDK_SCRIPT, live.url],
            cwd=tmp_path / "again",
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert again.returncode == 0, again.stderr[-4000:]

    stub = allen_model_upstream.files
    files = out["files"]
    assert files["modfiles/SK.mod"] == _sha(stub[395337293])
    assert files["386049446_fit.json"] == _sha(stub[497235805])
    assert files["Nr5a1-Cre_Ai14-177334.05.01.01_491459171_m.swc"] == _sha(stub[491459173])
    assert files["Nr5a1-Cre_Ai14-177334.05.01.01_491459171_marker_m.swc"] == _sha(stub[496607103])
    assert "386049444.nwb" in files  # served in Allen's released NWB 1 layout (converted from the raw MIES file)
    assert out["nwb_sweeps"] and out["nwb_samples"] > 1000
    assert out["model_type"] == "Biophysical - perisomatic"
    assert out["manifest"]["biophys"] == [
        {"model_file": ["manifest.json", "386049446_fit.json"], "model_type": "Biophysical - perisomatic"}
    ]
    assert out["manifest"]["runs"] == [{"sweeps": [42]}]
    specs = {entry["key"]: entry["spec"] for entry in out["manifest"]["manifest"]}
    assert specs["stimulus_path"] == "386049444.nwb" and specs["MODFILE_DIR"] == "modfiles"
    # The current reconstruction comes first (superseded ones are listed after it), so the SDK picks its SWC.
    assert specs["MORPHOLOGY"] == "Nr5a1-Cre_Ai14-177334.05.01.01_491459171_m.swc"
    assert specs["MARKER"] == "Nr5a1-Cre_Ai14-177334.05.01.01_491459171_marker_m.swc"
    # Each file came from the upstream once; the second cache_data was served from the local store.
    assert sorted(fetched) == sorted(set(fetched))
    assert {int(path.rsplit("/", 1)[1]) for path in fetched} == {395337293, 497235805, 491198851, 491459173, 496607103}
    assert len([p for p in allen_model_upstream.requests if "well_known_file_download" in p]) == len(fetched)
