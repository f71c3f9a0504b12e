"""Server time of the cell search page: 3 active facets with every facet count, and 3 facets + 2 numeric ranges with
every facet count and both ranges' histograms, at 2,333 and at 100,000 cells; and the size of the
parallel-coordinates payload (all cells, Allen's 16 axes).

    .venv/bin/python benchmarks/bench_search.py [--runs 30] [--cells 100000] [--keep DIR]

Builds a throwaway SQLite file with the demo set (migrate + load_demo), a second one with the cell table grown to
--cells rows by replicating the demo rows with new ids and perturbed features, then times each page with Django's
test client in a child process per database (median of --runs after warm-up) and counts its SQL queries.
Goals: < 50 ms at 2,333 cells, < 200 ms at 100,000 (both goal pages); parallel-coordinates payload < 1 MB at 2,333.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.support.demo_server import build_demo_database, demo_env  # noqa: E402

TABLE = "api_cell_types_specimen_details"
PAGES = {
    "3 facets + counts": "/cells/?species=mouse&dendrite=aspiny&layer=5",
    "3 facets, table by tau": "/cells/?species=mouse&dendrite=aspiny&layer=5&view=table&sort=tau&dir=desc",
    "3 facets, htmx fragment": "/cells/?species=mouse&dendrite=aspiny&layer=5",
    "3 facets + 2 ranges + hists": "/cells/?species=mouse&dendrite=aspiny&layer=5&range=ri:100:300&range=tau::30",
    "same, htmx fragment": "/cells/?species=mouse&dendrite=aspiny&layer=5&range=ri:100:300&range=tau::30",
    "parcoords payload (16 axes)": "/cells/parcoords.json",
    "no filters": "/cells/",
    "text + 2 facets": "/cells/?q=Pvalb&reconstruction=full&models=glif",
}
GOALS_MS = {2333: 50.0, 100_000: 200.0}
GOAL_PAGES = ("3 facets + counts", "3 facets + 2 ranges + hists")
PARCOORDS_PAGE = "parcoords payload (16 axes)"
PARCOORDS_GOAL_BYTES = 1_000_000


def build_demo_db(path: Path, data_dir: Path) -> None:
    env = demo_env(path.parent, DATABASE_URL=f"sqlite:///{path}", CELLTYPES_DATA_DIR=str(data_dir))
    build_demo_database(env)


def grow_cell_table(path: Path, cells: int) -> int:
    """Copies of the demo rows with new specimen ids and names and features perturbed by up to ±10 %."""
    db = sqlite3.connect(path)
    columns = [row[1] for row in db.execute(f"PRAGMA table_info({TABLE})")]
    demo = db.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
    jitter = "(1 + (abs(random()) % 2001 - 1000) / 10000.0)"
    select = []
    for column in columns:
        quoted = f'"{column}"'
        if column == "specimen__id":
            select.append(f"{quoted} + :copy * 100000000000")
        elif column == "specimen__name":
            select.append(f"{quoted} || '-copy' || :copy")
        elif column.startswith(("ef__", "nr__max", "nr__average", "csl__")):
            select.append(f"{quoted} * {jitter}")
        else:
            select.append(quoted)
    names = ", ".join(f'"{column}"' for column in columns)
    insert = (
        f"INSERT INTO {TABLE} ({names}) "
        f'SELECT {", ".join(select)} FROM {TABLE} WHERE "specimen__id" < 100000000000 LIMIT :limit'
    )
    copy = 1
    with db:
        while (total := db.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]) < cells:
            db.execute(insert, {"copy": copy, "limit": min(demo, cells - total)})
            copy += 1
    db.execute("ANALYZE")
    db.close()
    return total


def measure(runs: int) -> dict:
    """Runs in the child process, with DATABASE_URL pointing at the database to measure."""
    sys.path.insert(0, str(REPO))
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celltypes.settings")
    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from celltypes.atlas.models import ApiCellTypesSpecimenDetail

    client = Client()
    results = {"cells": ApiCellTypesSpecimenDetail.objects.count(), "pages": {}}
    for name, url in PAGES.items():
        headers = {"HTTP_HX_REQUEST": "true"} if "htmx" in name else {}
        for _ in range(3):
            assert client.get(url, **headers).status_code == 200
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            client.get(url, **headers)
            times.append((time.perf_counter() - start) * 1000)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, **headers)
        results["pages"][name] = {
            "bytes": len(response.content),
            "median_ms": statistics.median(times),
            "p90_ms": sorted(times)[int(0.9 * (len(times) - 1))],
            "queries": len(queries.captured_queries),
            "sql_ms": 1000 * sum(float(q["time"]) for q in queries.captured_queries),
        }
    return results


def run_child(db_path: Path, runs: int) -> dict:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}", "DJANGO_DEBUG": "False"}
    out = subprocess.run(
        [sys.executable, __file__, "--measure", "--runs", str(runs)],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(results: dict) -> bool:
    goal = GOALS_MS[2333] if results["cells"] < 10_000 else GOALS_MS[100_000]
    print(f"\n{results['cells']:,} cells (goal < {goal:.0f} ms for {', '.join(map(repr, GOAL_PAGES))})")
    print(f"  {'page':28s} {'median':>9s} {'p90':>9s} {'queries':>8s} {'sql':>9s} {'bytes':>10s}")
    for name, page in results["pages"].items():
        print(
            f"  {name:28s} {page['median_ms']:7.1f}ms {page['p90_ms']:7.1f}ms "
            f"{page['queries']:8d} {page['sql_ms']:7.1f}ms {page['bytes']:10,d}"
        )
    met = all(results["pages"][name]["median_ms"] < goal for name in GOAL_PAGES)
    if results["cells"] < 10_000:
        size = results["pages"][PARCOORDS_PAGE]["bytes"]
        print(f"  parallel-coordinates payload {size:,} bytes (goal < {PARCOORDS_GOAL_BYTES:,})")
        met = met and size < PARCOORDS_GOAL_BYTES
    print(f"  goals {'met' if met else 'MISSED'}")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build the databases in this folder and keep them")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.runs)))
        return 0

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="celltypes-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    demo_db, big_db = workdir / "demo.sqlite3", workdir / "big.sqlite3"
    try:
        if not demo_db.exists():
            print("building the demo database (migrate + load_demo)…", flush=True)
            build_demo_db(demo_db, workdir / "data")
        if not big_db.exists():
            shutil.copy(demo_db, big_db)
            print(f"growing the cell table to {args.cells:,} rows…", flush=True)
            grow_cell_table(big_db, args.cells)
        met = [report(run_child(db, args.runs)) for db in (demo_db, big_db)]
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if all(met) else 1


if __name__ == "__main__":
    sys.exit(main())
