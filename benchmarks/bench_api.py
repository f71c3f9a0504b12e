"""Time the REST API on loopback: `/api/v1/cells/` with 3 filters and a page of 100 rows, p50 and p99 under 32
concurrent clients (keep-alive), plus the same page one request at a time.

Run from the repository root with the project venv:

    .venv/bin/python benchmarks/bench_api.py [--clients 32] [--per-client 30] [--base-uri http://127.0.0.1:8000]

Without --base-uri it starts its own servers (temporary SQLite + demo set, gunicorn, 2 workers x 4 threads,
unthrottled) on a free loopback port, one after the other over the same database: first with the response cache
off (every answer built by DRF), then on (celltypes/api/response_cache.py), and prints both. Every server process
answers every page once before the concurrent runs are timed (steady state: the cache is per process). A given
server must be unthrottled (CELLTYPES_API_ANON_RATE=) or the clients see 429s. All traffic goes to 127.0.0.1 and
every loop is bounded.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from bench_rma import bench_concurrent, get  # noqa: E402

from tests.support.demo_server import demo_server  # noqa: E402

SPECIES = ("mouse", "human")
LAYERS = ("2/3", "4", "5", "6")
DENDRITES = ("spiny", "aspiny")


def filtered_pages() -> list[str]:
    """Every species x layer x dendrite combination, a page of 100 cells each."""
    return [
        "/api/v1/cells/?" + urllib.parse.urlencode({"species": s, "layer": layer, "dendrite": d, "page_size": 100})
        for s, layer, d in itertools.product(SPECIES, LAYERS, DENDRITES)
    ]


@contextmanager
def live_server(root: Path, response_cache: bool) -> Iterator[str]:
    flag = "true" if response_cache else "false"
    with demo_server(root, server="gunicorn", CELLTYPES_API_ANON_RATE="", CELLTYPES_API_RESPONSE_CACHE=flag) as live:
        yield live.url


def bench_sequential(base: str, paths: list[str], repeats: int) -> None:
    host = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    for path in paths:
        get(connection, path)  # warm up every page once
    times = []
    for _ in range(repeats):
        for path in paths:
            started = time.perf_counter()
            get(connection, path)
            times.append(time.perf_counter() - started)
    connection.close()
    print(f"  one client        {len(times):5d} requests  median {statistics.median(times) * 1e3:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--per-client", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="concurrent runs per server (medians printed)")
    parser.add_argument("--base-uri", help="benchmark a running (unthrottled) server instead of starting one")
    args = parser.parse_args()
    paths = filtered_pages()
    print(f"machine: {os.cpu_count()} cores")
    print(f"/api/v1/cells/ with species + layer + dendrite, page_size=100 ({len(paths)} combinations):")
    if args.base_uri is not None:
        print(f"server: {args.base_uri}")
        run(args.base_uri.rstrip("/"), paths, args)
        return
    medians = {}
    with tempfile.TemporaryDirectory(prefix="bench-api-") as root:
        for response_cache in (False, True):
            with live_server(Path(root), response_cache) as base:
                print(f"response cache {'on' if response_cache else 'off'}:")
                medians[response_cache] = run(base, paths, args)
    print(f"medians of {args.rounds} runs at {args.clients} clients:")
    for response_cache, (p50, p99, rate) in medians.items():
        label = "cache on " if response_cache else "cache off"
        print(f"  {label}  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  {rate:7.0f} req/s")


def warm_every_worker(base: str, paths: list[str], connections: int = 8) -> None:
    """Ask every page once on each of several connections at once, so that every server process (each has its own
    response cache and database connection) has answered each page before anything is timed."""
    host = urllib.parse.urlsplit(base)

    def warm() -> None:
        connection = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        for path in paths:
            get(connection, path)
        connection.close()

    threads = [threading.Thread(target=warm) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run(base: str, paths: list[str], args: argparse.Namespace) -> tuple[float, float, float]:
    """The sequential median, then `--rounds` concurrent runs (after a warm-up of every server process); returns the
    medians of their p50, p99 and req/s."""
    bench_sequential(base, paths, args.repeats)
    warm_every_worker(base, paths)
    rounds = [
        bench_concurrent(base, f"{args.clients} clients", paths, args.clients, args.per_client)
        for _ in range(args.rounds)
    ]
    return tuple(statistics.median(values) for values in zip(*rounds, strict=True))


if __name__ == "__main__":
    main()
