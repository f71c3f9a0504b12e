"""Our biophysical runner against the AllenSDK's own model building, on the SDK's reference protocols.

The AllenSDK's tests (``allensdk/test/model/{peri,aa}_model``) run fit 468193142 on its cell with 0.35 nA
(perisomatic) or 0.33 nA (all-active) at the soma from 1 s to 2 s of 3 s, and expect the spike counts
Allen's web app shows: 27 and 18. Here the SDK, unmodified, builds each model from the demo files
(``Utils``/``AllActiveUtils`` as its runner configures them) and is driven the way its runner drives a
sweep (``setup_iclamp``: a vector played into an IClamp); our runner gets the same stimulus. The traces
must agree to the last bit and the spike times (the SDK's own threshold detection on its trace, the
runner's ``threshold_t``) must agree with ours.

Needs NEURON in both venvs (``pip install neuron==9.0.2`` into the SDK venv too); skipped, saying so,
otherwise. The SDK venv has no scikit-image: the runner's resampling helper (``block_reduce``, unused at
one rate) is stubbed for the import. Without scipy there, the SDK's 10 kHz dV/dt filter cannot run and its
detection is compared unfiltered (identical to ours); with scipy, filtered, to within one sample.
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from celltypes.science.biophys import ModelType, Stimulus, compiled_mechanisms, neuron_unavailable_reason, run_model

pytestmark = pytest.mark.compat

REPO = Path(__file__).resolve().parents[2]
SDK_MODELS = REPO / "celltypes" / "atlas" / "demo_data" / "AllenSDK" / "allensdk" / "test" / "model"
MODFILES = SDK_MODELS / "peri_model" / "modfiles"
SWC = SDK_MODELS / "aa_model" / "Scnn1a-Tg3-Cre_Ai14-177297.06.01.01_491120155_m.swc"
SAMPLE = 1 / 40000  # s

SDK_SCRIPT = """
import importlib.util, json, sys, types
import numpy as np
measure = types.ModuleType("skimage.measure")
measure.block_reduce = None  # only used to resample; the SDK venv has no scikit-image
sys.modules.setdefault("skimage", types.ModuleType("skimage"))
sys.modules.setdefault("skimage.measure", measure)
filtered = importlib.util.find_spec("scipy") is not None
if not filtered:  # ephys_features imports scipy at the top; unfiltered detection never calls it
    for name in ("scipy", "scipy.signal", "scipy.optimize"):
        sys.modules[name] = types.ModuleType(name)
    sys.modules["scipy.optimize"].curve_fit = None
    sys.modules["scipy"].signal = sys.modules["scipy.signal"]
    sys.modules["scipy"].optimize = sys.modules["scipy.optimize"]
from allensdk.ephys import ephys_features as ft
from allensdk.model.biophys_sim.config import Config
from allensdk.model.biophysical.utils import create_utils

rate = 40000
description = Config().load("manifest.json")
description.update_data({"axon_type": "truncated"}, "biophys")  # runner.load_description's default
description.fix_unary_sections(["passive", "axon_morph,", "conditions", "fitting"])
utils = create_utils(description)
h = utils.h
utils.generate_morphology(description.manifest.get_path("MORPHOLOGY"))
utils.load_cell_parameters()
current = np.load("stimulus.npy")
utils.stim = h.IClamp(h.soma[0](0.5))
utils.stim.amp, utils.stim.delay, utils.stim.dur = 0, 0, 1e12
played = h.Vector(current)
played.play(utils.stim._ref_amp, 1000.0 / rate)
h.dt = 1000.0 / rate
h.tstop = (len(current) - 1) * 1000.0 / rate
vec = utils.record_values()
h.finitialize()
h.run()
t = np.array(vec["t"]) / 1000.0
v = np.array(vec["v"]) - description.data["fitting"][0]["junction_potential"]

cutoff = 10.0 if filtered else None  # the extractor's steps (EphysSweepFeatureExtractor._process_individual_spikes)
dvdt = ft.calculate_dvdt(v, t, cutoff)
spikes = ft.detect_putative_spikes(v, t, None, None, cutoff, 20.0)
peaks = ft.find_peak_indexes(v, t, spikes, None)
spikes, peaks = ft.filter_putative_spikes(v, t, spikes, peaks, 2.0, -30.0, dvdt=dvdt, filter=cutoff)
upstrokes = ft.find_upstroke_indexes(v, t, spikes, peaks, cutoff, dvdt)
thresholds = ft.refine_threshold_indexes(v, t, upstrokes, 0.05, cutoff, dvdt)
thresholds, peaks, upstrokes, clipped = ft.check_thresholds_and_peaks(
    v, t, thresholds, peaks, upstrokes, None, 0.005, dvdt=dvdt, filter=cutoff)
np.savez("trace.npz", t=t, v=v)
print(json.dumps({"threshold_t": t[thresholds].tolist(), "filtered": filtered}))
"""


def _neuron_version(python: Path) -> str | None:
    done = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('neuron'))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None


@pytest.fixture(scope="module")
def mechanisms_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mechanisms")


@pytest.fixture(scope="module")
def sdk_with_neuron(sdk_python: Path) -> Path:
    if neuron_unavailable_reason():
        pytest.skip(f"our runner needs NEURON: {neuron_unavailable_reason()}")
    sdk_version = _neuron_version(sdk_python)
    if sdk_version is None:
        pytest.skip(f"NEURON is not installed in the AllenSDK venv: {sdk_python} -m pip install neuron==9.0.2")
    if sdk_version != importlib.metadata.version("neuron"):
        pytest.skip(f"the AllenSDK venv has NEURON {sdk_version}, ours {importlib.metadata.version('neuron')}")
    return sdk_python


@pytest.mark.parametrize(
    ("folder", "model_type", "amplitude", "web_app_spikes"),
    [
        ("peri_model", ModelType.PERISOMATIC, 0.35, 27),
        ("aa_model", ModelType.ALL_ACTIVE, 0.33, 18),
    ],
    ids=["perisomatic", "all-active"],
)
def test_our_run_matches_the_sdks_model(
    sdk_with_neuron, mechanisms_cache, tmp_path, folder, model_type, amplitude, web_app_spikes
):
    stimulus = Stimulus.square_step(amplitude=amplitude, delay=1000, duration=1000, tstop=3000)
    mechanisms = compiled_mechanisms(MODFILES, mechanisms_cache)
    model = tmp_path / "sdk"  # the layout of a model download, run from its folder as the SDK expects
    model.mkdir()
    for name in ("manifest.json", "468193142_fit.json"):
        shutil.copyfile(SDK_MODELS / folder / name, model / name)
    shutil.copyfile(SWC, model / SWC.name)
    (model / mechanisms.library.parent.name).symlink_to(mechanisms.library.parent)  # NEURON loads ./x86_64
    np.save(model / "stimulus.npy", stimulus.current)
    sdk = subprocess.Popen(
        [str(sdk_with_neuron), "-c", SDK_SCRIPT],
        cwd=model,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ours = run_model(
            fit=SDK_MODELS / folder / "468193142_fit.json",
            swc_path=SWC,
            model_type=model_type,
            stimulus=stimulus,
            modfiles_dir=MODFILES,
            mechanisms_cache_dir=mechanisms_cache,
        )
        out, err = sdk.communicate(timeout=600)
    finally:
        sdk.kill()
    assert sdk.returncode == 0, err[-4000:]
    reference = json.loads(out.strip().splitlines()[-1])
    with np.load(model / "trace.npz") as trace:
        np.testing.assert_array_equal(ours.t, trace["t"])
        np.testing.assert_array_equal(ours.v, trace["v"])

    sdk_spikes = np.array(reference["threshold_t"])
    assert len(ours.spike_times) == len(sdk_spikes) == web_app_spikes
    tolerance = 1.01 * SAMPLE if reference["filtered"] else 0.0
    assert np.abs(ours.spike_times - sdk_spikes).max() <= tolerance
