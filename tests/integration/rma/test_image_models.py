"""Allen's image models (SectionDataSet, SubImage, ProjectionImage) through the RMA API.

The demo set holds no image records, so the rows here are synthetic (factories), attached to real demo cells.
"""

import json
import xml.etree.ElementTree as ET

import pytest

from tests.factories import ProjectionImageFactory, SectionDataSetFactory, SubImageFactory

pytestmark = pytest.mark.django_db

CELL = 313862022
OTHER_CELL = 318556138
SUB_IMAGE_KEYS = {
    "id",
    "annotated",
    "axes",
    "bits_per_component",
    "data_set_id",
    "expression_path",
    "failed",
    "height",
    "image_height",
    "image_type",
    "image_width",
    "isi_experiment_id",
    "lims1_id",
    "number_of_components",
    "ophys_experiment_id",
    "path",
    "projection_path",
    "resolution",
    "section_number",
    "specimen_id",
    "structure_id",
    "tier_count",
    "width",
    "x",
    "y",
}


def query(client, q: str) -> dict:
    response = client.get("/api/v2/data/query.json", {"q": q})
    assert response.status_code == 200, response.content[:300]
    body = json.loads(response.content)
    assert body["success"] is True and body["num_rows"] == len(body["msg"])
    return body


def test_sub_images_of_a_cells_data_set(client):
    data_set = SectionDataSetFactory(specimen_id=CELL)
    planes = [SubImageFactory(data_set=data_set, section_number=n) for n in (3, 1, 2)]
    SubImageFactory(data_set=SectionDataSetFactory(specimen_id=OTHER_CELL))  # another cell's stack
    q = f"model::SubImage,rma::criteria,data_set[specimen_id$eq{CELL}]"
    body = query(client, f"{q},rma::options[num_rows$eqall][order$eq'section_number']")
    assert body["total_rows"] == 3
    assert [row["section_number"] for row in body["msg"]] == [1, 2, 3]
    assert [row["id"] for row in query(client, q)["msg"]] == sorted(p.id for p in planes)  # default order: id
    assert {row["id"] for row in body["msg"]} == {p.id for p in planes}
    assert set(body["msg"][0]) == SUB_IMAGE_KEYS
    assert body["msg"][0]["data_set_id"] == data_set.id and body["msg"][0]["image_type"] == "Primary"


def test_projection_images_of_a_cell_with_their_data_set(client):
    data_set = SectionDataSetFactory(specimen_id=CELL)
    mip = ProjectionImageFactory(specimen_id=CELL, data_set=data_set)
    ProjectionImageFactory(specimen_id=OTHER_CELL)
    body = query(client, f"model::ProjectionImage,rma::criteria,[specimen_id$eq{CELL}],rma::include,data_set,specimen")
    assert body["total_rows"] == 1
    row = body["msg"][0]
    assert row["id"] == mip.id and row["specimen_id"] == CELL and set(row) - {"data_set", "specimen"} == SUB_IMAGE_KEYS
    assert row["data_set"]["id"] == data_set.id and row["data_set"]["specimen_id"] == CELL
    assert row["specimen"]["id"] == CELL


def test_a_specimens_data_sets_include_their_sub_images(client):
    data_set = SectionDataSetFactory(specimen_id=CELL)
    SubImageFactory.create_batch(2, data_set=data_set)
    body = query(client, f"model::Specimen,rma::criteria,[id$eq{CELL}],rma::include,data_sets(sub_images)")
    (specimen,) = body["msg"]
    assert [d["id"] for d in specimen["data_sets"]] == [data_set.id]
    assert len(specimen["data_sets"][0]["sub_images"]) == 2


def test_image_models_describe_their_fields_and_associations(client):
    body = json.loads(client.get("/api/v2/data/SubImage.json").content)
    description = body["msg"][0]["DataDescription"]["SubImage"]
    assert description["table"] == "sub_images"
    assert {f["name"] for f in description["fields"]} == SUB_IMAGE_KEYS
    assert {a["name"]: a["class"] for a in description["associations"]} == {
        "data_set": "SectionDataSet",
        "specimen": "Specimen",
    }
    projection = json.loads(client.get("/api/v2/data/ProjectionImage.json").content)
    assert projection["msg"][0]["DataDescription"]["ProjectionImage"]["table"] == "projection_images"


def test_image_records_in_xml_and_csv(client):
    plane = SubImageFactory(data_set=SectionDataSetFactory(specimen_id=CELL), section_number=7)
    q = f"model::SubImage,rma::criteria,data_set[specimen_id$eq{CELL}]"
    xml = client.get("/api/v2/data/query.xml", {"q": q})
    assert xml.status_code == 200
    root = ET.fromstring(xml.content)
    assert root.get("total_rows") == "1"
    assert root.find("sub-images/sub-image/id").text == str(plane.id)
    assert root.find("sub-images/sub-image/section-number").text == "7"
    csv_text = client.get("/api/v2/data/query.csv", {"q": q}).content.decode()
    header, row = csv_text.splitlines()
    assert "section_number" in header.split(",") and str(plane.id) in row.split(",")


def test_section_image_is_the_sdks_name_for_the_planes_of_a_data_set(client):
    """ImageDownloadApi.section_image_query: model::SectionImage,rma::criteria,[data_set_id$eq<id>]."""
    data_set = SectionDataSetFactory(specimen_id=CELL)
    planes = SubImageFactory.create_batch(2, data_set=data_set)
    q = f"model::SectionImage,rma::criteria,[data_set_id$eq{data_set.id}]"
    body = query(client, f"{q},rma::options[num_rows$eqall]")
    assert [row["id"] for row in body["msg"]] == [p.id for p in planes] and set(body["msg"][0]) == SUB_IMAGE_KEYS
