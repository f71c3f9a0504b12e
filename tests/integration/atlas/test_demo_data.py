"""The demo set as loaded: real values from Allen's tables."""

import pytest
from django.db.models import Q

from celltypes.atlas import choices
from celltypes.atlas.models import (
    ApiCellTypesSpecimenDetail,
    EphysFeature,
    EphysSweep,
    HeldTraceWindow,
    NeuronalModel,
    NeuronalModelTemplate,
    NeuronReconstruction,
    Specimen,
    WellKnownFile,
)
from celltypes.atlas.selectors.summary import atlas_summary_get

pytestmark = pytest.mark.django_db


def test_cell_table_has_every_cell_by_species():
    summary = atlas_summary_get()
    assert (summary.cells, summary.mouse_cells, summary.human_cells, summary.species) == (2333, 1920, 413, 2)


def test_reconstruction_counts_match_the_table():
    summary = atlas_summary_get()
    assert (summary.reconstructions, summary.full_reconstructions, summary.dendrite_only_reconstructions) == (
        667,
        367,
        300,
    )
    current = NeuronReconstruction.objects.filter(superseded=False)
    assert current.count() == 667
    assert current.filter(neuron_reconstruction_type="full").count() == 367


def test_model_counts_come_from_the_table():
    summary = atlas_summary_get()
    assert summary.cells_with_glif == 1218
    assert summary.glif_models == 3753
    assert summary.cells_with_perisomatic == 238
    assert summary.cells_with_all_active == 107


def test_specimen_313862022_is_a_spiny_layer_4_cell_of_primary_visual_cortex():
    specimen = Specimen.objects.select_related("structure__parent", "donor__organism").get(id=313862022)
    detail = ApiCellTypesSpecimenDetail.objects.get(specimen_id=313862022)
    assert detail.structure_layer == "4"
    assert detail.tag_dendrite_type == "spiny"
    assert detail.tag_apical == "intact"
    assert specimen.structure.acronym == "VISp4"
    assert specimen.structure.name == "Primary visual area, layer 4"
    assert specimen.structure.parent.acronym == "VISp"
    assert specimen.structure.parent.name == "Primary visual area"
    assert set(specimen.specimen_tags.values_list("name", flat=True)) == {
        "dendrite type - spiny",
        "apical - intact",
    }
    assert specimen.donor.organism.name == "Mus musculus"
    assert detail.nr_reconstruction_type == "dendrite-only"
    assert detail.nr_number_bifurcations == 39


def test_human_cells_with_epilepsy():
    assert (
        ApiCellTypesSpecimenDetail.objects.filter(donor_species="Homo Sapiens", donor_disease_state="epilepsy").count()
        == 350
    )
    assert Specimen.objects.filter(donor__organism__name="Homo sapiens", donor__disease_state="epilepsy").count() == 350


def test_cells_without_reconstruction_have_null_type_not_empty_string():
    assert ApiCellTypesSpecimenDetail.objects.filter(nr_reconstruction_type="").count() == 0
    assert ApiCellTypesSpecimenDetail.objects.filter(nr_reconstruction_type__isnull=True).count() == 2333 - 667


def test_flat_table_agrees_with_the_normalised_tables():
    specimens = Specimen.objects.select_related("donor__organism", "structure__parent").prefetch_related(
        "specimen_tags", "cell_soma_locations", "neuron_reconstructions"
    )
    details = {d.specimen_id: d for d in ApiCellTypesSpecimenDetail.objects.all()}
    features = {f.specimen_id: f for f in EphysFeature.objects.all()}
    mismatches = []
    for specimen in specimens.filter(id__in=details):
        detail = details[specimen.id]
        tags = {t.name for t in specimen.specimen_tags.all()}
        current = [r for r in specimen.neuron_reconstructions.all() if not r.superseded]
        checks = {
            "name": detail.specimen_name == specimen.name,
            "species": detail.donor_species.lower() == specimen.donor.organism.name.lower(),
            "donor": detail.donor_id == specimen.donor_id,
            "structure": detail.structure_acronym == specimen.structure.acronym,
            "dendrite tag": f"dendrite type - {detail.tag_dendrite_type}" in tags,
            "reconstruction": (detail.nr_reconstruction_type is None) == (not current),
            "soma x": detail.csl_x == specimen.cell_soma_locations.all()[0].x,
            "tau": detail.ef_tau == features[specimen.id].tau,
            "vrest": detail.ef_vrest == features[specimen.id].vrest,
        }
        if current:
            checks["stems"] = detail.nr_number_stems == current[0].number_stems
        mismatches += [(specimen.id, name) for name, ok in checks.items() if not ok]
    assert mismatches == []


def test_ephys_features_are_the_56_column_records():
    feature = EphysFeature.objects.get(specimen_id=529878215)
    assert feature.id == 529951870
    assert feature.rheobase_sweep_number == 78
    assert feature.tau == pytest.approx(20.4950337481237)
    assert feature.has_burst is False
    assert EphysFeature.objects.count() == 2333


def test_templates_carry_allens_hard_coded_ids():
    ids = set(NeuronalModelTemplate.objects.values_list("id", flat=True))
    assert ids == {329230710, 491455321, *choices.GLIF_TEMPLATE_IDS}


def test_glif_bundles_become_models_with_their_neuron_config():
    model = NeuronalModel.objects.get(id=566282032)
    assert model.specimen_id == 318556138
    assert model.neuronal_model_template_id == 395310479
    files = list(WellKnownFile.objects.filter(neuronal_model=model))
    assert len(files) == 1 and files[0].path.endswith("neuron_config.json")
    assert files[0].size and len(files[0].sha256) == 64
    assert EphysSweep.objects.filter(specimen_id=318556138).count() == 79


def test_biophysical_bundle_models_are_linked_to_their_fit_and_template():
    model = NeuronalModel.objects.get(id=472451419)
    assert model.specimen_id == 386049446
    assert model.neuronal_model_template_id == choices.PERISOMATIC_TEMPLATE_ID
    all_active = NeuronalModel.objects.get(id=497232312)
    assert all_active.neuronal_model_template_id == choices.ALL_ACTIVE_TEMPLATE_ID
    fit = WellKnownFile.objects.get(neuronal_model_id=472451419)
    assert fit.well_known_file_type_id == choices.MODEL_PARAMETERS[0]


def test_nwb_recordings_load_as_specimens_of_their_own_with_sweeps():
    others = Specimen.objects.exclude(id__in=ApiCellTypesSpecimenDetail.objects.values("specimen_id"))
    assert others.count() == 2
    for specimen in others:
        assert specimen.ephys_sweeps.count() >= 1
        nwb = WellKnownFile.objects.get(ephys_result_id=specimen.ephys_result_id)
        assert nwb.well_known_file_type_id == choices.NWB_DOWNLOAD[0]
        assert nwb.size > 1_000_000
    assert EphysSweep.objects.filter(specimen__in=others, sampling_rate__gt=0).exists()


def test_demo_swc_files_are_attached_and_stored():
    swcs = WellKnownFile.objects.filter(well_known_file_type_id=choices.RECONSTRUCTION[0], size__isnull=False)
    assert swcs.count() == 15
    markers = WellKnownFile.objects.filter(well_known_file_type_id=choices.MARKER[0])
    assert markers.count() == 5
    # The SWC of specimen 488683425 is its current (published) reconstruction ...
    current = swcs.get(neuron_reconstruction__specimen_id=488683425).neuron_reconstruction
    assert (current.id, current.superseded, current.number_stems) == (527109145, False, 9)
    # ... while the 10,671-node SWC of 485184849 is the older record 505202170 of the 402-record release:
    # the cell's current reconstruction (657298379, from the 670-cell release) has no local file.
    older = swcs.get(neuron_reconstruction__specimen_id=485184849)
    assert (older.neuron_reconstruction_id, older.neuron_reconstruction.superseded) == (505202170, True)
    assert older.size > 400_000
    assert NeuronReconstruction.objects.get(specimen_id=485184849, superseded=False).id == 657298379


def test_every_cell_links_its_nwb_download():
    nwb = WellKnownFile.objects.filter(well_known_file_type_id=choices.NWB_DOWNLOAD[0])
    assert nwb.filter(~Q(ephys_result__specimen__id=None)).count() == 2333 + 2


def test_the_current_reconstruction_is_the_record_the_cell_table_names():
    # Specimen 476086391 has two published tracings with equal stems, bifurcations and max Euclidean distance;
    # its cell table row names SWC 706190755, the file of reconstruction 706190753 (nrwkf__id - 2).
    current = NeuronReconstruction.objects.get(specimen_id=476086391, superseded=False)
    assert (current.id, current.number_nodes, round(current.total_length)) == (706190753, 1454, 1863)
    assert current.average_contraction == 0.775104435669776
    older = NeuronReconstruction.objects.get(id=492413624)
    assert (older.superseded, older.number_nodes, round(older.total_length)) == (True, 1334, 1615)
    assert older.average_contraction == pytest.approx(0.8940342045616699)
    swc = WellKnownFile.objects.get(id=706190755)
    assert (swc.neuron_reconstruction_id, swc.attachable_id) == (706190753, 706190753)
    assert swc.file_name.endswith("_706190753_m.swc")


def test_a_record_with_another_id_is_current_when_type_and_all_five_values_agree():
    # Specimen 528706755: the cell table names SWC 722014889, and the published record of that tracing is 722014861.
    current = NeuronReconstruction.objects.get(specimen_id=528706755, superseded=False)
    assert current.id == 722014861 and current.number_nodes is not None
    assert WellKnownFile.objects.get(id=722014889).neuron_reconstruction_id == 722014861


def test_the_five_long_square_windows_load_as_held_trace_windows_of_their_cells():
    windows = HeldTraceWindow.objects.order_by("specimen_id")
    assert [(w.specimen_id, w.sweep_number) for w in windows] == [
        (509881736, 39),
        (518290966, 57),
        (526950199, 37),
        (555060623, 34),
        (566517779, 46),
    ]
    assert [round(w.stimulus_amplitude) for w in windows] == [130, 170, 110, 90, 150]
    first = windows[0]
    assert (round(first.window_start, 6), round(first.window_end, 6), round(first.sampling_rate)) == (
        0.815,
        2.265,
        50_000,
    )
    assert first.source_path.endswith("allen_long_square/specimen_509881736_sweep_39.npz")
    assert "not Allen's NWB file" in first.provenance
    # Ours, not Allen's: no sweep record, no file record is made of them.
    assert not EphysSweep.objects.filter(specimen_id=509881736, sweep_number=39).exists()
    assert not WellKnownFile.objects.filter(path__contains="allen_long_square").exists()


def test_held_trace_windows_never_reach_the_rma_api(client):
    for query in ("model::HeldTraceWindow", "model::Specimen,rma::include,held_trace_windows"):
        response = client.get("/api/v2/data/query.json", {"q": query})
        assert response.status_code == 400, query
