"""The real AllenSDK (own venv, scripts/make_sdk_venv.sh) reads our Allen-layout NWB files.

Each real MIES file of the demo data is converted with ``write_allen_nwb1``; a subprocess in the SDK venv
opens it with ``allensdk.core.nwb_data_set.NwbDataSet`` and dumps what it sees; that must equal what
``read_nwb`` gives for the original file. Set CELLTYPES_SKIP_COMPAT=1 to skip when the SDK venv is absent.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from celltypes.science.nwb import read_nwb, write_allen_nwb1

pytestmark = pytest.mark.compat

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "celltypes/atlas/demo_data/ipfx/tests/data"
ONTOLOGY = REPO / "celltypes/atlas/demo_data/ipfx/ipfx/defaults/stimulus_ontology.json"
REAL_FILES = [
    DATA / "Sst-IRES-CreAi14-395722.01.01.01.nwb",
    DATA / "valid_v2_MIES-NWBv2-0655f7e4.nwb",
]

SDK_SCRIPT = r"""
import json, sys
import numpy as np
from allensdk.core.nwb_data_set import NwbDataSet

nwb_path, out_dir = sys.argv[1], sys.argv[2]
ds = NwbDataSet(nwb_path)
report = {"sweep_numbers": sorted(ds.get_sweep_numbers()), "sweeps": {}}
for n in report["sweep_numbers"]:
    sweep = ds.get_sweep(n)
    np.save(f"{out_dir}/stimulus_{n}.npy", sweep["stimulus"])
    np.save(f"{out_dir}/response_{n}.npy", sweep["response"])
    meta = ds.get_sweep_metadata(n)
    report["sweeps"][str(n)] = {
        "sampling_rate": float(sweep["sampling_rate"]),
        "stimulus_unit": sweep["stimulus_unit"],
        "index_range": [int(i) for i in sweep["index_range"]],
        "len_response": len(sweep["response"]),
        "len_stimulus": len(sweep["stimulus"]),
        "first_response": sweep["response"][:5].tolist(),
        "first_stimulus": sweep["stimulus"][:5].tolist(),
        "stimulus_max": float(np.max(sweep["stimulus"])),
        "aibs_stimulus_name": meta["aibs_stimulus_name"].decode(),
        "aibs_stimulus_amplitude_pa": float(meta["aibs_stimulus_amplitude_pa"]),
        "spike_times": list(ds.get_spike_times(n)),
    }
print(json.dumps(report))
"""


@pytest.mark.parametrize("source", REAL_FILES, ids=lambda p: p.stem)
def test_allensdk_reads_converted_file(source: Path, tmp_path: Path, sdk_python: Path) -> None:
    python = sdk_python
    original = read_nwb(source, ONTOLOGY)
    converted = write_allen_nwb1(original, tmp_path / f"{source.stem}.nwb")
    script = tmp_path / "read_with_sdk.py"
    script.write_text(SDK_SCRIPT)
    done = subprocess.run(
        [str(python), str(script), str(converted), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, f"AllenSDK failed:\n{done.stderr[-3000:]}"
    report = json.loads(done.stdout.strip().splitlines()[-1])

    assert report["sweep_numbers"] == original.sweep_numbers
    for sweep in original.sweeps:
        seen = report["sweeps"][str(sweep.sweep_number)]
        assert seen["sampling_rate"] == sweep.sampling_rate
        assert seen["stimulus_unit"] == sweep.stimulus_units
        assert seen["len_response"] == seen["len_stimulus"] == sweep.num_samples
        assert seen["index_range"] == [0, sweep.num_samples - 1]
        assert seen["first_response"] == sweep.response[:5].tolist()
        assert seen["first_stimulus"] == sweep.stimulus[:5].tolist()
        assert seen["stimulus_max"] == float(sweep.stimulus.max())
        assert seen["aibs_stimulus_name"] == sweep.stimulus_name
        assert seen["aibs_stimulus_amplitude_pa"] == sweep.stimulus_absolute_amplitude
        assert seen["spike_times"] == []
        np.testing.assert_array_equal(np.load(tmp_path / f"response_{sweep.sweep_number}.npy"), sweep.response)
        np.testing.assert_array_equal(np.load(tmp_path / f"stimulus_{sweep.sweep_number}.npy"), sweep.stimulus)
