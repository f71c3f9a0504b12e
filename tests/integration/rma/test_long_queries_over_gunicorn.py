"""A long query reaches the app through gunicorn and is answered with Allen's envelope, not gunicorn's HTML 400:
the server's request-line limit (gunicorn.conf.py) holds a query at the RMA parser's own limit."""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from celltypes.rma.parser import MAX_LENGTH
from tests.support.demo_server import REPO, demo_env, free_port


@pytest.fixture(scope="module")
def gunicorn_url(tmp_path_factory):
    root = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    log = (root / "gunicorn.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "celltypes.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1"],
        cwd=REPO,
        env=demo_env(root),  # an empty database: these queries are answered before any table is read
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/api/v2/data/query.json?q=x", timeout=2)
            except urllib.error.HTTPError:
                break  # answered (400): up
            except OSError:
                if proc.poll() is not None:
                    pytest.fail((root / "gunicorn.log").read_text())
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def ask(url: str, query: str) -> tuple[int, str, str]:
    request_url = f"{url}/api/v2/data/query.json?q={urllib.parse.quote(query, safe='')}"
    try:
        with urllib.request.urlopen(request_url, timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


def test_a_query_longer_than_gunicorns_default_line_reaches_the_parser(gunicorn_url):
    ids = ",".join(str(n) for n in range(1, 2500))
    query = f"model::Specimen,rma::criteria,[id$in{ids},["  # a long query with a syntax error at its very end
    assert 8190 < len(urllib.parse.quote(query, safe="")) < 3 * MAX_LENGTH
    status, content_type, body = ask(gunicorn_url, query)
    assert (status, content_type) == (400, "application/json"), body[:300]
    assert json.loads(body)["msg"] == f"unexpected '[', expected a value at character {len(query) - 1}"


def test_a_query_over_the_parsers_limit_gets_the_parsers_envelope_even_fully_encoded(gunicorn_url):
    query = "[" * (MAX_LENGTH + 1)  # every character percent-encoded: 3 bytes each on the request line
    status, content_type, body = ask(gunicorn_url, query)
    assert (status, content_type) == (400, "application/json"), body[:300]
    assert json.loads(body)["msg"].startswith(f"query too long ({MAX_LENGTH + 1} characters, at most {MAX_LENGTH})")
