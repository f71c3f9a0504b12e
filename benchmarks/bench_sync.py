"""Time a full mirror sync over loopback: the demo instance as the upstream, an empty instance (migrated, nothing
loaded) running `manage.py sync_upstream --all` against it, records only (files stay lazy). Repeated N times, each
into a fresh copy of the empty database from a freshly started upstream (cold caches); prints the median wall time
beside the goal, the fetch/apply split, and per table the rows, the pages and the rows per second over the span
from its first page asked to its last page answered.

Run from the repository root with the project venv:

    .venv/bin/python benchmarks/bench_sync.py [--runs 3] [--page-size N] [--concurrency N] [--base-uri URL]

Without --base-uri it starts its own upstream (temporary SQLite + demo set, gunicorn as in production: 2 workers x 4
threads) on a free loopback port for each run and stops it after the run. The sync talks to the upstream through a
pass-through proxy on loopback (tests/support/fault_proxy.py, no faults) that notes when each page was asked and
answered; the wall time includes the command's start (Django set-up) and the final apply. Page size and concurrency
are the engine's defaults unless given. Every subprocess has a time limit.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.support.demo_server import demo_env, demo_server  # noqa: E402
from tests.support.fault_proxy import fault_proxy  # noqa: E402

GOAL_SECONDS = 60.0
RUN_TIMEOUT = 600
PAGE_QUERY = re.compile(r"model::(\w+)(?:,rma::include,(\w+))?")


def page_table(target: str) -> str | None:
    """The sync table a page request is for: `Specimen`, or `Specimen.specimen_tags` for a listed link."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query).get("q", [""])[0]
    match = PAGE_QUERY.match(query)
    if match is None:
        return None
    return match.group(1) + (f".{match.group(2)}" if match.group(2) else "")


@contextmanager
def upstream_server(base_uri: str | None, root: Path) -> Iterator[str]:
    """The given upstream, or a freshly started one over the demo database under `root` (built on first use), so
    that each run meets cold caches, as a first sync of a real upstream would."""
    if base_uri:
        yield base_uri.rstrip("/")
        return
    with demo_server(root, server="gunicorn") as up:
        yield up.url


def empty_database(root: Path) -> Path:
    """A migrated, unloaded SQLite database under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "migrate", "--noinput", "-v0"],
        cwd=REPO,
        env=demo_env(root, CELLTYPES_UPSTREAM=""),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise SystemExit(f"migrate failed:\n{done.stderr[-3000:]}")
    return root / "db.sqlite3"


def table_totals(db: Path) -> dict[str, int]:
    """Rows per sync table as the engine recorded them when its last run applied (sync_runs.changes)."""
    with closing(sqlite3.connect(db)) as connection:
        row = connection.execute("SELECT changes FROM sync_runs ORDER BY id DESC LIMIT 1").fetchone()
    changes = json.loads(row[0]) if row and row[0] else {}
    return {name: int(info.get("rows", 0)) for name, info in changes.items() if isinstance(info, dict)}


def one_run(template: Path, work: Path, upstream: str, extra_env: dict[str, str]) -> tuple[float, str, dict, dict]:
    """(wall seconds, the command's output, {table: span seconds}, {table: pages}) of one sync into a fresh copy of
    `template`."""
    shutil.rmtree(work, ignore_errors=True)
    (work / "data").mkdir(parents=True)
    shutil.copyfile(template, work / "db.sqlite3")
    with fault_proxy(upstream) as proxy:
        env = demo_env(work, CELLTYPES_UPSTREAM=proxy.url, DJANGO_STATIC_MANIFEST="0", **extra_env)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(REPO / "manage.py"), "sync_upstream", "--all"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )
        wall = time.perf_counter() - started
        timings = list(proxy.timings)
    if done.returncode != 0:
        raise SystemExit(f"the sync failed:\n{done.stderr[-3000:]}")
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    pages: dict[str, int] = defaultdict(int)
    for target, asked, answered in timings:
        table = page_table(target)
        if table is None:
            continue
        first[table] = min(first.get(table, asked), asked)
        last[table] = max(last.get(table, answered), answered)
        pages[table] += 1
    return wall, done.stdout, {t: last[t] - first[t] for t in first}, dict(pages)


def phase_seconds(output: str) -> tuple[float, float] | None:
    """(fetch, apply) seconds from the command's summary line, if it has one."""
    match = re.search(r" in ([\d.]+) s[^;\n]*; applied in ([\d.]+) s", output)
    return (float(match.group(1)), float(match.group(2))) if match else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--page-size", type=int, help="rows per page (default: the engine's)")
    parser.add_argument("--concurrency", type=int, help="pages in flight (default: the engine's)")
    parser.add_argument("--base-uri", help="sync from a running instance instead of starting one")
    args = parser.parse_args()
    extra_env = {}
    if args.page_size:
        extra_env["CELLTYPES_MIRROR_PAGE_SIZE"] = str(args.page_size)
    if args.concurrency:
        extra_env["CELLTYPES_MIRROR_CONCURRENCY"] = str(args.concurrency)
    walls, phases, spans, pages = [], [], defaultdict(list), {}
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as scratch:
        template = empty_database(Path(scratch) / "empty")
        work = Path(scratch) / "local"
        print(f"machine: {os.cpu_count()} cores; {extra_env or 'engine defaults'}")
        for run in range(args.runs):
            with upstream_server(args.base_uri, Path(scratch) / "upstream") as upstream:
                wall, output, run_spans, pages = one_run(template, work, upstream, extra_env)
            walls.append(wall)
            if (split := phase_seconds(output)) is not None:
                phases.append(split)
            for table, seconds in run_spans.items():
                spans[table].append(seconds)
            print(f"  run {run + 1}: {wall:6.1f} s  (upstream {upstream})")
        totals = table_totals(work / "db.sqlite3")
    wall = statistics.median(walls)
    rows = sum(totals.values())
    verdict = "meets" if wall < GOAL_SECONDS else "MISSES"
    print(f"full sync, median of {args.runs}: {wall:.1f} s   goal < {GOAL_SECONDS:.0f} s ({verdict} it)")
    print(f"  {rows:,} rows, {sum(pages.values())} pages: {rows / wall:,.0f} rows/s overall")
    if phases:
        fetch, apply = statistics.median(p[0] for p in phases), statistics.median(p[1] for p in phases)
        print(f"  fetch {fetch:.1f} s, apply {apply:.1f} s (the rest: the command's start-up)")
    print("  per table, fetch only (first page asked -> last page answered; pages overlap across tables):")
    print(f"  {'table':40s} {'rows':>8s} {'pages':>6s} {'span s':>8s} {'rows/s':>9s}")
    for table in sorted(spans, key=lambda t: -statistics.median(spans[t])):
        span = statistics.median(spans[table])
        count = totals.get(table)
        rate = f"{count / span:9,.0f}" if count is not None and span > 0 else f"{'-':>9s}"
        print(f"  {table:40s} {count if count is not None else '?':>8} {pages.get(table, 0):6d} {span:8.2f} {rate}")


if __name__ == "__main__":
    main()
