"""Models run on a recorded sweep of the cell and drawn over the recording, where the cell's NWB file is held
(a SYNTHETIC recording, see conftest.held_synthetic_nwb); where it is not, the page says so and offers the fetch
from the upstream."""

import re

import numpy as np
import pytest

from celltypes.atlas.selectors.models import held_model_get, held_recording_get
from celltypes.atlas.services import simulations
from celltypes.science.glif import simulate
from tests.support.synthetic_recording import SYNTHETIC_CELL, SYNTHETIC_LONG_SQUARE_SPIKES, SYNTHETIC_RATE

pytestmark = pytest.mark.django_db

GLIF1 = 480629475
PERISOMATIC = 472450023


def test_without_the_recording_the_page_says_so_and_offers_the_fetch(client, settings):
    settings.CELLTYPES_UPSTREAM = "http://127.0.0.1:9"  # configured (never reached: nothing is posted)
    assert not held_recording_get(specimen_id=SYNTHETIC_CELL).held
    html = client.get(f"/cell/{SYNTHETIC_CELL}/models/", {"model": GLIF1}).content.decode()
    assert "data-recording-missing" in html and "no recorded trace is drawn" in html
    assert re.search(r'<button type="submit">Fetch .*\.nwb from the upstream</button>', html)
    assert '<input type="hidden" name="tab" value="models">' in html
    assert 'value="recorded"' not in html  # no recorded-sweep stimulus to offer
    answer = client.get(f"/cell/{SYNTHETIC_CELL}/models/{GLIF1}/run.json", {"stim": "recorded", "sweep": "29"})
    assert answer.status_code == 400 and "no recording of this cell is held here" in answer.json()["error"]


def test_a_glif_model_runs_on_the_recorded_sweep_at_its_rate_and_returns_the_recording(client, held_synthetic_nwb):
    recording = held_recording_get(specimen_id=SYNTHETIC_CELL)
    assert recording.held and recording.numbers("Noise 2") == [38, 40, 42] and 29 in recording.sweeps
    run = client.get(f"/cell/{SYNTHETIC_CELL}/models/{GLIF1}/run.json", {"stim": "recorded", "sweep": "29"}).json()
    assert run["state"] == "done" and run["stimulus"] == "recorded sweep 29" and run["dt"] == 1 / SYNTHETIC_RATE
    assert run["recorded_spike_count"] == SYNTHETIC_LONG_SQUARE_SPIKES
    assert run["recorded_source"].startswith("sweep 29 of ")
    # this config has no resting potential (the model draws voltage above rest): so is the recording drawn
    assert run["v_label"] == "voltage above rest (mV)"
    assert "drawn above its resting potential (-68.0 mV, its mean before the stimulus)" in run["recorded_source"]
    assert max(run["recorded"]["v"]) == pytest.approx(98.0) and min(run["recorded"]["v"]) == pytest.approx(0.0)
    # the model ran on the file's own 70 pA square, sample for sample
    from celltypes.atlas.selectors.models import glif_config_read

    square = np.zeros(int(2.5 * SYNTHETIC_RATE))
    square[int(1.02 * SYNTHETIC_RATE) : int(2.02 * SYNTHETIC_RATE)] = 70e-12
    expected = simulate(glif_config_read(held_model_get(model_id=GLIF1)), square, 1 / SYNTHETIC_RATE)
    assert run["spike_count"] == expected.spike_count > 0
    assert max(run["i"]) == pytest.approx(70.0)


def test_a_model_with_a_resting_potential_is_drawn_over_the_recording_as_recorded(client, held_synthetic_nwb):
    run = client.get(f"/cell/{SYNTHETIC_CELL}/models/566291897/run.json", {"stim": "recorded", "sweep": "29"}).json()
    assert run["v_label"] == "membrane potential (mV)" and "resting potential" not in run["recorded_source"]
    assert max(run["recorded"]["v"]) == pytest.approx(30.0) and min(run["recorded"]["v"]) == pytest.approx(-68.0)


def test_the_page_defaults_to_the_recorded_sweep_when_the_recording_is_held(client, held_synthetic_nwb):
    html = client.get(f"/cell/{SYNTHETIC_CELL}/models/", {"model": GLIF1}).content.decode()
    assert "data-recording-held" in html
    assert f"/cell/{SYNTHETIC_CELL}/models/{GLIF1}/run.json?stim=recorded&amp;sweep=29" in html
    assert '<option value="38">38: Noise 2</option>' in html  # any held current-clamp sweep can be run


def test_a_recorded_sweep_the_recording_lacks_is_a_400_naming_those_it_has(client, held_synthetic_nwb):
    answer = client.get(f"/cell/{SYNTHETIC_CELL}/models/{GLIF1}/run.json", {"stim": "recorded", "sweep": "34"})
    assert answer.status_code == 400
    assert (
        "sweep 34 is not a current-clamp sweep of the held recording (those are: 29, 38, 40, 42)"
        in (answer.json()["error"])
    )


def test_a_biophysical_run_on_a_recorded_sweep_plays_its_samples_at_its_rate(held_synthetic_nwb):
    held = held_model_get(model_id=PERISOMATIC)
    recording = held_recording_get(specimen_id=SYNTHETIC_CELL)
    spec = simulations.stimulus_spec_from_query(
        {"stim": "recorded", "sweep": "29"}, [], max_seconds=simulations.BIOPHYSICAL_MAX_SECONDS, recording=recording
    )
    stimulus = simulations.biophysical_stimulus(held, spec)
    assert stimulus.sampling_rate == SYNTHETIC_RATE and len(stimulus.current) == int(2.5 * SYNTHETIC_RATE)
    assert stimulus.current.max() == pytest.approx(0.07)  # nA


def test_the_recording_fetched_from_the_models_tab_is_then_drawn_under_the_model(
    client, settings, stub_upstream, eager_celery, tmp_path
):
    from tests.integration.models.conftest import forget_synthetic_nwb
    from tests.support.synthetic_recording import SYNTHETIC_NWB_FILE_ID, write_synthetic_nwb

    write_synthetic_nwb(tmp_path / "synthetic.nwb")
    stub_upstream.files[SYNTHETIC_NWB_FILE_ID] = (tmp_path / "synthetic.nwb").read_bytes()
    settings.CELLTYPES_UPSTREAM = stub_upstream.url
    try:
        response = client.post(f"/cell/{SYNTHETIC_CELL}/ephys/fetch", {"tab": "models"})
        assert response.status_code == 302 and response["Location"] == f"/cell/{SYNTHETIC_CELL}/models/"
        assert stub_upstream.requests == [f"/api/v2/well_known_file_download/{SYNTHETIC_NWB_FILE_ID}"]
        html = client.get(f"/cell/{SYNTHETIC_CELL}/models/", {"model": GLIF1}).content.decode()
        assert "data-recording-held" in html and "stim=recorded&amp;sweep=29" in html
    finally:
        forget_synthetic_nwb()


def test_a_long_recorded_run_goes_to_the_worker_keyed_by_the_held_file(
    client, held_synthetic_nwb, eager_celery, settings
):
    import os

    from celltypes.atlas import filestore
    from tests.support.synthetic_recording import SYNTHETIC_NWB_FILE_ID

    url = f"/cell/{SYNTHETIC_CELL}/models/{GLIF1}/run.json"
    inline = client.get(url, {"stim": "recorded", "sweep": "29"}).json()
    settings.CELLTYPES_GLIF_INLINE_MAX_STEPS = 10_000  # the sweep's 125,000 steps go to the worker
    worker = client.get(url, {"stim": "recorded", "sweep": "29"}).json()
    assert worker["on_worker"] is True and worker["spike_times"] == inline["spike_times"]
    assert worker["recorded"] == inline["recorded"]
    held = held_model_get(model_id=GLIF1)
    recording = held_recording_get(specimen_id=SYNTHETIC_CELL)
    spec = simulations.stimulus_spec_from_query(
        {"stim": "recorded", "sweep": "29"}, [], max_seconds=simulations.GLIF_MAX_SECONDS, recording=recording
    )
    before = simulations.glif_result_path(held, spec, 1 / SYNTHETIC_RATE)
    assert before.is_file()
    path = filestore.well_known_file_path(SYNTHETIC_NWB_FILE_ID)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))  # the held file changed
    assert simulations.glif_result_path(held, spec, 1 / SYNTHETIC_RATE) != before
