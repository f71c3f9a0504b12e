"""Time the Allen RMA API on loopback: the SDK's get_cells end to end, query.json for all cells vs an orjson floor
(answered from the response cache, and by the engine for a query it has not seen), one cell at a time, and
single-cell queries under 32 concurrent clients.

Run from the repository root with the project venv:

    .venv/bin/python benchmarks/bench_rma.py [--repeats 15] [--base-uri http://127.0.0.1:8000]

Without --base-uri it starts its own server (temporary SQLite + demo set, gunicorn, 2 workers x 4 threads) on a
free loopback port and stops it at the end. The SDK part needs .sdkvenv (scripts/make_sdk_venv.sh); it is
skipped with a note when that venv is missing. All traffic goes to 127.0.0.1 and every loop is bounded.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.support.demo_server import demo_server  # noqa: E402

SDK_PYTHON = Path(os.environ.get("SDK_VENV", REPO / ".sdkvenv")) / "bin" / "python"
ALL_CELLS = "model::ApiCellTypesSpecimenDetail,rma::options[num_rows$eq'all']"
SAFE = ";/?:@&=+$,"  # what the SDK leaves unquoted (protocol notes §1)

SDK_GET_CELLS = """
import json, shutil, sys, tempfile, time
from allensdk.core.cell_types_cache import CellTypesCache
base, repeats = sys.argv[1], int(sys.argv[2])
times = []
for _ in range(repeats + 1):
    folder = tempfile.mkdtemp()
    started = time.perf_counter()
    cells = CellTypesCache(manifest_file=folder + "/manifest.json", base_uri=base).get_cells()
    times.append(time.perf_counter() - started)
    shutil.rmtree(folder)
    assert len(cells) == 2333, len(cells)
print(json.dumps(times[1:]))
"""


@contextmanager
def live_server():
    with tempfile.TemporaryDirectory(prefix="bench-rma-") as root, demo_server(Path(root), server="gunicorn") as live:
        yield live.url


def query_path(q: str) -> str:
    return "/api/v2/data/query.json?q=" + urllib.parse.quote(q, safe=SAFE)


def get(connection: http.client.HTTPConnection, path: str) -> bytes:
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status}: {body[:200]!r}")
    return body


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1e3


def percentile_ms(times: list[float], p: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1e3


def bench_all_cells(base: str, repeats: int) -> None:
    host = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
    path = query_path(ALL_CELLS)
    started = time.perf_counter()
    body = get(connection, path)  # the first query of this worker: builds the row cache's table for the cell table
    first = time.perf_counter() - started
    http_times = []
    for _ in range(repeats):
        started = time.perf_counter()
        body = get(connection, path)
        http_times.append(time.perf_counter() - started)
    # Cold: a different num_rows each time (all rows still) makes a new cache key, so the engine runs.
    cold_times = []
    for index in range(repeats):
        cold = query_path(f"model::ApiCellTypesSpecimenDetail,rma::options[num_rows$eq{3000 + index}]")
        started = time.perf_counter()
        get(connection, cold)
        cold_times.append(time.perf_counter() - started)
    connection.close()
    envelope = orjson.loads(body)
    rows = envelope["msg"]
    assert len(rows) == 2333

    def floor() -> bytes:
        return orjson.dumps(
            {"success": True, "id": 0, "start_row": 0, "num_rows": len(rows), "total_rows": len(rows), "msg": rows}
        )

    floor()
    floor_times = []
    for _ in range(repeats):
        started = time.perf_counter()
        floor()
        floor_times.append(time.perf_counter() - started)
    ours, cold, least = median_ms(http_times), median_ms(cold_times), median_ms(floor_times)
    print(f"query.json, all {len(rows)} cells ({len(body) / 1e6:.1f} MB), median of {repeats}:")
    print(f"  HTTP, repeated query (response cache)   {ours:8.1f} ms   {ours / least:5.1f} x floor")
    print(f"  HTTP, new query (engine runs, uncached) {cold:8.1f} ms   {cold / least:5.1f} x floor   (goal <= 3x)")
    print(f"  HTTP, first query after start (one run)  {first * 1000:8.1f} ms   (builds the row cache's table)")
    print(f"  floor: orjson.dumps from memory         {least:8.1f} ms")


def bench_one_cell(base: str, repeats: int) -> None:
    """query.json for one cell, one request at a time; a different cell each time, so the engine always runs."""
    host = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    ids = [c["specimen__id"] for c in orjson.loads(get(connection, query_path(ALL_CELLS)))["msg"]]
    times = []
    for specimen_id in random.Random(0).sample(ids, repeats + 1):
        path = query_path(f"model::ApiCellTypesSpecimenDetail,rma::criteria,[specimen__id$eq{specimen_id}]")
        started = time.perf_counter()
        body = get(connection, path)
        times.append(time.perf_counter() - started)
        assert orjson.loads(body)["num_rows"] == 1
    connection.close()
    print(f"query.json, one cell (engine runs, uncached), median of {repeats}: {median_ms(times[1:]):.1f} ms")


def bench_sdk_get_cells(base: str, repeats: int) -> None:
    if not SDK_PYTHON.exists():
        print(f"SDK get_cells: skipped ({SDK_PYTHON} missing; run scripts/make_sdk_venv.sh)")
        return
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "sdk_get_cells.py"
        script.write_text(SDK_GET_CELLS)
        started = time.perf_counter()
        done = subprocess.run(
            [str(SDK_PYTHON), str(script), base, str(repeats)], capture_output=True, text=True, timeout=600, cwd=folder
        )
        wall = time.perf_counter() - started
    if done.returncode != 0:
        print(f"SDK get_cells: failed\n{done.stderr[-2000:]}")
        return
    times = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"AllenSDK CellTypesCache(fresh manifest).get_cells(), median of {repeats}: {median_ms(times):.1f} ms")
    print(f"  (one subprocess incl. SDK import and a warm-up call: {wall:.1f} s)")


def bench_concurrent(
    base: str, label: str, paths: list[str], clients: int, per_client: int
) -> tuple[float, float, float]:
    """Print and return (p50 ms, p99 ms, requests per second) of `clients` keep-alive clients."""
    host = urllib.parse.urlsplit(base)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(clients)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        mine = []
        start_gate.wait()
        for _ in range(per_client):
            path = rng.choice(paths)
            started = time.perf_counter()
            try:
                get(connection, path)
            except (OSError, RuntimeError, http.client.HTTPException) as exc:
                with lock:
                    errors.append(repr(exc))
                connection.close()
                connection = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
                continue
            mine.append(time.perf_counter() - started)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    p50, p99, rate = percentile_ms(latencies, 50), percentile_ms(latencies, 99), len(latencies) / wall
    print(
        f"  {label:<16} {len(latencies):5d} requests  p50 {p50:7.1f} ms  "
        f"p99 {p99:7.1f} ms  {rate:7.0f} req/s  errors {len(errors)}"
    )
    return p50, p99, rate


def bench_single_cell(base: str, clients: int, per_client: int) -> None:
    host = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    cells = orjson.loads(get(connection, query_path(ALL_CELLS)))["msg"]
    ids = [c["specimen__id"] for c in cells]
    swept = orjson.loads(
        get(
            connection, query_path("model::EphysSweep,rma::options[num_rows$eq'all'][tabular$eq'distinct specimen_id']")
        )
    )["msg"]
    connection.close()
    sweep_ids = [row["specimen_id"] for row in swept]
    get_cell = [
        query_path(
            f"model::ApiCellTypesSpecimenDetail,rma::criteria,[specimen__id$eq{i}],rma::options[num_rows$eq'all']"
        )
        for i in ids
    ]
    get_sweeps = [
        query_path(f"model::EphysSweep,rma::criteria,[specimen_id$eq{i}],rma::options[num_rows$eq'all']")
        for i in sweep_ids
    ]
    print(f"single-cell queries, {clients} concurrent clients x {per_client} requests (keep-alive):")
    bench_concurrent(base, "get_cell", get_cell, clients, per_client)
    bench_concurrent(base, "get_ephys_sweeps", get_sweeps, clients, per_client)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--per-client", type=int, default=30)
    parser.add_argument("--base-uri", help="benchmark a running server instead of starting one")
    args = parser.parse_args()
    with live_server() if args.base_uri is None else _given(args.base_uri) as base:
        print(f"server: {base}  (machine: {os.cpu_count()} cores)\n")
        bench_all_cells(base, args.repeats)
        bench_one_cell(base, args.repeats)
        print()
        bench_sdk_get_cells(base, max(3, args.repeats // 3))
        print()
        bench_single_cell(base, args.clients, args.per_client)


@contextmanager
def _given(base: str):
    yield base.rstrip("/")


if __name__ == "__main__":
    main()
