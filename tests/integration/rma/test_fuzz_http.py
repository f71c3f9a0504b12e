"""Random and mutated RMA queries over HTTP (Django test client, demo data): only 200 or 400, never a 500, and every
400 carries Allen's error envelope naming the problem.

Mutations start from the AllenSDK's real query strings (protocol notes §2); structured queries are built from the
schema whitelist (real model, attribute and association names mixed with made-up ones).
"""

import json
import logging
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from celltypes.rma.schema import schema

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=False,
)

SDK_QUERIES = [
    "model::ApiCellTypesSpecimenDetail,rma::options[num_rows$eq'all']",
    "model::ApiCellTypesSpecimenDetail,rma::criteria,[specimen__id$eq313862022],rma::options[num_rows$eq'all']",
    "model::EphysSweep,rma::criteria,[specimen_id$eq318556138],rma::options[num_rows$eq'all']",
    "model::EphysFeature,rma::criteria,specimen(ephys_result[failed$eqfalse]),rma::options[num_rows$eq'all']",
    "model::NeuronReconstruction,rma::criteria,specimen(ephys_result[failed$eqfalse]),"
    "rma::options[except$eqt,a,g,s][num_rows$eq'all']",
    "model::Specimen,rma::criteria,[id$eq9660916436],ephys_result(well_known_files(well_known_file_type"
    "[name$eqNWBDownload])),rma::include,ephys_result(well_known_files(well_known_file_type)),"
    "rma::options[num_rows$eq'all']",
    "model::Specimen,rma::criteria,[id$eq464198958],neuron_reconstructions(well_known_files),rma::include,"
    "neuron_reconstructions(well_known_files(well_known_file_type[name$eq'3DNeuronReconstruction'])),"
    "rma::options[num_rows$eq'all']",
    "model::NeuronalModelTemplate,rma::options[num_rows$eq'all'][count$eqfalse]",
    "model::Specimen,rma::criteria,[id$in318556138],rma::include,neuronal_models(well_known_files,"
    "neuronal_model_template[id$in395310498,395310469,395310475,395310479,471355161],"
    "neuronal_model_runs(well_known_files)),rma::options[num_rows$eq'all'][count$eqfalse]",
    "model::NeuronalModel,rma::criteria,[id$in566282032],rma::include,well_known_files(well_known_file_type),"
    "rma::options[num_rows$eq'all'][count$eqfalse]",
    "model::NeuronalModel,rma::criteria,[neuronal_model_template_id$in491455321,329230710],"
    "[specimen_id$in485574832],rma::options[num_rows$eq'all'][count$eqfalse]",
    "model::NeuronalModel,rma::criteria,[id$eq497232312],neuronal_model_template(well_known_files("
    "well_known_file_type)),specimen(ephys_result(well_known_files(well_known_file_type)),neuron_reconstructions("
    "well_known_files(well_known_file_type)),ephys_sweeps),well_known_files(well_known_file_type),rma::include,"
    "neuronal_model_template(well_known_files(well_known_file_type)),specimen(ephys_result(well_known_files("
    "well_known_file_type)),neuron_reconstructions(well_known_files(well_known_file_type)),ephys_sweeps),"
    "well_known_files(well_known_file_type)",
    "model::NeuronalModel,rma::include,specimen(ephys_result[failed$eqfalse]),"
    "neuronal_model_template[name$il'*LIF*'],rma::options[num_rows$eq'all']",
    "model::Specimen,rma::criteria,[id$eq318556138],rma::include,donor(organism),"
    "rma::options[only$eqid,name][num_rows$eq10][start_row$eq0][order$eq'name'][count$eqfalse]",
    "model::EphysSweep,rma::criteria,[specimen_id$eq318556138],"
    "rma::options[tabular$eq'distinct ephys_sweeps.stimulus_name as stim','ephys_sweeps.id'][order$eq'id desc']",
    "model::EphysSweep,rma::criteria,[specimen_id$eq318556138],rma::options[num_rows$eq10][start_row$eq20]"
    "[count$eqfalse]",
]

RMA_ALPHABET = "[](),'$:+. *_=-\n" + "abcdeilmnoqrstx" + "0129"
WORDS = [
    "model::",
    "rma::criteria",
    "rma::include",
    "rma::options",
    "service::",
    "pipe::list",
    "[",
    "]",
    "(",
    ")",
    ",",
    "'",
    "$eq",
    "$ne",
    "$in",
    "$il",
    "$li",
    "$gt",
    "$lt",
    "$is",
    "$xx",
    "$nonnull",
    "$null",
    "'*****Q'",
    "products(specimens)",
    "null",
    "true",
    "false",
    "'all'",
    "all",
    "-1",
    "1e400",
    "99999999999999999999",
    "0.5",
    "*",
    " as ",
    "distinct ",
    " desc",
    "+",
    "num_rows",
    "start_row",
    "order",
    "only",
    "except",
    "tabular",
    "count",
    "debug",
    "'preview'",
    "specimen",
    "specimens",
    "donor",
    "well_known_files",
    "id",
    "name",
    "specimen__id",
    "specimens.id",
    "genes.id",
    "\x00",
    "é",
    "%",
    "\\",
]
FORMATS = st.sampled_from(["json", "json", "json", "xml", "csv"])


def check(response, fmt: str = "json") -> None:
    """Client input gets 200 or 400 only: a 5xx is a fault of the server (logged), never the answer to a query, however
    odd. A 400 is Allen's error envelope; a 200 parses in its format."""
    assert response.status_code < 500, ("server fault", response.status_code, response.content[:300])
    assert response.status_code in (200, 400), (response.status_code, response.content[:300])
    if response.status_code == 400:
        if fmt == "xml":
            root = ET.fromstring(response.content)
            assert root.tag == "Response" and root.get("success") == "false"
            assert root.findtext("msg")
            return
        body = json.loads(response.content)
        assert set(body) == {"success", "id", "start_row", "num_rows", "total_rows", "msg"}
        assert body["success"] is False and isinstance(body["msg"], str) and body["msg"]
        return
    if fmt == "json":
        body = json.loads(response.content)
        assert body["success"] is True and body["num_rows"] == len(body["msg"]) <= 25_000
        assert body["total_rows"] >= body["start_row"] + body["num_rows"] or body["num_rows"] == 0
    elif fmt == "xml":
        assert ET.fromstring(response.content).get("success") == "true"
    else:
        response.content.decode()


def query(client, q: str, fmt: str = "json", **params):
    response = client.get(f"/api/v2/data/query.{fmt}", {"q": q, **params})
    check(response, fmt)
    return response


# ---- strategies ---------------------------------------------------------------------------------------------
@st.composite
def mutated(draw) -> str:
    text = draw(st.sampled_from(SDK_QUERIES))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "insert", "word", "replace", "duplicate", "swap", "truncate"]))
        at = draw(st.integers(0, len(text)))
        if kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 12)) :]
        elif kind == "insert":
            text = text[:at] + draw(st.text(RMA_ALPHABET, min_size=1, max_size=6)) + text[at:]
        elif kind == "word":
            text = text[:at] + draw(st.sampled_from(WORDS)) + text[at:]
        elif kind == "replace" and text:
            at = min(at, len(text) - 1)
            text = text[:at] + draw(st.sampled_from(RMA_ALPHABET)) + text[at + 1 :]
        elif kind == "duplicate":
            end = draw(st.integers(at, min(len(text), at + 40)))
            text = text[:end] + text[at:end] + text[end:]
        elif kind == "swap":
            parts = text.split(",")
            i, j = draw(st.integers(0, len(parts) - 1)), draw(st.integers(0, len(parts) - 1))
            parts[i], parts[j] = parts[j], parts[i]
            text = ",".join(parts)
        else:
            text = text[:at]
    return text


MODELS = sorted(schema())
NAME = st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True)
NUMBER = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0", "1", "318556138", "313862022", "9660916436", "1.5", "-0", ".5", "1e3"]),
)
WORD = st.one_of(
    NUMBER,
    st.sampled_from(["null", "true", "false", "spiny", "'Homo Sapiens'", "'*LIF*'", "'*'", "''", "'null'", "all"]),
    st.sampled_from(["'*****Q'", "'%_\\'", "'a_b%'"]),  # pattern wildcards and SQL LIKE's own special characters
    st.text(st.characters(blacklist_characters="[],'", blacklist_categories=("Cs",)), min_size=1, max_size=8),
    st.text(st.characters(blacklist_characters="'", blacklist_categories=("Cs",)), max_size=8).map(lambda t: f"'{t}'"),
)
OPS = st.sampled_from(
    ["$eq", "$ne", "$lt", "$le", "$gt", "$ge", "$in", "$li", "$il", "$is", "$xx", "", "$nonnull", "$null"]
)


@st.composite
def a_filter(draw, model: str | None) -> str:
    names = list(schema()[model].attributes) if model in schema() else []
    attr = draw(st.one_of(st.sampled_from(names), NAME) if names else NAME)
    if draw(st.booleans()) and model in schema():
        table = draw(st.one_of(st.just(schema()[model].table), st.sampled_from([m.table for m in schema().values()])))
        attr = f"{table}.{attr}"
    op = draw(OPS)
    if not op or (op in ("$nonnull", "$null") and draw(st.integers(0, 3)) > 0):
        return f"[{attr}{op}]"
    values = draw(st.lists(WORD, min_size=1, max_size=3 if op == "$in" else 1))
    return f"[{attr}{op}{','.join(values)}]"


@st.composite
def a_path(draw, model: str | None, depth: int = 0) -> str:
    associations = list(schema()[model].associations.values()) if model in schema() else []
    if associations and draw(st.integers(0, 9)) > 0:
        association = draw(st.sampled_from(associations))
        name, target = association.name, association.target
    else:
        name, target = draw(NAME), None
    out = name + "".join(draw(st.lists(a_filter(target), max_size=2)))
    if depth < 3 and draw(st.booleans()):
        children = draw(st.lists(a_path(target, depth + 1), min_size=1, max_size=2))
        out += f"({','.join(children)})"
    return out


@st.composite
def an_option(draw, model: str | None) -> str:
    name = draw(st.sampled_from(["num_rows", "start_row", "order", "only", "except", "tabular", "count", "debug"]))
    attrs = list(schema()[model].attributes) if model in schema() else ["id"]
    column = st.one_of(st.sampled_from(attrs), NAME, st.sampled_from([f"{m.table}.id" for m in schema().values()]))
    value = {
        "num_rows": st.one_of(st.integers(-2, 60).map(str), st.sampled_from(["'all'", "all", "x", "1.5", "10" * 10])),
        "start_row": st.one_of(st.integers(-2, 3000).map(str), st.sampled_from(["'0'", "x", "9" * 18, "9" * 19])),
        "order": st.lists(
            st.tuples(column, st.sampled_from(["", " desc", "+asc", "$desc", " sideways"])).map("".join),
            min_size=1,
            max_size=3,
        ).map(lambda items: ",".join(f"'{i}'" for i in items)),
        "only": st.lists(column, min_size=1, max_size=4).map(",".join),
        "except": st.lists(column, min_size=1, max_size=4).map(",".join),
        "tabular": st.lists(
            st.tuples(st.sampled_from(["", "distinct "]), column, st.sampled_from(["", " as x", "+as+y", " as 1"])).map(
                "".join
            ),
            min_size=1,
            max_size=3,
        ).map(lambda items: ",".join(f"'{i}'" for i in items)),
        "count": st.sampled_from(["true", "false", "'false'", "maybe"]),
        "debug": st.sampled_from(["true", "false", "'preview'", "x"]),
    }[name]
    return f"[{name}$eq{draw(value)}]"


@st.composite
def structured(draw) -> str:
    model = draw(st.one_of(st.sampled_from(MODELS), st.sampled_from(MODELS).map(str.lower), NAME))
    known = model if model in schema() else None
    out = [f"model::{model}" + "".join(draw(st.lists(a_filter(known), max_size=2)))]
    for clause in draw(st.lists(st.sampled_from(["criteria", "include", "options"]), max_size=4)):
        if clause == "options":
            out.append("rma::options" + "".join(draw(st.lists(an_option(known), min_size=1, max_size=3))))
        else:
            items = draw(st.lists(st.one_of(a_path(known), a_filter(known)), min_size=1, max_size=3))
            out.append(f"rma::{clause}," + ",".join(items))
    return ",".join(out)


# ---- tests --------------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _quiet_bad_requests():
    """Thousands of expected 400s would each log a 'Bad Request' warning."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.mark.parametrize("q", SDK_QUERIES)
def test_sdk_queries_answer(client, q):
    response = query(client, q)
    assert response.status_code == 200, response.content[:300]


@FUZZ
@given(q=mutated(), fmt=FORMATS)
def test_mutated_sdk_queries(client, q, fmt):
    query(client, q, fmt)


@settings(FUZZ, max_examples=1200)
@given(q=structured(), fmt=FORMATS)
def test_structured_random_queries(client, q, fmt):
    query(client, q, fmt)


@FUZZ
@given(q=st.text(RMA_ALPHABET, max_size=80).map(lambda t: "model::" + t) | st.text(max_size=60))
def test_random_text(client, q):
    query(client, q)


@settings(FUZZ, max_examples=300)
@given(
    model=st.one_of(st.sampled_from(MODELS), NAME),
    params=st.dictionaries(
        st.sampled_from(
            ["criteria", "include", "num_rows", "start_row", "order", "only", "except", "tabular", "count"]
        ),
        st.one_of(st.text(RMA_ALPHABET, max_size=30), st.sampled_from(["all", "0", "5", "id", "[id$eq1]", "donor"])),
        max_size=4,
    ),
    fmt=FORMATS,
)
def test_legacy_model_route(client, model, params, fmt):
    response = client.get(f"/api/v2/data/{model}/query.{fmt}", params)
    check(response, fmt)


@settings(FUZZ, max_examples=200)
@given(
    model=st.one_of(st.sampled_from(MODELS), NAME),
    pk=st.integers(0, 10**18 - 1),
    include=st.one_of(st.none(), a_path("Specimen"), st.text(RMA_ALPHABET, max_size=20)),
    fmt=FORMATS,
)
def test_single_record_route(client, model, pk, include, fmt):
    response = client.get(f"/api/v2/data/{model}/{pk}.{fmt}", {} if include is None else {"include": include})
    check(response, fmt)


@settings(FUZZ, max_examples=300)
@given(
    q=st.sampled_from(SDK_QUERIES),
    params=st.dictionaries(
        st.sampled_from(["num_rows", "start_row", "order", "only", "except", "tabular", "count", "debug", "filename"]),
        st.one_of(st.text(RMA_ALPHABET, max_size=20), st.sampled_from(["all", "0", "5", "id desc", "true", "a.csv"])),
        max_size=3,
    ),
)
def test_url_options_on_sdk_queries(client, q, params):
    response = query(client, q, **params)
    if response.status_code == 200 and params.get("filename"):
        assert re.fullmatch(r'attachment; filename="[A-Za-z0-9._-]*"', response["Content-Disposition"])


def test_deep_association_paths_do_not_multiply_rows(client):
    """Each level is a semi-join: a path that goes back and forth between donors and specimens stays cheap."""
    import time

    started = time.perf_counter()
    path = "specimens(donor(" * 6 + "specimens" + "))" * 6
    body = json.loads(query(client, f"model::Donor,rma::criteria,{path},rma::options[num_rows$eq0]").content)
    assert body["total_rows"] == 962
    assert time.perf_counter() - started < 5
    deeper = "specimens(donor(" * 8 + "specimens" + "))" * 8
    response = client.get("/api/v2/data/query.json", {"q": f"model::Donor,rma::criteria,{deeper}"})
    assert response.status_code == 400
    assert "association path too deep at 'specimens' (at most 8 to-many steps)" in json.loads(response.content)["msg"]
