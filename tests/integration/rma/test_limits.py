"""What one RMA query may cost, on SQLite and on PostgreSQL alike: pattern filters are SQL patterns (no regular
expression to backtrack), includes are loaded in batches within a row budget, every statement has a deadline, and
a fault of the server is a logged 5xx, never the client's 400.
"""

import json
import logging
import time
import xml.etree.ElementTree as ET

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from celltypes.atlas.models import ApiCellTypesSpecimenDetail, Specimen, WellKnownFile
from celltypes.rma import limits, response_cache, views
from celltypes.rma.limits import QueryTimeout
from celltypes.rma.patterns import glob_pattern, like_pattern

pytestmark = pytest.mark.django_db

CELLS = "model::ApiCellTypesSpecimenDetail"
COUNT_ONLY = "rma::options[num_rows$eq0]"


@pytest.fixture
def limit(settings):
    """Set one of the RMA_* limits for the test; answers cached under the old limit are dropped."""

    def set_limit(name: str, value) -> None:
        setattr(settings, name, value)
        response_cache.clear()

    return set_limit


def get(client, q: str, fmt: str = "json"):
    return client.get(f"/api/v2/data/query.{fmt}", {"q": q})


def answer(client, q: str) -> dict:
    response = get(client, q)
    assert response.status_code == 200, response.content[:300]
    return json.loads(response.content)


def refused(client, q: str, fmt: str = "json") -> str:
    response = get(client, q, fmt)
    assert response.status_code == 400, response.content[:300]
    if fmt == "xml":
        return ET.fromstring(response.content).findtext("msg")
    body = json.loads(response.content)
    assert body["success"] is False and body["total_rows"] == 0
    return body["msg"]


def total(client, q: str) -> int:
    return answer(client, f"{q},{COUNT_ONLY}")["total_rows"]


# ---- 1. pattern filters are SQL LIKE / GLOB, never a regular expression ----------------------------------------
def test_pattern_translation():
    assert like_pattern("*LIF*") == "%LIF%"
    assert like_pattern("a**b***") == "a%b%"  # runs of stars are one wildcard
    assert like_pattern("100%_x\\y*") == "100\\%\\_x\\\\y%"
    assert glob_pattern("*gridAnnotation.zip") == "*gridAnnotation.zip"
    assert glob_pattern("a?b[c]*d**") == "a[?]b[[]c]*d*"


def test_the_issues_patterns_are_cheap(client):
    """`[path$il'*****Q']` cost 1.8 s on one row as a regex and `******Q` held a worker for 30 s."""
    started = time.perf_counter()
    for stars in (5, 6, 40):
        assert total(client, f"model::WellKnownFile,rma::criteria,[path$il'{'*' * stars}Q']") == 0
    long_names = f"{CELLS},rma::criteria,[specimen__name$li'{'*a' * 60}*Q']"
    assert total(client, long_names) == 0
    assert time.perf_counter() - started < 5  # a few milliseconds each; generous for a loaded machine


def test_pattern_filters_run_as_like_or_glob_in_sql(client):
    with CaptureQueriesContext(connection) as run:
        total(client, f"{CELLS},rma::criteria,[specimen__name$il'pvalb*'][line_name$li'Pvalb*']")
    sql = " ".join(q["sql"] for q in run.captured_queries).upper()
    assert "REGEXP" not in sql and "~" not in sql
    assert " LIKE " in sql or " ILIKE " in sql
    assert (" GLOB " in sql) == (connection.vendor == "sqlite")


def test_like_wildcards_and_literals(client):
    pvalb = ApiCellTypesSpecimenDetail.objects.filter(specimen_name__startswith="Pvalb-IRES").count()
    assert pvalb == 217
    assert total(client, f"{CELLS},rma::criteria,[specimen__name$li'Pvalb-IRES*']") == pvalb
    assert total(client, f"{CELLS},rma::criteria,[specimen__name$li'PVALB-IRES*']") == 0  # $li is case-sensitive
    assert total(client, f"{CELLS},rma::criteria,[specimen__name$il'PVALB-IRES*']") == pvalb
    # `_`, `%`, `\`, `?` and `[` are literal characters, not wildcards.
    assert total(client, f"{CELLS},rma::criteria,[specimen__name$il'Pvalb_IRES*']") == 0
    assert total(client, f"{CELLS},rma::criteria,[specimen__name$li'Pvalb?IRES*']") == 0
    assert total(client, f"{CELLS},rma::criteria,[specimen__name$li'[P]valb*']") == 0
    assert total(client, f"{CELLS},rma::criteria,[line_name$il'%']") == 0
    assert total(client, f"{CELLS},rma::criteria,[line_name$il'*\\*']") == 0
    # Literal special characters match themselves: a specimen named with all of them.
    odd = Specimen.objects.get(id=318556138)
    odd.name = "a_b%c\\d?e[f]g"
    odd.save()
    for pattern in ("a_b%c\\d?e[f]g", "a_b*", "*%c*", "*\\d*", "*?e[f]*", "A_B%C\\D?E[F]G"):
        op = "il" if pattern.startswith("A") else "li"
        assert total(client, f"model::Specimen,rma::criteria,[name${op}'{pattern}']") == 1, pattern
    assert total(client, "model::Specimen,rma::criteria,[name$li'A_B*']") == 0


# ---- 2. includes: batched, and bounded in rows and bytes -----------------------------------------------------
def test_an_include_over_999_or_more_roots_works(client):
    """Django's prefetch of 1,000 roots failed on SQLite ("Expression tree is too large") and was reported as 400."""
    body = answer(client, "model::Specimen,rma::include,ephys_result,rma::options[num_rows$eq'all']")
    assert body["num_rows"] == 2335
    expected = dict(Specimen.objects.values_list("id", "ephys_result_id"))
    assert {row["id"]: row["ephys_result"]["id"] for row in body["msg"]} == expected
    tagged = answer(
        client, "model::Specimen,rma::include,specimen_tags,donor(transgenic_lines),rma::options[num_rows$eq2000]"
    )
    assert tagged["num_rows"] == 2000
    first = Specimen.objects.order_by("id").prefetch_related("specimen_tags", "donor__transgenic_lines")[:2000]
    for row, specimen in zip(tagged["msg"], first, strict=True):
        assert [t["id"] for t in row["specimen_tags"]] == [t.id for t in specimen.specimen_tags.all()]
        assert [t["id"] for t in row["donor"]["transgenic_lines"]] == [
            t.id for t in specimen.donor.transgenic_lines.all()
        ]


def test_include_fan_out_is_a_400_that_says_what_to_narrow(client):
    """The issue's query: each specimen's product lists every specimen of the product (millions of records)."""
    started = time.perf_counter()
    msg = refused(client, "model::Specimen,rma::include,products(specimens),rma::options[num_rows$eqall]")
    assert msg.startswith("the included associations hold more than 50000 rows (at 'products(specimens)')")
    assert "num_rows" in msg
    assert time.perf_counter() - started < 10
    # Fewer roots fit: two specimens of the 413-specimen human product.
    two = answer(client, "model::Specimen,rma::criteria,[id$in486940963,488386431],rma::include,products(specimens)")
    assert [len(row["products"][0]["specimens"]) for row in two["msg"]] == [413, 413]


def test_the_included_row_limit_is_exact(client, limit):
    q = "model::Specimen,rma::criteria,[id$eq318556138],rma::include,ephys_sweeps,specimen_tags"
    limit("RMA_MAX_INCLUDED_ROWS", 79 + 2)  # its sweeps and its tags
    assert len(answer(client, q)["msg"][0]["ephys_sweeps"]) == 79
    limit("RMA_MAX_INCLUDED_ROWS", 80)
    assert "more than 80 rows (at 'specimen_tags')" in refused(client, q)
    limit("RMA_MAX_INCLUDED_ROWS", 10)
    assert "more than 10 rows (at 'ephys_sweeps')" in refused(client, q, "xml")
    # Records repeated in the answer count each time they appear, also when loaded once.
    limit("RMA_MAX_INCLUDED_ROWS", 413 + 1)
    shared = "model::Specimen,rma::criteria,[id$in486940963,488386431],rma::include,products(specimens)"
    assert "(at 'products(specimens)')" in refused(client, shared)
    limit("RMA_MAX_INCLUDED_ROWS", 2 * (413 + 1))
    assert answer(client, shared)["num_rows"] == 2


def test_the_response_size_limit(client, limit):
    q = f"{CELLS},rma::options[num_rows$eq'all']"
    size = len(get(client, q).content)
    assert 3_900_000 < size < 4_100_000
    limit("RMA_MAX_RESPONSE_BYTES", size - 1)
    msg = refused(client, q)
    assert msg.startswith(f"the answer would be {size} bytes, more than this server sends at once ({size - 1})")
    assert "num_rows" in msg
    assert refused(client, q, "xml").startswith("the answer would be")  # XML is the bigger answer
    limit("RMA_MAX_RESPONSE_BYTES", 100)
    assert refused(client, q.replace("'all'", "3"), "csv").startswith("the answer would be")
    limit("RMA_MAX_RESPONSE_BYTES", size)
    assert len(get(client, q).content) == size


# ---- 3. every query has a deadline --------------------------------------------------------------------------
def slow_statement() -> str:
    """SQL that runs for minutes unless stopped."""
    if connection.vendor == "postgresql":
        return "SELECT pg_sleep(120)"
    return "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000000) SELECT max(i) FROM n"


def test_a_slow_statement_is_stopped_at_the_deadline():
    started = time.perf_counter()
    with (  # noqa: PT012  the statement and its fetch run under the deadline together
        pytest.raises(QueryTimeout, match=r"ran longer than this server allows \(0.3 s\)"),
        limits.deadline(0.3),
        connection.cursor() as cursor,
    ):
        cursor.execute(slow_statement())
        cursor.fetchall()
    assert time.perf_counter() - started < 3
    # The connection is as it was: no handler left behind, no short statement_timeout, the transaction usable.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM specimens")
        assert cursor.fetchone() == (2335,)
        if connection.vendor == "postgresql":
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone() == ("0",)


def test_no_statement_starts_after_the_deadline():
    with pytest.raises(QueryTimeout), limits.deadline(0.05):  # noqa: PT012  the sleep passes the deadline
        time.sleep(0.1)
        list(Specimen.objects.all()[:1])


def test_a_query_past_the_deadline_is_a_400_envelope(client, limit):
    limit("RMA_QUERY_TIMEOUT_SECONDS", 0.000_001)
    q = f"{CELLS},rma::criteria,[specimen__name$il'*a*'],rma::options[num_rows$eq'all']"
    assert refused(client, q).startswith("the query ran longer than this server allows (1e-06 s)")
    assert "ran longer" in refused(client, q, "xml")
    limit("RMA_QUERY_TIMEOUT_SECONDS", 10)
    assert answer(client, q)["total_rows"] > 0


# ---- 4. a fault of the server is a 5xx envelope, logged -------------------------------------------------------
@pytest.mark.parametrize("fmt", ["json", "xml", "csv"])
def test_a_database_fault_is_a_logged_500_envelope(client, monkeypatch, caplog, fmt):
    def broken(*args, **kwargs):
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(views, "run_query", broken)
    with caplog.at_level(logging.ERROR, logger="celltypes.rma.views"):
        response = get(client, "model::Organism", fmt)
    assert response.status_code == 500
    if fmt == "xml":
        root = ET.fromstring(response.content)
        assert root.get("success") == "false" and "not the query's" in root.findtext("msg")
    else:
        body = json.loads(response.content)
        assert body == {**body, "success": False, "num_rows": 0, "total_rows": 0}
        assert body["msg"] == views.SERVER_FAULT
    (record,) = [r for r in caplog.records if r.name == "celltypes.rma.views"]
    assert "model::Organism" in record.getMessage() and record.exc_info[0] is OperationalError
    # A fault is not cached: the next identical request is answered afresh.
    monkeypatch.undo()
    assert get(client, "model::Organism", fmt).status_code == 200


def test_a_bug_is_a_500_envelope_too(client, monkeypatch):
    monkeypatch.setattr(views, "run_query", lambda *a, **k: 1 / 0)
    response = get(client, "model::Organism")
    assert response.status_code == 500 and json.loads(response.content)["msg"] == views.SERVER_FAULT


def test_text_values_with_a_nul_character_are_the_clients_error(client):
    """PostgreSQL cannot hold NUL in text; the same 400 on both databases, never a driver error."""
    assert "NUL" in refused(client, "model::Specimen,rma::criteria,[name$eq'a\x00b']")
    assert "NUL" in refused(client, "model::Specimen,rma::criteria,[name$il'*\x00*']")


def test_well_known_file_counts_are_unchanged_by_batching(client):
    body = answer(
        client, "model::EphysResult,rma::include,well_known_files(well_known_file_type),rma::options[num_rows$eq'all']"
    )
    files = sum(len(row["well_known_files"]) for row in body["msg"])
    assert files == WellKnownFile.objects.filter(ephys_result__isnull=False).count()
