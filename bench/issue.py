"""Bulk-issuing benchmark: receipts/s end to end on PostgreSQL, against a bare baseline.

    .venv/bin/python bench/issue.py [--payments 200000] [--batch 5000] [--workers 2]
        [--server postgresql://127.0.0.1:5432/test]

Creates a scratch database ``ipdesk_bench`` on the server (dropped first), migrates it,
inserts N reviewed payments, then issues their receipts through ``issue_receipts`` in
batches (numbering + canonical data + signing + storing + one audit link per batch) and
prints receipts/s: for half of them in one process, for the other half with one process
per core, each an issuing node with its own series (as production runs one worker per
core). It then runs the bare floor of the same work in the same process (canonical JSON
+ Ed25519 signature + COPY of the rows) so the ratio between the two is stable on a noisy
machine.
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch import start_ipdesk


def _worker(issue: Any, part: list[int], node: str) -> None:
    from django.db import connections

    try:
        issue(part, node)
    finally:
        connections.close_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--server", default="postgresql://127.0.0.1:5432/test")
    args = parser.parse_args()

    start_ipdesk(args.server, "ipdesk_bench")
    from django.db import connection, connections

    from ipdesk.audit.selectors import verify_chain
    from ipdesk.core.canonical import canonical_bytes
    from ipdesk.receipts import services, signing
    from ipdesk.receipts.models import Receipt
    from ipdesk.testing import bulk_reviewed_payments

    started = time.perf_counter()
    ids = bulk_reviewed_payments(args.payments)
    print(f"setup: {len(ids)} reviewed payments in {time.perf_counter() - started:.1f} s")

    def issue(part: list[int], node: str) -> None:
        for start in range(0, len(part), args.batch):
            services.issue_receipts(part[start : start + args.batch], node=node)

    half = len(ids) // 2
    started = time.perf_counter()
    issue(ids[:half], "bench-single")
    single = time.perf_counter() - started
    print(f"one process: {half} receipts in {single:.2f} s = {half / single:,.0f} receipts/s")

    rest = ids[half:]
    parts = [rest[i :: args.workers] for i in range(args.workers)]
    connections.close_all()
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_worker, args=(issue, part, f"bench-{i}"))
        for i, part in enumerate(parts)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        assert worker.exitcode == 0, worker.exitcode
    parallel = time.perf_counter() - started
    rate = len(rest) / parallel
    print(f"{args.workers} processes: {len(rest)} receipts in {parallel:.2f} s = {rate:,.0f}/s")
    count = Receipt.objects.count()
    assert count == len(ids), (count, len(ids))
    assert verify_chain().ok

    # The floor: the same canonical data signed and copied, with nothing else around it.
    signer = signing.keyring().require_signer()
    samples = list(Receipt.objects.values_list("data", flat=True)[: min(count, 50_000)])
    import json

    documents = [json.loads(text) for text in samples]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bare (number bigint, data text, signature text, key_id text)"
        )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy("COPY bare (number, data, signature, key_id) FROM STDIN") as copy:
            for number, document in enumerate(documents, 1):
                body = canonical_bytes(document)
                signature = base64.b64encode(signer.sign(body)).decode("ascii")
                copy.write_row((number, body.decode("utf-8"), signature, signer.key_id))
    bare = time.perf_counter() - started
    bare_rate = len(documents) / bare
    print(f"bare sign + COPY: {len(documents)} rows in {bare:.2f} s = {bare_rate:,.0f} rows/s")
    print(f"ratio one process / bare: {half / single / bare_rate:.2f}")


if __name__ == "__main__":
    main()
