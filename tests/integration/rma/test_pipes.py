"""pipe::list: a model stage's attribute values bound to `$var` for the stages after it (protocol notes §4)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from celltypes.atlas.models import Specimen, Structure
from celltypes.rma.schema import MODELS, model_named

pytestmark = pytest.mark.django_db


def _get(client, q: str):
    response = client.get("/api/v2/data/query.json", {"q": q})
    return response.status_code, response.json()


def test_structure_ids_piped_into_a_specimen_criteria(client):
    status, body = _get(
        client,
        "model::Structure,rma::criteria,[acronym$in'VISp4','VISp5'],pipe::list[xs$eq'id'],"
        "model::Specimen,rma::criteria,[structure_id$in$xs],rma::options[num_rows$eq'all'][only$eqid,structure_id]",
    )
    expected = Specimen.objects.filter(structure__acronym__in=["VISp4", "VISp5"])
    assert status == 200 and body["success"] is True
    assert body["total_rows"] == expected.count() > 400
    assert sorted(row["id"] for row in body["msg"]) == sorted(expected.values_list("id", flat=True))
    assert {row["structure_id"] for row in body["msg"]} == set(
        Structure.objects.filter(acronym__in=["VISp4", "VISp5"]).values_list("id", flat=True)
    )


def test_piped_strings_and_piped_into_an_association_filter(client):
    status, body = _get(
        client,
        "model::Structure,rma::criteria,[acronym$eq'VISp4'],pipe::list[xs$eq'acronym'],"
        "model::Specimen,rma::criteria,structure[acronym$in$xs],rma::options[num_rows$eq1][count$eqtrue]",
    )
    assert status == 200
    assert body["total_rows"] == Specimen.objects.filter(structure__acronym="VISp4").count()
    status, body = _get(
        client,
        "model::Structure,rma::criteria,[acronym$eq'no such area'],pipe::list[xs$eq'id'],"
        "model::Specimen,rma::criteria,[structure_id$in$xs]",
    )
    assert (status, body["total_rows"], body["msg"]) == (200, 0, [])


@pytest.mark.parametrize(
    ("q", "message"),
    [
        (
            "model::Structure,pipe::list[xs$eq'nope'],model::Specimen,rma::criteria,[structure_id$in$xs]",
            "pipe::list: the stage before it has no attribute 'nope'",
        ),
        ("model::Specimen,rma::criteria,[structure_id$in$zz]", "pipe variable $zz is not bound"),
        (
            "model::Structure,rma::criteria,[acronym$in'VISp4','VISp5'],pipe::list[xs$eq'id'],"
            "model::Specimen,rma::criteria,[structure_id$eq$xs]",
            "holding 2 values needs $in, not $eq",
        ),
        ("model::Structure,pipe::sort[xs$eq'id'],model::Specimen", "unknown pipe 'pipe::sort'"),
        ("pipe::list[xs$eq'id'],model::Specimen", "pipe:: needs a model:: stage before it"),
        ("model::Specimen,pipe::list[xs$eq'id']", "a query ends with a model:: stage"),
        ("service::text_search[query_string$eqfoo]", "service::text_search is not offered here"),
    ],
)
def test_pipe_misuse_is_a_400_that_says_what(client, q, message):
    status, body = _get(client, q)
    assert status == 400 and body["success"] is False
    assert message in body["msg"]


@st.composite
def pipelines(draw) -> str:
    names = sorted(MODELS)
    first, second = draw(st.sampled_from(names)), draw(st.sampled_from(names))
    piped = draw(st.sampled_from(sorted(model_named(first).attributes)))
    target = draw(st.sampled_from(sorted(model_named(second).attributes)))
    op = draw(st.sampled_from(["in", "eq", "ne", "lt", "li", "il", "nonnull"]))
    rows = draw(st.sampled_from(["1", "5", "'all'"]))
    return (
        f"model::{first},rma::options[num_rows$eq{rows}],pipe::list[v$eq'{piped}'],"
        f"model::{second},rma::criteria,[{target}${op}$v]"
    )


@pytest.mark.django_db
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=pipelines())
def test_random_pipelines_answer_200_or_400(client, q):
    """Client input: 200 or 400, never a 5xx (a fault of the server)."""
    response = client.get("/api/v2/data/query.json", {"q": q})
    assert response.status_code in (200, 400), (q, response.status_code, response.content[:300])
    assert response.json()["success"] is (response.status_code == 200)
