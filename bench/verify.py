"""Public verification (查验) benchmark: requests/s and latency of GET /api/v1/verify.

    .venv/bin/python bench/verify.py [--receipts 20000] [--requests 20000] [--clients 16]
        [--workers 2] [--server postgresql://127.0.0.1:5432/test]

Makes a scratch database ``ipdesk_bench_verify``, issues N receipts, starts gunicorn
(``--workers`` processes, one per core by default, rate limit lifted) on a free port on
127.0.0.1, then sends a bounded number of requests from ``--clients`` threads over
keep-alive connections, each for a random receipt with all five inputs, and prints
requests/s with p50/p99 latency. Every answer must be ``genuine``. Where ``wrk`` is
installed (Debian package wrk) it then also loads the server for ``--seconds`` with wrk,
whose C client takes far less of the shared cores than Python threads. Target (DESIGN.md):
1,500 requests/s on 2 cores, p99 < 50 ms. Client and server share the machine's cores.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch import start_ipdesk  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_wrk(port: int, queries: list[str], seconds: int, connections: int) -> None:
    """Load the server with wrk, each request a random receipt; print wrk's own figures."""
    paths = ",".join(f'"/api/v1/verify?{query}"' for query in queries)
    script = Path(tempfile.mkdtemp(prefix="ipdesk-wrk-")) / "verify.lua"
    script.write_text(
        f"local paths = {{{paths}}}\n"
        "math.randomseed(7)\n"
        "request = function() return wrk.format('GET', paths[math.random(#paths)]) end\n"
        "done = function(summary, latency, requests)\n"
        "  io.write(string.format('wrk: %d requests in %.2f s = %.0f req/s; "
        "p50 %.1f ms, p99 %.1f ms; errors %d\\n', summary.requests, "
        "summary.duration / 1e6, summary.requests / (summary.duration / 1e6), "
        "latency:percentile(50) / 1000, latency:percentile(99) / 1000, "
        "summary.errors.status + summary.errors.connect + summary.errors.read + "
        "summary.errors.timeout))\n"
        "end\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    print(next(line for line in result.stdout.splitlines() if line.startswith("wrk:")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--server", default="postgresql://127.0.0.1:5432/test")
    parser.add_argument("--seconds", type=int, default=15, help="length of the wrk run")
    args = parser.parse_args()

    start_ipdesk(
        args.server,
        "ipdesk_bench_verify",
        IPDESK_VERIFY_RATE="100000000/min",
        ALLOWED_HOSTS="127.0.0.1",
    )
    from ipdesk.receipts import services
    from ipdesk.receipts.models import Receipt
    from ipdesk.testing import bulk_reviewed_payments

    ids = bulk_reviewed_payments(args.receipts)
    for start in range(0, len(ids), 5000):
        services.issue_receipts(ids[start : start + 5000])
    queries = [
        urlencode(
            {
                "code": code,
                "number": f"{number:010d}",
                "check_code": check,
                "date": day.isoformat(),
                "amount": str(total),
            }
        )
        for code, number, check, day, total in Receipt.objects.values_list(
            "series__code", "number", "check_code", "issue_date", "total"
        )
    ]
    print(f"setup: {len(queries)} receipts")

    port = free_port()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "ipdesk.wsgi",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "ipdesk.settings"},
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        per_client = args.requests // args.clients

        def client(seed: int) -> None:
            rng = random.Random(seed)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            mine: list[float] = []
            for _ in range(per_client):
                started = time.perf_counter()
                connection.request("GET", "/api/v1/verify?" + rng.choice(queries))
                response = connection.getresponse()
                body = response.read()
                mine.append(time.perf_counter() - started)
                if response.status != 200 or json.loads(body)["status"] != "genuine":
                    with lock:
                        failures.append(f"{response.status} {body[:80]!r}")
            connection.close()
            with lock:
                latencies.extend(mine)

        warmup = threading.Thread(target=client, args=(-1,))
        warmup.start()
        warmup.join()
        latencies.clear()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        if shutil.which("wrk"):
            run_wrk(port, queries, args.seconds, args.clients)
    finally:
        server.terminate()
        server.wait(10)
    assert not failures, failures[:5]
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"verify: {len(latencies)} requests in {elapsed:.2f} s = {len(latencies) / elapsed:,.0f}"
        f" req/s; p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
        f" ({args.workers} gunicorn workers, {args.clients} client threads)"
    )


if __name__ == "__main__":
    main()
