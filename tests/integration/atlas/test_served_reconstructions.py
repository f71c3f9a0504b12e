"""What the RMA API serves as NeuronReconstruction: each reconstructed cell's current tracing, one per cell."""

import pytest

from celltypes.atlas.models import NeuronReconstruction

pytestmark = pytest.mark.django_db

# CellTypesApi.get_morphology_features (allen-api-protocol.md §2), with the SDK's mangled except list.
SDK_MORPHOLOGY_FEATURES = (
    "model::NeuronReconstruction,rma::criteria,specimen(ephys_result[failed$eqfalse]),"
    "rma::options[except$eqt,a,g,s][num_rows$eq'all']"
)


def _msg(client, q: str) -> list[dict]:
    response = client.get("/api/v2/data/query.json", {"q": q})
    assert response.status_code == 200, response.content[:300]
    return response.json()["msg"]


def test_morphology_features_are_one_record_per_reconstructed_cell(client):
    rows = _msg(client, SDK_MORPHOLOGY_FEATURES)
    assert len(rows) == 667
    assert len({row["specimen_id"] for row in rows}) == 667
    # The older tracings stay in the table (the morphology pages compare their SWC files) but are not served.
    assert NeuronReconstruction.objects.filter(superseded=True).count() == 68


def test_a_cells_reconstructions_are_its_current_tracing_only(client):
    # Specimen 476086391 has an older published tracing, 492413624, besides its current 706190753.
    q = (
        "model::Specimen,rma::criteria,[id$eq476086391],rma::include,neuron_reconstructions(well_known_files),"
        "rma::options[num_rows$eq'all']"
    )
    (specimen,) = _msg(client, q)
    assert [r["id"] for r in specimen["neuron_reconstructions"]] == [706190753]
    assert [f["id"] for f in specimen["neuron_reconstructions"][0]["well_known_files"]] == [706190755]
    assert _msg(client, "model::NeuronReconstruction,rma::criteria,[id$eq492413624]") == []
