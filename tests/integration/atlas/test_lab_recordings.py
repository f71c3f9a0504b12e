"""A lab's own NWB recording imported as a specimen of its own (manage.py import_nwb and the admin's upload form),
with a SYNTHETIC NWB 2 file the tests write (tests/support/synthetic_nwb.py): four Long Square sweeps of the
synthetic cell. It is drawn on its page, marked as a lab upload, and never reaches the RMA or REST API."""

from __future__ import annotations

import json
from html import unescape
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from celltypes.atlas import filestore
from celltypes.atlas.bundled import DEMO_DIR
from celltypes.atlas.models import EphysSweep, LabRecording, Specimen
from tests.support.synthetic_nwb import SYNTHETIC_AMPLITUDES, synthetic_spike_counts, write_synthetic_nwb2

pytestmark = pytest.mark.django_db
REAL_VOLTAGE_CLAMP_NWB2 = DEMO_DIR / "ipfx/tests/data/valid_v2_MIES-NWBv2-0655f7e4.nwb"


@pytest.fixture
def synthetic_nwb(tmp_path: Path) -> Path:
    return write_synthetic_nwb2(tmp_path / "synthetic_lab_cell.nwb")


@pytest.fixture
def imported(synthetic_nwb: Path) -> LabRecording:
    call_command("import_nwb", str(synthetic_nwb), "--name", "synthetic lab cell 1", "--species", "mouse")
    return LabRecording.objects.select_related("specimen").get()


def test_import_makes_a_specimen_with_its_sweeps_and_computed_spike_counts(imported, synthetic_nwb):
    assert imported.specimen.name == "synthetic lab cell 1" and imported.species == "Mouse"
    assert (imported.file_name, imported.layout, imported.nwb_version) == ("synthetic_lab_cell.nwb", "nwb2", "2.5.0")
    sweeps = list(EphysSweep.objects.filter(specimen=imported.specimen).order_by("sweep_number"))
    assert [s.stimulus_name for s in sweeps] == ["Long Square"] * 4
    assert [s.stimulus_absolute_amplitude for s in sweeps] == list(SYNTHETIC_AMPLITUDES)
    assert [s.num_spikes for s in sweeps] == synthetic_spike_counts() == [0, 0, 5, 13]
    assert {(s.sampling_rate, s.stimulus_units, s.stimulus_start_time) for s in sweeps} == {(50_000.0, "Amps", 0.2)}
    stored = filestore.lab_recording_path(imported.specimen_id)
    assert filestore.sha256_of(stored) == filestore.sha256_of(synthetic_nwb) == imported.sha256
    assert stored.stat().st_size == imported.size


def test_its_page_draws_the_sweeps_marked_as_a_lab_upload(client, imported):
    specimen = imported.specimen_id
    html = unescape(client.get(f"/cell/{specimen}/ephys/").content.decode())
    assert html.count("data-lab-upload") == 2 and "a lab's own recording uploaded here (not Allen's data)" in html
    assert "A lab's own recording uploaded here (not Allen's data) on " in html  # the tab's provenance line
    assert "13 spikes (computed)" in html and "data-no-recording" not in html
    body = client.get(f"/cell/{specimen}/ephys/sweep/3.json").json()
    assert body["clamp"] == "current" and body["samples"] == 72_500 and len(body["spikes"]) == 13
    assert "a lab's own recording uploaded here (not Allen's data)" in body["provenance"]


def test_it_never_reaches_the_rma_api_nor_the_rest_api(client, imported):
    specimen = imported.specimen_id
    for query in (
        f"model::Specimen,rma::criteria,[id$eq{specimen}]",
        f"model::EphysSweep,rma::criteria,[specimen_id$eq{specimen}]",
        f"model::Specimen,rma::criteria,ephys_sweeps[specimen_id$eq{specimen}]",
    ):
        body = json.loads(client.get("/api/v2/data/query.json", {"q": query}).content)
        assert body["success"] and body["total_rows"] == 0, query
    assert client.get("/api/v1/sweeps/", {"specimen_id": specimen}).json()["results"] == []
    assert Specimen.objects.filter(id=specimen).exists()  # still here, only not served as Allen's


def _nothing_written(specimens_before: int) -> None:
    assert not LabRecording.objects.exists() and Specimen.objects.count() == specimens_before
    folder = filestore.data_dir() / "lab_recordings"
    assert not folder.exists() or not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary left


@pytest.mark.parametrize(
    ("make", "words"),
    [
        ("truncated", "not a readable NWB recording"),
        ("random", "not a readable NWB recording"),
        ("voltage_clamp", "no current-clamp sweep"),
        ("real_voltage_clamp", "no current-clamp sweep"),
        ("missing", "no such file"),
    ],
)
def test_a_bad_file_is_refused_and_nothing_is_written(make, words, tmp_path, synthetic_nwb):
    before = Specimen.objects.count()
    path = tmp_path / "synthetic_bad.nwb"
    if make == "truncated":
        path.write_bytes(synthetic_nwb.read_bytes()[: synthetic_nwb.stat().st_size // 2])
    elif make == "random":
        path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 64)
    elif make == "voltage_clamp":
        write_synthetic_nwb2(path, clamp="Voltage")
    elif make == "real_voltage_clamp":
        path = REAL_VOLTAGE_CLAMP_NWB2
    with pytest.raises(CommandError, match=words) as refused:
        call_command("import_nwb", str(path))
    assert "nothing was changed" in str(refused.value)
    _nothing_written(before)


def test_a_duplicate_is_refused(imported, synthetic_nwb, tmp_path):
    copy = tmp_path / "synthetic_copy.nwb"
    copy.write_bytes(synthetic_nwb.read_bytes())
    with pytest.raises(CommandError, match=f"already imported: the same bytes are specimen {imported.specimen_id}"):
        call_command("import_nwb", str(copy), "--name", "another name")
    assert LabRecording.objects.count() == 1


def test_the_admin_uploads_and_refuses_with_the_reason(client, synthetic_nwb, tmp_path):
    admin = get_user_model().objects.create_superuser("synthetic_admin", "a@example.org", "pw")
    client.force_login(admin)
    assert client.get("/admin/atlas/labrecording/add/").status_code == 200
    broken = tmp_path / "synthetic_broken.nwb"
    broken.write_bytes(b"not hdf5 at all")
    with broken.open("rb") as fh:
        refused = client.post("/admin/atlas/labrecording/add/", {"file": fh, "name": ""})
    assert refused.status_code == 200 and "Not imported, nothing was changed" in refused.content.decode()
    with synthetic_nwb.open("rb") as fh:
        done = client.post("/admin/atlas/labrecording/add/", {"file": fh, "name": "", "species": "human"})
    assert done.status_code == 302
    record = LabRecording.objects.select_related("specimen").get()
    assert (record.specimen.name, record.species, record.file_name) == (
        "synthetic lab cell",  # the file's session description
        "Human",
        "synthetic_lab_cell.nwb",
    )
    client.post(f"/admin/atlas/labrecording/{record.pk}/delete/", {"post": "yes"})
    assert not Specimen.objects.filter(id=record.specimen_id).exists()
    assert not EphysSweep.objects.filter(specimen_id=record.specimen_id).exists()


def test_a_long_sweep_is_drawn_first_and_its_spikes_follow(client, tmp_path):
    """A SYNTHETIC upload at 200 kHz (290,000 samples a sweep, above INLINE_ANALYSIS_SAMPLES): the first paint has
    no spikes yet ("to follow"), analysis.json has them, and from then on the trace carries them."""
    nwb = write_synthetic_nwb2(tmp_path / "synthetic_200khz.nwb", (130.0,), rate=200_000.0)
    call_command("import_nwb", str(nwb))
    specimen = LabRecording.objects.get().specimen_id
    first = client.get(f"/cell/{specimen}/ephys/sweep/0.json").json()
    assert (first["analysis"], first["spikes"], first["samples"]) == ("to follow", None, 290_000)
    assert len(first["t"]) < 6000
    html = client.get(f"/cell/{specimen}/ephys/").content.decode()
    assert f'"analysis_url": "/cell/{specimen}/ephys/sweep/{{n}}/analysis.json"' in html
    found = client.get(f"/cell/{specimen}/ephys/sweep/0/analysis.json").json()
    assert len(found["spikes"]) == synthetic_spike_counts((130.0,))[0] == 13
    for spike in found["spikes"]:  # every peak was in the first paint, at its true height
        assert first["response"][first["t"].index(spike["peak_t"])] == round(spike["peak_v"], 3)
    again = client.get(f"/cell/{specimen}/ephys/sweep/0.json").json()
    assert again["analysis"] == "included" and again["spikes"] == found["spikes"]


def test_the_analysis_of_a_voltage_clamp_sweep_is_refused(client):
    specimen = Specimen.objects.get(name="valid_v2_MIES-NWBv2-0655f7e4").id
    response = client.get(f"/cell/{specimen}/ephys/sweep/0/analysis.json")
    assert response.status_code == 400 and "never searched" in response.json()["detail"]
