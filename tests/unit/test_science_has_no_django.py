"""celltypes.science must stay importable without Django (style anchors, habit 3).

``celltypes/__init__.py`` imports the Celery app, and ``from celery import Celery`` itself pulls in
``django`` when it is installed, so a plain ``import celltypes.science.swc`` would always see Django.
The check therefore registers a bare ``celltypes`` package (no ``__init__`` code run) in a fresh
interpreter, imports every module under ``celltypes/science``, and lists what Django modules appeared.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHECK = """
import importlib, json, pkgutil, sys, types
repo = sys.argv[1]
package = types.ModuleType("celltypes")
package.__path__ = [repo + "/celltypes"]
sys.modules["celltypes"] = package
science = importlib.import_module("celltypes.science")
names = ["celltypes.science"]
for info in pkgutil.walk_packages(science.__path__, "celltypes.science."):
    importlib.import_module(info.name)
    names.append(info.name)
django = sorted(m for m in sys.modules if m == "django" or m.startswith("django."))
print(json.dumps({"imported": names, "django": django}))
"""


def _run(code: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code, str(REPO)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_science_modules_import_without_django():
    result = _run(CHECK)
    assert {
        "celltypes.science.swc",
        "celltypes.science.morphology",
        "celltypes.science.morphology_views",
    } <= set(result["imported"])
    assert result["django"] == [], f"celltypes.science pulled in {result['django'][:5]}"


def test_the_check_would_see_django_through_the_package_init():
    """Guards the stub: importing through celltypes/__init__.py does load Django (via Celery)."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import celltypes.science; "
        "print(json.dumps({'django': 'django' in sys.modules}))"
    )
    assert _run(code)["django"] is True


def test_sync_client_and_mapping_import_without_django():
    code = CHECK.replace(
        'science = importlib.import_module("celltypes.science")',
        'science = importlib.import_module("celltypes.science")\n'
        'importlib.import_module("celltypes.sync.client"); importlib.import_module("celltypes.sync.mapping")',
    )
    assert code != CHECK
    result = _run(code)
    assert result["django"] == [], f"celltypes.sync.client/mapping pulled in {result['django'][:5]}"


def test_science_names_no_file_of_the_django_apps():
    """The science core takes its paths as arguments: no module names an app's folder (e.g. atlas/demo_data)."""
    science = REPO / "celltypes" / "science"
    pattern = re.compile(r"demo_data|\batlas\b")
    offenders = {
        str(path.relative_to(REPO)): match.group(0)
        for path in sorted(science.rglob("*.py"))
        if (match := pattern.search(path.read_text(encoding="utf-8")))
    }
    assert len(list(science.rglob("*.py"))) > 10
    assert offenders == {}
