"""Allen's recorded BiophysicalApi response (AllenSDK test data, in demo_data) flattened by sync.mapping."""

import copy
import json

import pytest

from celltypes.atlas.services.loading import DEMO_DIR
from celltypes.sync.mapping import MappingError, model_record_set, neuronal_model_query

RECORDED = json.loads((DEMO_DIR / "AllenSDK/allensdk/test/api/response_test_data/472451419_response.json").read_text())[
    "msg"
][0]


def test_recorded_model_flattens_to_its_files_and_sweeps():
    records = model_record_set(RECORDED)
    assert (records.model_id, records.specimen_id, records.template_id) == (472451419, 386049446, 329230710)
    assert records.name == "Biophysical - perisomatic_Nr5a1-Cre;Ai14-177334.05.01.01"
    (mod,) = records.template_files
    assert (mod.id, mod.type_name, mod.attachable_type, mod.attachable_id) == (
        395337293,
        "BiophysicalModelDescription",
        "Product",
        305094322,
    )
    assert mod.path.endswith("/SK.mod")
    assert [(f.id, f.type_id) for f in records.model_files] == [(497235805, 329230374)]
    assert records.ephys_result["id"] == 386049444
    assert {f.type_name for f in records.ephys_result_files} == {
        "NWBDownload",
        "NWBUncompressed",
        "MorphologyThumbnail",
        "EphysSummaryThumbnail",
        "EphysInstantaneousThresholdThumbnail",
    }
    assert {k: [f.id for f in v] for k, v in records.reconstruction_files.items()} == {
        491459171: [491459173, 496607103]
    }
    assert [(s["id"], s["sweep_number"], s["stimulus_name"]) for s in records.sweeps] == [
        (396429050, 42, "Long Square")
    ]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda r: r.pop("specimen"), "neuronal model 472451419: no specimen"),
        (lambda r: r.pop("neuronal_model_template"), "no neuronal_model_template"),
        (lambda r: r.update(id="472451419"), "'id' should be an integer"),
        (lambda r: r["well_known_files"][0].pop("path"), "well_known_file 497235805: no path"),
        (lambda r: r["well_known_files"][0].update(path="/a/b\r\nX: y"), "497235805: the path has control"),
        (
            lambda r: r["neuronal_model_template"]["well_known_files"][0].pop("well_known_file_type"),
            "template well_known_file 395337293: no well_known_file_type",
        ),
        (lambda r: r["specimen"].update(ephys_sweeps={"id": 1}), "'ephys_sweeps' should be a list of records"),
        (lambda r: r["specimen"]["ephys_sweeps"][0].pop("sweep_number"), "'sweep_number' should be an integer"),
        (lambda r: r["specimen"].update(ephys_result=[]), "ephys_result should be a record"),
        (lambda r: r["specimen"]["ephys_result"].update(id=True), "ephys_result: 'id' should be an integer"),
    ],
)
def test_malformed_records_name_what_is_wrong(damage, message):
    record = copy.deepcopy(RECORDED)
    damage(record)
    with pytest.raises(MappingError, match=message.replace("(", r"\(").replace("[", r"\[")):
        model_record_set(record)


def test_query_is_the_sdks_include_paths_as_outer_joins():
    q = neuronal_model_query(472451419)
    assert q.startswith("model::NeuronalModel,rma::criteria,[id$eq472451419],rma::include,neuronal_model_template(")
    assert "specimen(ephys_result(well_known_files(well_known_file_type))," in q
