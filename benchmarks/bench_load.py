"""A mixed load on one server: 32 clients at once sending heavy RMA queries, pattern filters, refused fan-outs,
pages and file downloads with ranges. Prints, per kind of request, how many were answered, the status codes seen,
p50 and p99 latency, and the errors (5xx, or no answer at all). The goal: no errors, and light requests stay fast
while heavy ones run.

Run from the repository root with the project venv:

    .venv/bin/python benchmarks/bench_load.py [--clients 32] [--per-client 20] [--base-uri http://127.0.0.1:8000]

Without --base-uri it starts its own server (temporary SQLite + demo set, gunicorn as in production: 2 workers x 4
threads, gunicorn.conf.py) on a free loopback port and stops it at the end. All traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.client
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.support.demo_server import demo_server  # noqa: E402

SAFE = ";/?:@&=+$,"


def rma(query: str) -> str:
    return "/api/v2/data/query.json?q=" + urllib.parse.quote(query, safe=SAFE)


# kind -> (paths, extra headers, status codes that are a correct answer)
MIX: dict[str, tuple[list[str], dict[str, str], set[int]]] = {
    "rma all cells": ([rma("model::ApiCellTypesSpecimenDetail,rma::options[num_rows$eq'all']")], {}, {200}),
    "rma include": (
        [rma("model::Specimen,rma::include,ephys_result(well_known_files),rma::options[num_rows$eq'all']")],
        {},
        {200},
    ),
    "rma fan-out (refused)": (
        [rma("model::Specimen,rma::include,products(specimens),rma::options[num_rows$eqall]")],
        {},
        {400},
    ),
    "rma pattern $il": (
        [rma("model::WellKnownFile,rma::criteria,[path$il'" + "*" * n + "Q']") for n in (5, 6, 12)],
        {},
        {200},
    ),
    "page search": (["/cells/", "/cells/?species=human&dendrite=spiny", "/cells/?view=table&sort=tau"], {}, {200}),
    "page cell": (["/cell/488683425/", "/cell/488683425/morphology/", "/cell/313862022/ephys/"], {}, {200}),
    "download range": (["/api/v2/well_known_file_download/527109147"], {"Range": "bytes=0-4095"}, {206}),
    "single cell rma": (
        [rma(f"model::ApiCellTypesSpecimenDetail,rma::criteria,[specimen__id$eq{i}]") for i in (313862022, 488683425)],
        {},
        {200},
    ),
}


def percentile_ms(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def run(base: str, clients: int, per_client: int) -> int:
    host = urllib.parse.urlsplit(base)
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    errors: dict[str, list[str]] = defaultdict(list)
    lock = threading.Lock()
    gate = threading.Barrier(clients)
    kinds = list(MIX)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        gate.wait()
        for _ in range(per_client):
            kind = rng.choice(kinds)
            paths, headers, expected = MIX[kind]
            started = time.perf_counter()
            try:
                connection.request("GET", rng.choice(paths), headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    errors[kind].append(repr(exc))
                connection.close()
                connection = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies[kind].append(elapsed)
                statuses[kind][status] += 1
                if status not in expected:
                    errors[kind].append(f"HTTP {status}")
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    total = sum(len(v) for v in latencies.values())
    print(f"{clients} clients x {per_client} requests, mixed; {total} answered in {wall:.1f} s ({total / wall:.0f}/s)")
    print(f"  {'kind':<24} {'n':>5} {'p50 ms':>8} {'p99 ms':>8}  statuses          errors")
    for kind in kinds:
        seen = " ".join(f"{code}x{n}" for code, n in sorted(statuses[kind].items()))
        print(
            f"  {kind:<24} {len(latencies[kind]):5d} {percentile_ms(latencies[kind], 50):8.1f} "
            f"{percentile_ms(latencies[kind], 99):8.1f}  {seen:<17} {len(errors[kind])}"
        )
    every = [v for values in latencies.values() for v in values]
    print(f"  {'all':<24} {len(every):5d} {percentile_ms(every, 50):8.1f} {percentile_ms(every, 99):8.1f}")
    print(f"  median of all: {1000 * statistics.median(every):.1f} ms")
    count = sum(len(v) for v in errors.values())
    for kind, found in errors.items():
        if found:
            print(f"  errors of {kind}: {sorted(set(found))[:5]}")
    print(f"errors: {count}")
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--per-client", type=int, default=20)
    parser.add_argument("--base-uri", help="load a running server instead of starting one")
    args = parser.parse_args()
    if args.base_uri:
        return 1 if run(args.base_uri.rstrip("/"), args.clients, args.per_client) else 0
    with tempfile.TemporaryDirectory(prefix="bench-load-") as root, demo_server(Path(root), server="gunicorn") as live:
        return 1 if run(live.url, args.clients, args.per_client) else 0


if __name__ == "__main__":
    sys.exit(main())
