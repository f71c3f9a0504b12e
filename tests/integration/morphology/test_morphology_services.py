"""Computed morphology features stored beside Allen's published record, on the real demo SWCs."""

import io
import time

import pytest
from django.core.management import call_command

from celltypes.atlas import filestore
from celltypes.atlas.models import ComputedMorphology, NeuronReconstruction, WellKnownFile
from celltypes.atlas.selectors import morphology as morphology_selectors
from celltypes.atlas.selectors.morphology import (
    REPRODUCIBLE,
    cell_reconstruction_with_swc,
    morphology_comparison,
    reconstruction_marker_file,
    reconstruction_swc_file,
)
from celltypes.atlas.services.morphology import SwcNotHeld, computed_morphology_update
from celltypes.atlas.vocabulary import MORPHOLOGY_COLUMNS
from celltypes.science.morphology import UNREPRODUCIBLE, compute_features
from celltypes.science.swc import read_swc
from tests.integration.morphology.demo_cells import (
    LARGE_CURRENT,
    LARGE_RECONSTRUCTION,
    MARKS,
    OLDER_CURRENT,
    OLDER_RECONSTRUCTION,
    OLDER_SPECIMEN,
    PUBLISHED_MARKER,
    PUBLISHED_RECONSTRUCTION,
    PUBLISHED_SPECIMEN,
    PUBLISHED_SWC,
    PUBLISHED_SWC_PATH,
    corrupted,
    replace_held_bytes,
)

pytestmark = MARKS

# Held SWCs that are the reconstruction their published record describes (tests/unit/science/test_morphology.py
# matches them node for node): reconstruction id -> specimen id.
PUBLISHED_MATCHES = {
    491119181: 464198958,
    491119484: 333604946,
    491119548: 479704527,
    491119617: 318331342,
    491120155: 468193142,
    495335491: 471129934,
    496001061: 485574832,
    496079587: 480169178,
    510988665: 485931158,
    527109145: 488683425,
}


def _recon(reconstruction_id: int) -> NeuronReconstruction:
    return NeuronReconstruction.objects.get(pk=reconstruction_id)


def test_the_held_swc_and_marker_of_a_reconstruction():
    recon = _recon(PUBLISHED_RECONSTRUCTION)
    assert reconstruction_swc_file(recon).pk == PUBLISHED_SWC
    assert reconstruction_marker_file(recon).pk == PUBLISHED_MARKER
    current = _recon(OLDER_CURRENT)  # Allen lists its files, but the demo set holds none of them
    assert reconstruction_swc_file(current) is None
    assert reconstruction_marker_file(current) is None


def test_the_cell_reconstruction_drawn_is_the_held_one():
    recon, swc = cell_reconstruction_with_swc(specimen_id=PUBLISHED_SPECIMEN)
    assert (recon.pk, swc.pk) == (PUBLISHED_RECONSTRUCTION, PUBLISHED_SWC)
    recon, _ = cell_reconstruction_with_swc(specimen_id=OLDER_SPECIMEN)
    assert (recon.pk, recon.superseded) == (OLDER_RECONSTRUCTION, True)
    assert cell_reconstruction_with_swc(specimen_id=313862022) is None  # a cell with no SWC held


def test_stored_features_are_the_science_values():
    computed = computed_morphology_update(reconstruction_id=PUBLISHED_RECONSTRUCTION)
    computed.refresh_from_db()
    assert computed.error is None
    assert computed.source_sha256 == WellKnownFile.objects.get(pk=PUBLISHED_SWC).sha256
    assert computed.features == compute_features(read_swc(PUBLISHED_SWC_PATH))
    assert computed.features["number_nodes"] == 4800
    assert computed.features["number_stems"] == _recon(PUBLISHED_RECONSTRUCTION).number_stems


def test_features_are_recomputed_only_when_the_swc_changes(held_swc):
    swc = held_swc(PUBLISHED_SWC_PATH.read_bytes())
    first = computed_morphology_update(reconstruction_id=swc.neuron_reconstruction_id)
    time.sleep(0.01)
    again = computed_morphology_update(reconstruction_id=swc.neuron_reconstruction_id)
    assert again.computed_at == first.computed_at  # same sha256: not recomputed
    replace_held_bytes(swc, filestore.well_known_file_path(swc.pk).read_bytes() + b"# edited\n")
    changed = computed_morphology_update(reconstruction_id=swc.neuron_reconstruction_id)
    assert changed.source_sha256 != first.source_sha256
    assert changed.computed_at > first.computed_at
    assert changed.features == first.features  # a comment changes no feature


def test_a_failed_computation_leaves_no_row(monkeypatch, held_swc):
    swc = held_swc(PUBLISHED_SWC_PATH.read_bytes())

    def broken(morphology):
        raise RuntimeError("feature code failed")

    monkeypatch.setattr(morphology_selectors, "compute_features", broken)
    with pytest.raises(RuntimeError):
        computed_morphology_update(reconstruction_id=swc.neuron_reconstruction_id)
    assert not ComputedMorphology.objects.filter(reconstruction_id=swc.neuron_reconstruction_id).exists()


def test_a_reconstruction_without_a_held_swc_is_refused():
    with pytest.raises(SwcNotHeld):
        computed_morphology_update(reconstruction_id=OLDER_CURRENT)


@pytest.mark.parametrize("reconstruction_id", sorted(PUBLISHED_MATCHES))
def test_comparison_agrees_with_the_published_record(reconstruction_id):
    recon = _recon(reconstruction_id)
    assert recon.specimen_id == PUBLISHED_MATCHES[reconstruction_id]
    computed_morphology_update(reconstruction_id=reconstruction_id)
    comparison = morphology_comparison(recon)
    rows = {row.name: row for row in comparison}
    assert list(rows) == list(MORPHOLOGY_COLUMNS)
    assert comparison.note is None
    assert comparison.published_reconstruction_id is None
    compared = [rows[name] for name in REPRODUCIBLE if rows[name].published is not None]
    assert len(compared) >= 13  # no table publishes the remote bifurcation angle
    for row in compared:
        assert abs(row.relative_difference) <= 1e-9, f"{row.name}: {row.computed} vs {row.published}"
        assert row.agrees and row.explanation is None
    for name, text in UNREPRODUCIBLE.items():
        assert rows[name].reproducible is False
        assert rows[name].explanation == text
        assert rows[name].computed is not None and rows[name].published is not None
    assert rows["hausdorff_dimension"].computed is None
    assert "Not computed" in rows["hausdorff_dimension"].explanation


def test_comparison_rows_carry_labels_units_and_real_values():
    computed_morphology_update(reconstruction_id=PUBLISHED_RECONSTRUCTION)
    rows = {row.name: row for row in morphology_comparison(_recon(PUBLISHED_RECONSTRUCTION))}
    nodes = rows["number_nodes"]
    assert (nodes.label, nodes.unit, nodes.published, nodes.computed) == ("Nodes", "", 4800, 4800)
    assert nodes.relative_difference == 0.0
    length = rows["total_length"]
    assert length.unit == "µm"
    assert length.computed == pytest.approx(length.published, rel=1e-12)
    soma = rows["soma_surface"]
    assert soma.agrees is False  # Allen's radii are scaled by |cos 2θ|^(1/3); ours are the SWC's
    assert soma.computed > soma.published


def test_an_older_swc_is_compared_with_its_own_record_and_says_so():
    computed_morphology_update(reconstruction_id=OLDER_RECONSTRUCTION)
    comparison = morphology_comparison(_recon(OLDER_RECONSTRUCTION))
    assert comparison.published_reconstruction_id == OLDER_CURRENT
    assert f"reconstruction {OLDER_RECONSTRUCTION}, an older reconstruction" in comparison.note
    assert f"published features are of reconstruction {OLDER_CURRENT}" in comparison.note
    rows = {row.name: row for row in comparison}
    assert rows["number_nodes"].published is None  # its own record: Allen publishes none
    assert rows["number_nodes"].computed == 3417  # the current record (491392845) has 3247
    assert all(row.relative_difference is None for row in comparison)


def test_an_older_swc_with_a_published_record_of_its_own_agrees_with_it():
    computed_morphology_update(reconstruction_id=LARGE_RECONSTRUCTION)
    comparison = morphology_comparison(_recon(LARGE_RECONSTRUCTION))
    assert comparison.published_reconstruction_id == LARGE_CURRENT
    assert "Allen's record of this older reconstruction" in comparison.note
    rows = {row.name: row for row in comparison}
    assert (rows["number_nodes"].published, rows["number_nodes"].computed) == (2062, 2062)
    for name in REPRODUCIBLE:
        if rows[name].published is not None:
            assert abs(rows[name].relative_difference) <= 1e-9, name
    assert comparison.disagreeing == []


def test_an_swc_that_does_not_match_its_record_says_so(held_swc):
    """Another cell's SWC filed under this record: the comparison must not pass it off as a reproduction."""
    swc = held_swc(PUBLISHED_SWC_PATH.read_bytes())
    computed_morphology_update(reconstruction_id=swc.neuron_reconstruction_id)
    comparison = morphology_comparison(swc.neuron_reconstruction)
    assert "number_nodes" in comparison.disagreeing
    assert "features an SWC determines differ from the published record" in comparison.note
    assert "probably a different tracing" in comparison.note


def test_a_malformed_swc_stores_the_error_naming_the_line(held_swc):
    swc = held_swc(corrupted(PUBLISHED_SWC_PATH, line=40))
    computed = computed_morphology_update(reconstruction_id=swc.neuron_reconstruction_id)
    computed.refresh_from_db()
    assert computed.error == "test_m.swc, line 40: not a number: '12.5x'"
    assert computed.features == {}
    assert computed.source_sha256 == swc.sha256
    comparison = morphology_comparison(swc.neuron_reconstruction)
    assert comparison.error == computed.error
    assert all(row.computed is None for row in comparison)


def test_a_malformed_swc_makes_the_preview_fragment_say_it_cannot_be_read(client, held_swc):
    swc = held_swc(corrupted(PUBLISHED_SWC_PATH, line=40))
    computed_morphology_update(reconstruction_id=swc.neuron_reconstruction_id)
    specimen_id = swc.neuron_reconstruction.specimen_id
    response = client.get(f"/cell/{specimen_id}/morphology/preview/xy/fragment")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-state="error"' in html
    assert "The reconstruction could not be read" in html
    assert "line 40: not a number: &#x27;12.5x&#x27;" in html
    plot = client.get(f"/cell/{specimen_id}/morphology/plot.json")
    assert plot.status_code == 422
    assert plot.json()["where"] == "line 40"


def test_the_command_computes_every_held_swc_and_summarises_agreement():
    out = io.StringIO()
    started = time.perf_counter()
    call_command("compute_morphology", "--force", stdout=out)
    assert time.perf_counter() - started < 10
    text = out.getvalue()
    assert ComputedMorphology.objects.filter(error__isnull=True).count() >= 15
    assert f"reconstruction {PUBLISHED_RECONSTRUCTION} of specimen {PUBLISHED_SPECIMEN}: 14/14" in text
    assert f"reconstruction {OLDER_RECONSTRUCTION} of specimen {OLDER_SPECIMEN} (superseded): no published" in text
    summary = {line.split()[0]: line.split()[1] for line in text.split("\nfeature", 1)[1].splitlines()[1:-1]}
    for name in REPRODUCIBLE:
        if name != "average_bifurcation_angle_remote":  # no table publishes it
            agree, total = summary[name].split("/")
            assert agree == total and int(total) >= 11, f"{name}: {summary[name]}"
    for name in UNREPRODUCIBLE:
        assert summary[name].startswith("0/"), f"{name}: {summary[name]}"
    assert summary["average_bifurcation_angle_remote"] == "-"
    assert "computed 15 reconstructions" in text
