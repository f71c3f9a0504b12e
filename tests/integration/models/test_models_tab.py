"""The models tab: the selectors of a cell's models, the parameters shown, GLIF runs by URL, bounds, and the
search facets' model counts against the cell table."""

import json
import re

import pytest

from celltypes.atlas.models import ApiCellTypesSpecimenDetail
from celltypes.atlas.selectors.models import (
    cell_models_get,
    cell_protocol_get,
    glif_config_read,
    held_model_get,
    recorded_fi_curve,
)
from celltypes.atlas.services import simulations
from celltypes.web import presenters

pytestmark = pytest.mark.django_db

CELL = 464198958  # Sst-IRES-Cre: two GLIF1, two GLIF3, one perisomatic and one all-active model held
GLIF3 = 566291897
PERISOMATIC = 472450023
PARTLY_HELD_CELL = 485574832  # Allen lists 5 GLIF, 1 perisomatic, 1 all-active; we hold GLIF4 and all-active


def _row(specimen_id):
    return ApiCellTypesSpecimenDetail.objects.get(specimen_id=specimen_id)


def test_cell_models_have_kinds_levels_and_held_parameter_files():
    models = cell_models_get(specimen_id=CELL, row=_row(CELL))
    assert sorted((m.kind, m.glif_level) for m in models.models) == sorted(
        [("glif", 1), ("glif", 1), ("glif", 3), ("glif", 3), ("all-active", None), ("perisomatic", None)]
    )
    assert all(m.parameters_path and m.parameters_path.is_file() for m in models.models)
    assert (models.glif, models.perisomatic, models.all_active) == (2, 1, 1)
    assert models.missing == []


def test_models_allen_lists_but_we_do_not_hold_are_counted_per_kind():
    models = cell_models_get(specimen_id=PARTLY_HELD_CELL, row=_row(PARTLY_HELD_CELL))
    assert [(gap.kind, gap.listed, gap.held, gap.missing) for gap in models.missing] == [
        ("glif", 5, 1, 4),
        ("perisomatic", 1, 0, 1),
    ]


def test_recorded_fi_curve_comes_from_the_long_square_spike_counts():
    curve = dict(recorded_fi_curve(cell_protocol_get(specimen_id=CELL)))
    assert curve[-110.0] == 0.0
    assert curve[170.0] == pytest.approx(50.0, rel=1e-4)  # sweep 34: 50 spikes in 1 s
    assert curve[30.0] == pytest.approx(7.0, rel=1e-4)  # sweeps 27, 35, 44: 5, 6 and 10 spikes


def test_glif_parameters_are_shown_in_readable_units_with_coefficients_applied():
    rows = {
        row.label: (row.value, row.unit)
        for row in presenters.glif_parameter_rows(glif_config_read(held_model_get(model_id=GLIF3)))
    }
    assert rows["Resting potential"] == ("-68.37", "mV")
    assert rows["Input resistance"] == ("569.9", "MΩ")
    assert rows["Capacitance"] == ("49.47", "pF")
    assert rows["Membrane time constant"] == ("28.19", "ms")
    assert rows["After-spike current 2: amplitude"] == ("258.1", "pA")


def test_biophysical_parameters_show_conditions_and_every_gene():
    held = held_model_get(model_id=PERISOMATIC)
    from celltypes.atlas.selectors.models import biophysical_fit_read

    general, genome = presenters.biophysical_parameter_rows(biophysical_fit_read(held))
    values = {row.label: (row.value, row.unit) for row in general}
    assert values["Temperature"] == ("34", "°C")
    assert values["Junction potential"] == ("-14", "mV")
    assert values["Fitted on sweeps"] == ("29", "")
    assert len(genome) == len(biophysical_fit_read(held)["genome"])
    assert any(row.name == "gbar_NaTs" and row.unit == "S/cm²" for row in genome)


def test_models_tab_shows_the_chosen_model_with_downloads_parameters_and_fi_curves(client):
    html = client.get(f"/cell/{CELL}/models/?model={GLIF3}").content.decode()
    assert f'data-selected-model="{GLIF3}"' in html
    assert html.count("data-model=") >= 12  # the selector and the held-models table, 6 models each
    assert f'href="/neuronal_model/download/{GLIF3}"' in html
    assert 'href="/api/v2/well_known_file_download/566310308"' in html  # the neuron_config
    assert "569.9" in html and "MΩ" in html
    fi = json.loads(re.search(r'id="model-fi-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    model = dict(fi["model"])
    assert model[170.0] == 84.0 and model[50.0] == 14.0 and model[20.0] == 0.0
    # the default stimulus is the cell's spiking Long Square of median amplitude: sweep 29 (70 pA, of 11)
    assert f"/cell/{CELL}/models/{GLIF3}/run.json?stim=sweep&amp;sweep=29" in html


def test_glif_run_by_url_returns_the_trace_and_spikes(client):
    base = f"/cell/{CELL}/models/{GLIF3}/run.json"
    step = client.get(base, {"stim": "step", "amp": "100", "start": "0.1", "dur": "1", "total": "1.3"}).json()
    assert step["state"] == "done" and step["spike_count"] == 45
    assert len(step["t"]) == len(step["v"]) == len(step["i"]) <= simulations.PLOT_POINTS + step["spike_count"] + 10
    assert max(step["i"]) == 100.0
    assert all(0.1 <= t <= 1.1 for t in step["spike_times"])
    assert "model=566291897" in step["page_url"] and "amp=100" in step["page_url"]
    sweep = client.get(base, {"stim": "sweep", "sweep": "34"}).json()  # 170 pA for 1 s
    assert sweep["spike_count"] == 84 and sweep["stimulus"] == "sweep 34"


def test_seeded_noise_runs_are_the_same_run_and_another_seed_is_not(client):
    base = f"/cell/{CELL}/models/{GLIF3}/run.json"
    query = {"stim": "noise", "amp": "100", "cv": "0.5", "seed": "3", "dur": "1", "total": "1.2"}
    first, again = client.get(base, query).json(), client.get(base, query).json()
    assert first["spike_times"] == again["spike_times"] and first["spike_count"] == 45
    other = client.get(base, query | {"seed": "4"}).json()
    assert other["spike_times"] != first["spike_times"]


def test_glif_dt_changes_the_step_and_is_bounded(client):
    base = f"/cell/{CELL}/models/{GLIF3}/run.json"
    fine = client.get(base, {"stim": "step", "amp": "100", "dt": "1e-5"}).json()
    assert fine["dt"] == 1e-5 and fine["query"]["dt"] == "1e-05"
    # the SDK's spike cut is a number of steps, so a finer dt cuts less after each spike: 48 spikes, not 45
    assert fine["spike_count"] == 48


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"stim": "chirp"}, "stimulus (stim) must be one of step, ramp, noise, sweep"),
        ({"amp": "lots"}, "amplitude in pA (amp) must be a number"),
        ({"amp": "1e6"}, "amplitude in pA (amp) must lie between -2000 and 2000"),
        ({"total": "60"}, "total time in s (total) must lie between 0.002 and 25"),
        ({"start": "1", "dur": "1", "total": "1.5"}, "the stimulus ends at 2 s, after the run's total of 1.5 s"),
        ({"dt": "0.01"}, "time step in s (dt) must lie between 1e-06 and 0.0001"),
        ({"total": "20", "dur": "1", "dt": "1e-6"}, "runs here stop at 5000000 steps"),
        ({"stim": "sweep", "sweep": "0"}, "sweep 0 is not a square or ramp sweep of this cell"),
        ({"stim": "noise", "cv": "5"}, "noise CV (cv) must lie between 0 and 2"),
    ],
)
def test_bad_run_parameters_are_a_400_that_names_them(client, query, message):
    response = client.get(f"/cell/{CELL}/models/{GLIF3}/run.json", query)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_a_model_of_another_cell_is_not_run(client):
    response = client.get(f"/cell/{PARTLY_HELD_CELL}/models/{GLIF3}/run.json")
    assert response.status_code == 404


def test_bad_parameters_on_the_page_show_the_error_and_the_default_run(client):
    response = client.get(f"/cell/{CELL}/models/", {"model": GLIF3, "stim": "step", "amp": "x"})
    assert response.status_code == 200
    assert "amplitude in pA (amp) must be a number" in response.content.decode()


def test_an_unknown_model_is_a_404_on_the_page(client):
    assert client.get(f"/cell/{CELL}/models/", {"model": "123"}).status_code == 404


def test_the_page_lists_models_allen_has_that_we_do_not_hold(client):
    html = client.get(f"/cell/{PARTLY_HELD_CELL}/models/").content.decode()
    assert re.search(r'data-missing="glif">GLIF: 4 of 5 not held', html)
    assert re.search(r'data-missing="perisomatic">biophysical, perisomatic: 1 of 1 not held', html)


def test_biophysical_page_says_when_neuron_is_missing(client, monkeypatch):
    monkeypatch.setattr(simulations.biophys, "neuron_unavailable_reason", lambda: "NEURON is not installed")
    html = client.get(f"/cell/{CELL}/models/", {"model": PERISOMATIC}).content.decode()
    assert "Biophysical runs are not available here: NEURON is not installed" in html
    assert "data-disabled" in html
    answer = client.get(f"/cell/{CELL}/models/{PERISOMATIC}/run.json").json()
    assert answer == {"state": "unavailable", "error": "NEURON is not installed", "page_url": answer["page_url"]}


def test_search_model_facets_agree_with_the_cell_table_counts(client):
    html = client.get("/cells/").content.decode()
    for value, column in (
        ("glif", "m_glif"),
        ("perisomatic", "m_biophys_perisomatic"),
        ("all-active", "m_biophys_all_active"),
    ):
        expected = ApiCellTypesSpecimenDetail.objects.filter(**{f"{column}__gt": 0}).count()
        assert expected > 0
        shown = re.search(rf'data-value="{value}" data-count="(\d+)"', html)
        assert int(shown.group(1)) == expected, value
        page = client.get("/cells/", {"models": value}).content.decode()
        assert f'data-total="{expected}"' in page


def test_allen_published_metrics_are_loaded_into_the_model_runs_and_shown(client):
    from celltypes.atlas.models import NeuronalModelRun
    from celltypes.atlas.selectors.models import published_model_metrics

    runs = {run.neuronal_model_id: run for run in NeuronalModelRun.objects.all()}
    assert runs[480629475].explained_variance_ratio == pytest.approx(0.698053643069769)
    assert runs[491766131].rheobase_feature_average == pytest.approx(3.75733173243137)
    glif = published_model_metrics(model_id=480629475)
    assert glif.explained_variance_ratio == pytest.approx(0.698053643069769) and glif.rheobase_feature_average is None
    assert glif.run_id == runs[480629475].id
    all_active = published_model_metrics(model_id=491766131)
    assert (all_active.explained_variance_ratio, all_active.rheobase_feature_average) == pytest.approx(
        (0.783997426309877, 3.75733173243137)
    )
    assert published_model_metrics(model_id=GLIF3) is None
    html = client.get(f"/cell/{CELL}/models/", {"model": 480629475}).content.decode()
    assert 'data-metric="explained_variance_ratio">0.698<' in html
    html = client.get(f"/cell/{CELL}/models/", {"model": GLIF3}).content.decode()
    assert re.search(r'data-metric="explained_variance_ratio"><span class="muted">not in this copy', html)
    assert 'data-metric="rheobase_feature_average"' not in html
    # the RMA API serves them from the same rows
    query = "model::NeuronalModel,rma::criteria,[id$eq480629475],rma::include,neuronal_model_runs"
    (record,) = client.get("/api/v2/data/query.json", {"q": query}).json()["msg"]
    assert record["neuronal_model_runs"][0]["explained_variance_ratio"] == pytest.approx(0.698053643069769)


def test_a_biophysical_page_points_at_allens_measures_of_the_published_fit(client):
    # all-active 497233223 fires 53 spikes on sweep 29 (recorded: 24), as the AllenSDK's own runner does with it
    html = client.get(f"/cell/{CELL}/models/", {"model": 497233223}).content.decode()
    assert "data-biophys-note" in html and "the published model's behaviour" in html
    assert 'data-metric-missing="rheobase_feature_average"' in html
