"""The electrophysiology tab and its sweep JSON: real held Long Square windows, Allen's sweep tables, the two
voltage-clamp NWB specimens, and cells with no recording held."""

from __future__ import annotations

import json
import re

import pytest

from celltypes.atlas.models import ApiCellTypesSpecimenDetail, EphysSweep, Specimen
from celltypes.atlas.selectors.ephys import cell_ephys_get, sweep_table_curves
from celltypes.web.presenters.ephys import sweep_groups

pytestmark = pytest.mark.django_db

HELD_CELL, HELD_SWEEP = 509881736, 39  # a 1.45 s window (815-2265 ms) of Long Square sweep 39, 130 pA
TABLE_CELL = 324032509  # a GLIF-modelled cell with Allen's sweep table (123 sweeps) and no trace held


def config(html: str) -> dict:
    return json.loads(re.search(r'<script id="ephys-config" type="application/json">(.*?)</script>', html, re.S)[1])


def test_a_held_window_is_offered_with_its_provenance(client):
    html = client.get(f"/cell/{HELD_CELL}/ephys/").content.decode()
    assert "data-provenance" in html
    assert "the samples from 815 ms to 2265 ms after the sweep&#x27;s first sample" in html
    assert "Gonçalves et al. 2020 (not Allen&#x27;s NWB file)" in html
    box = re.search(rf'<button[^>]*data-sweep="{HELD_SWEEP}".*?</button>', html, re.S)[0]
    assert "disabled" not in box and "130 pA" in box and "25 spikes (computed)" in box  # not in Allen's table
    data = config(html)
    assert data["default_sweep"] == HELD_SWEEP and data["groups"] == {"Long Square": [HELD_SWEEP]}
    assert data["trace_url"] == f"/cell/{HELD_CELL}/ephys/sweep/{{n}}.json"


def test_computed_features_sit_beside_allens_with_the_reason(client):
    html = client.get(f"/cell/{HELD_CELL}/ephys/").content.decode()
    section = re.search(r"data-feature-comparison>(.*?)</section>", html, re.S)[1]
    assert "Allen&#x27;s value is from the first spike of the cell&#x27;s rheobase sweep" in section
    assert "this is sweep 39 (130 pA), computed from its held 1450 ms window" in section
    row = re.search(r"Threshold potential \(long square\).*?</tr>", section, re.S)[0]
    computed, published = re.findall(r'<td class="numeric">([^<]+)</td>', row)
    assert computed == "-41.03"  # the first spike of sweep 39, equal to ipfx's


def test_sweep_json_is_downsampled_with_every_spike_and_its_features(client):
    response = client.get(f"/cell/{HELD_CELL}/ephys/sweep/{HELD_SWEEP}.json")
    assert response.status_code == 200
    body = response.json()
    assert body["clamp"] == "current" and body["source"] == "window"
    assert body["samples"] == 72_500 and not body["full_resolution"]
    assert 3_000 < len(body["t"]) < 6_000 and len(body["t"]) == len(body["response"]) == len(body["stimulus"])
    assert (body["t"][0], body["t"][-1]) == (0.815, 2.26498)  # on the sweep's clock
    assert len(body["spikes"]) == 25
    first = body["spikes"][0]
    assert (first["threshold_t"], round(first["threshold_v"], 2), first["peak_v"]) == (1.04422, -41.03, 29.75)
    for spike in body["spikes"]:  # every peak is among the drawn points, at its true height
        assert body["response"][body["t"].index(spike["peak_t"])] == round(spike["peak_v"], 3)
    assert "Gonçalves et al. 2020" in body["provenance"]
    assert len(response.content) < 300_000


def test_a_zoomed_window_comes_back_at_full_resolution(client):
    body = client.get(f"/cell/{HELD_CELL}/ephys/sweep/{HELD_SWEEP}.json", {"start": "1.1", "end": "1.2"}).json()
    assert body["full_resolution"] and body["samples"] == len(body["t"]) == 5_001
    assert (body["t"][0], body["t"][-1]) == (1.1, 1.2)
    assert len(body["spikes"]) == 25  # spikes come from the whole sweep, not the window


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ({"start": "abc"}, 400, "start must be a number"),
        ({"start": "nan"}, 400, "finite"),
        ({"start": "1.2", "end": "1.1"}, 400, "start must come before end"),
        ({"start": "5", "end": "6"}, 400, "fewer than two samples"),
        ({"points": "5"}, 400, "points must be"),
    ],
)
def test_bad_windows_get_a_clear_400(client, query, status, words):
    response = client.get(f"/cell/{HELD_CELL}/ephys/sweep/{HELD_SWEEP}.json", query)
    assert response.status_code == status and words in response.json()["detail"]


def test_a_sweep_that_is_not_held_is_a_404_that_says_so(client):
    response = client.get(f"/cell/{TABLE_CELL}/ephys/sweep/40.json")
    assert response.status_code == 404
    assert "no recording of specimen 324032509 is held here" in response.json()["detail"]


def test_a_cell_without_a_recording_says_so_and_still_draws_its_f_i_curve(client):
    html = client.get(f"/cell/{TABLE_CELL}/ephys/").content.decode()
    assert "data-no-recording" in html and "This copy holds no recording of this cell" in html
    data = config(html)
    assert data["default_sweep"] is None
    long_squares = EphysSweep.objects.filter(specimen_id=TABLE_CELL, stimulus_name="Long Square")
    assert len(data["fi"]) == long_squares.count() == 21
    assert [46, 170.000000188075] in [[p[2], p[0]] for p in data["fi"]]
    assert len(data["vi"]) == 13  # sweeps 32-41 and 57-59: no spikes
    assert "data-fi-plot" in html


def test_sweep_table_curves_are_spike_counts_over_the_step_per_amplitude():
    curves = sweep_table_curves(cell_ephys_get(specimen_id=TABLE_CELL).sweeps)
    by_sweep = {p.sweep_number: p for p in curves.fi}
    assert round(by_sweep[46].value, 3) == round(19 / 0.999995, 3)  # 19 spikes in the 1 s step at 170 pA
    assert [p.amplitude for p in curves.fi] == sorted(p.amplitude for p in curves.fi)
    vi = {p.sweep_number: p.value for p in curves.vi}
    # This release of the table leaves num_spikes null on sweeps without spikes (an older one says 0): sweep 40
    # (50 pA) counts as 0 spikes, its peak deflection is on the V-I curve.
    assert by_sweep[40].value == 0 and vi[40] == -63.2499961853027


def test_the_curves_use_every_long_square_of_the_1083_table_sweeps():
    table = EphysSweep.objects.filter(specimen_id__in=ApiCellTypesSpecimenDetail.objects.values("specimen_id"))
    assert table.count() == 1083
    long_squares = table.filter(stimulus_name="Long Square").exclude(stimulus_absolute_amplitude=None)
    counted = long_squares.exclude(num_spikes=None, peak_deflection=None)
    total = sum(
        len(sweep_table_curves(cell_ephys_get(specimen_id=s).sweeps).fi)
        for s in set(long_squares.values_list("specimen_id", flat=True))
    )
    assert total == counted.count() > 100


def test_sweeps_are_grouped_in_the_vocabulary_order():
    groups = sweep_groups(cell_ephys_get(specimen_id=TABLE_CELL))
    names = [g.name for g in groups]
    assert names[:4] == ["Short Square", "Long Square", "Ramp", "Noise 1"]
    assert sum(len(g.sweeps) for g in groups) == 123
    assert not any(box.held for g in groups for box in g.sweeps)


def test_the_nwb_specimens_are_drawn_as_voltage_clamp_with_their_test_pulse(client):
    outside = Specimen.objects.exclude(id__in=ApiCellTypesSpecimenDetail.objects.values("specimen_id"))
    by_name = {s.name: s for s in outside}
    specimen = by_name["valid_v2_MIES-NWBv2-0655f7e4"]
    html = client.get(f"/cell/{specimen.id}/ephys/").content.decode()
    assert "data-voltage-clamp" in html and "data-no-recording" not in html
    body = client.get(f"/cell/{specimen.id}/ephys/sweep/0.json").json()
    assert body["clamp"] == "voltage" and body["spikes"] is None
    assert (body["stimulus_unit"], body["response_unit"]) == ("mV", "pA")
    pulse = body["test_pulse"]
    assert (pulse["amplitude"], pulse["start"], pulse["end"]) == (10.0, 0.005, 0.015005)
    assert pulse["steady_resistance"] == 10.01 and pulse["peak_resistance"] == 9.98
    sst = client.get(f"/cell/{by_name['Sst-IRES-CreAi14-395722.01.01.01'].id}/ephys/sweep/0.json").json()
    assert sst["test_pulse"]["steady_resolved"] is False and sst["test_pulse"]["steady_resistance"] is None


@pytest.mark.parametrize("specimen", [HELD_CELL, TABLE_CELL])
def test_every_sweep_box_says_its_qc_is_not_held_never_an_invented_pass_or_fail(client, specimen):
    html = client.get(f"/cell/{specimen}/ephys/").content.decode()
    boxes = re.findall(r'<button type="button" class="sweep-box".*?</button>', html, re.S)
    assert boxes
    assert all('data-qc="none">QC not held</span>' in box for box in boxes)
    assert "QC pass" not in html and "QC fail" not in html
    assert "Allen's sweep table does not publish it" in html
