"""What one RMA query may cost, on SQLite and on PostgreSQL alike: pattern filters are SQL patterns (no regular
expression to backtrack).
"""

import json
import time
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from celltypes.atlas.models import ApiCellTypesSpecimenDetail, Specimen
from celltypes.rma.patterns import glob_pattern, like_pattern

pytestmark = pytest.mark.django_db

CELLS = "model::ApiCellTypesSpecimenDetail"
COUNT_ONLY = "rma::options[num_rows$eq0]"


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


def test_text_values_with_a_nul_character_are_the_clients_error(client):
    """PostgreSQL cannot hold NUL in text; the same 400 on both databases, never a driver error."""
    assert "NUL" in refused(client, "model::Specimen,rma::criteria,[name$eq'a\x00b']")
    assert "NUL" in refused(client, "model::Specimen,rma::criteria,[name$il'*\x00*']")
