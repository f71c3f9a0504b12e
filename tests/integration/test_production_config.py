"""The production path: settings refuse to start on the public key or a wildcard host, `check --deploy` is clean
with the environment the Dockerfile sets, every page carries a Content-Security-Policy its markup obeys, admin
logins are throttled, and `debug$eqtrue` shows no SQL outside DEBUG."""

import base64
import hashlib
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User

REPO = Path(__file__).resolve().parents[2]


def dockerfile_env() -> dict[str, str]:
    """The `ENV KEY=value` pairs of the Dockerfile (the production environment of the image)."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    pairs = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            pairs.update(dict(re.findall(r"(\w+)=(\S+)", line)))
    return pairs


def manage(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELLTYPES_ENV"))}
    environment = {
        **base,
        **env,
        "CELLTYPES_DATA_DIR": str(tmp_path / "data"),  # the image's paths are not this machine's
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    return subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *args],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_dockerfile_runs_in_production():
    assert dockerfile_env()["CELLTYPES_ENV"] == "production"


def test_check_deploy_is_clean_with_the_dockerfiles_environment(tmp_path):
    production = {k: v for k, v in dockerfile_env().items() if k.startswith(("CELLTYPES_ENV", "DJANGO_DEBUG"))}
    done = manage(
        ["check", "--deploy", "--fail-level", "WARNING"],
        tmp_path,
        **production,
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="celltypes.example.org",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


@pytest.mark.parametrize(
    ("env", "refusal"),
    [
        ({"DJANGO_ALLOWED_HOSTS": "celltypes.example.org"}, "DJANGO_SECRET_KEY is not set"),
        (
            {"DJANGO_ALLOWED_HOSTS": "celltypes.example.org", "DJANGO_SECRET_KEY": "celltypes-dev-only-not-secret"},
            "DJANGO_SECRET_KEY is not set",
        ),
        ({"DJANGO_SECRET_KEY": "k" * 60}, "DJANGO_ALLOWED_HOSTS does not name"),
        ({"DJANGO_SECRET_KEY": "k" * 60, "DJANGO_ALLOWED_HOSTS": "*"}, "wildcard"),
        ({"DJANGO_SECRET_KEY": "k" * 60, "DJANGO_ALLOWED_HOSTS": "a.org", "DJANGO_DEBUG": "true"}, "DEBUG is on"),
    ],
)
def test_production_refuses_to_start_unsafely(tmp_path, env, refusal):
    done = manage(["check"], tmp_path, CELLTYPES_ENV="production", **env)
    assert done.returncode != 0
    assert "will not start in production" in done.stderr and refusal in done.stderr


def test_development_needs_no_environment(tmp_path):
    done = manage(["check"], tmp_path)
    assert done.returncode == 0, done.stderr


PAGES = [
    "/",
    "/cells/",
    "/cells/?species=mouse",
    "/cell/313862022/",
    "/cell/313862022/morphology/",
    "/cell/313862022/ephys/",
    "/health",
    "/sync/",
    "/admin/login/",
    "/no-such-page/",
    "/api/v2/data/query.json?q=model::Specimen,rma::options[num_rows$eq1]",
]


def _hashes(policy: str) -> set[str]:
    return set(re.findall(r"'sha256-([A-Za-z0-9+/=]+)'", policy))


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_every_page_has_a_csp_that_its_markup_obeys(client, url):
    response = client.get(url, HTTP_ACCEPT="text/html")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src 'self' 'unsafe-inline'" not in policy
    if url.startswith("/cells/"):  # the one page with a WebGL plot (parallel coordinates): eval for plotly's regl
        assert policy == settings.CONTENT_SECURITY_POLICY_WEBGL
    else:
        assert "'unsafe-eval'" not in policy
    if "text/html" not in response["Content-Type"]:
        return
    html = response.content.decode()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, f"inline script on {url}: {tag}"
    for handler in re.findall(r"\son[a-z]+=\"([^\"]*)\"", html):
        digest = base64.b64encode(hashlib.sha256(handler.encode()).digest()).decode()
        assert digest in _hashes(policy), f"inline handler {handler!r} on {url} is not allowed by the policy"
    for src in re.findall(r"<script\b[^>]*\bsrc=\"([^\"]+)\"", html):
        assert src.startswith("/"), f"a script from another site on {url}: {src}"


@pytest.mark.django_db
def test_the_search_cards_thumbnail_handler_is_allowed(client):
    """The one inline handler in the templates (the card thumbnail's onerror) is the hash the policy names."""
    template = (REPO / "templates/morphology/preview_card.html").read_text()
    handlers = re.findall(r"\son[a-z]+=\"([^\"]*)\"", template)
    policy_hashes = _hashes(settings.CONTENT_SECURITY_POLICY)
    for handler in handlers:
        assert base64.b64encode(hashlib.sha256(handler.encode()).digest()).decode() in policy_hashes


@pytest.mark.django_db
def test_admin_logins_are_throttled_per_address(client, settings):
    from django.core.cache import cache

    cache.clear()
    User.objects.create_user("curator", password="right-password", is_staff=True)
    url = "/admin/login/?next=/admin/"
    for _ in range(settings.CELLTYPES_ADMIN_LOGIN_FAILURES):
        assert client.post(url, {"username": "curator", "password": "wrong"}).status_code == 200
    refused = client.post(url, {"username": "curator", "password": "right-password"})
    assert refused.status_code == 429 and refused["Retry-After"] == str(settings.CELLTYPES_ADMIN_LOGIN_WINDOW)
    other = client.post(url, {"username": "curator", "password": "right-password"}, REMOTE_ADDR="10.0.0.2")
    assert other.status_code == 302  # another address is not locked out
    client.logout()
    assert client.get(url).status_code == 200  # the form itself still shows
    cache.clear()


@pytest.mark.django_db
def test_debug_shows_sql_only_in_debug(client, settings):
    url = "/api/v2/data/query.json?q=model::Specimen,rma::criteria,[id$eq313862022],rma::options[debug$eqtrue]"
    public = client.get(url).json()["debug"]
    assert "Specimen" in public["query"] and "sql" not in public
    settings.DEBUG = True
    from celltypes.rma import response_cache

    response_cache.clear()
    assert "SELECT" in client.get(url).json()["debug"]["sql"]
