"""Payer-portal benchmark: the receipt-list page of an agency, and a 10,000-receipt ZIP.

    .venv/bin/python bench/portal.py [--receipts 1000000] [--others 0.1] [--requests 300]
        [--zip 10000] [--server postgresql://127.0.0.1:5432/test]

Creates a scratch database ``ipdesk_bench_portal`` on the server (dropped first), migrates
it, inserts the reviewed payments in bulk and issues their receipts through
``issue_receipts``; a patent agency then owns all but ``--others`` of them (the rest belong
to other payers, interleaved). It prints the setup time, then p50/p99 of ``GET /my/``
through Django's test client signed in as a payer of the agency: the first page, pages deep
in the list (``?after=<random id>``), and a filtered page; then the time of streaming a ZIP
of ``--zip`` receipt PDFs plus the Excel list (the generator the page and the background
job both use), with the process's resident memory sampled along the way to show it flat.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPARSE_PHONE = "13711112222"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch import start_ipdesk  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"p50 {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms "
        f"(n={len(ordered)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=1_000_000)
    parser.add_argument("--others", type=float, default=0.1)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--zip", type=int, default=10_000)
    parser.add_argument("--server", default="postgresql://127.0.0.1:5432/test")
    args = parser.parse_args()

    start_ipdesk(args.server, "ipdesk_bench_portal")
    from django.db import connection
    from django.test import Client

    from ipdesk.accounts.models import OrganisationKind, Role
    from ipdesk.collection.models import Payment
    from ipdesk.portal.bundle import stream_bundle
    from ipdesk.portal.selectors import iterate_receipts
    from ipdesk.receipts import services
    from ipdesk.receipts.models import Receipt
    from ipdesk.testing import UNIT_CODE, bulk_reviewed_payments, organisation, user

    started = time.perf_counter()
    agency = organisation(OrganisationKind.PATENT_AGENCY, "AGBENCH", name="基准专利代理事务所")
    clerk = user(Role.PAYER, "agency-clerk", org=agency)
    person = user(Role.PAYER, "person", phone=SPARSE_PHONE)
    newcomer = user(Role.PAYER, "newcomer", phone="13711113333")
    company = organisation(OrganisationKind.ENTERPRISE, "ENTBENCH", credit_code=UNIT_CODE)
    accountant = user(Role.PAYER, "accountant", org=company)
    ids: list[int] = []
    step = 100_000
    for start in range(0, args.receipts, step):
        part = bulk_reviewed_payments(min(step, args.receipts - start))
        # Sparse payers among them: an individual (by phone) and an enterprise (credit code).
        Payment.objects.filter(pk__in=part[::997]).update(payer_phone=SPARSE_PHONE)
        Payment.objects.filter(pk__in=part[500::1000]).update(
            payer_id_code=UNIT_CODE, payer_kind="unit"
        )
        for first in range(0, len(part), args.batch):
            services.issue_receipts(part[first : first + args.batch], node="bench")
        ids.extend(part)
        print(f"  {len(ids):,} receipts issued ({time.perf_counter() - started:.0f} s)", flush=True)
    every = round(1 / args.others) if args.others > 0 else 0
    with connection.cursor() as cursor:
        if every:
            cursor.execute(
                "UPDATE collection_payment SET agency_id = %s WHERE id %% %s <> 0",
                [agency.pk, every],
            )
        else:
            cursor.execute("UPDATE collection_payment SET agency_id = %s", [agency.pk])
        cursor.execute("VACUUM ANALYZE")
    setup = time.perf_counter() - started
    total = Receipt.objects.count()
    mine = Payment.objects.filter(agency=agency).count()
    print(f"setup: {total:,} receipts, {mine:,} of them the agency's, in {setup:.0f} s")

    client = Client()

    def timed(url: str) -> float:
        begin = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - begin
        assert response.status_code == 200, (url, response.status_code)
        return elapsed

    by_phone = Receipt.objects.filter(payment__payer_phone=SPARSE_PHONE).count()
    by_code = Receipt.objects.filter(payer_id_code=UNIT_CODE).count()
    for who, label in [
        (
            person,
            f"individual by phone ({by_phone:,} receipts)",
        ),
        (
            accountant,
            f"enterprise by credit code ({by_code:,} receipts)",
        ),
        (newcomer, "new payer without receipts"),
    ]:
        client.force_login(who)
        for _ in range(5):
            timed("/my/")
        sample = [timed("/my/") for _ in range(args.requests // 3)]
        print(f"list, first page, {label}: {percentiles(sample)}")
        sample = [timed("/my/?fee_code=annual&status=genuine") for _ in range(args.requests // 3)]
        print(f"list, filtered page, {label}: {percentiles(sample)}")

    client.force_login(clerk)
    for _ in range(10):
        timed("/my/")
    first = [timed("/my/") for _ in range(args.requests)]
    print(f"list, first page, agency: {percentiles(first)}")
    receipt_ids = list(Receipt.objects.order_by("?").values_list("pk", flat=True)[:1000])
    deep = [timed(f"/my/?after={random.choice(receipt_ids)}") for _ in range(args.requests)]
    print(f"list, agency, random deep page (?after=): {percentiles(deep)}")
    numbers = list(
        Payment.objects.filter(agency=agency).values_list("application_number", flat=True)[:500]
    )
    filtered = [
        timed(f"/my/?application_number={random.choice(numbers)}") for _ in range(args.requests)
    ]
    print(f"list, agency, by application number: {percentiles(filtered)}")
    today = Receipt.objects.values_list("issue_date", flat=True).first()
    dated = [
        timed(f"/my/?date_from={today}&date_to={today}&kind=blue&status=genuine")
        for _ in range(args.requests)
    ]
    print(f"list, agency, date range + kind + status: {percentiles(dated)}")
    fee = [timed("/my/?fee_code=annual&amount=900") for _ in range(args.requests)]
    print(f"list, agency, fee code + amount: {percentiles(fee)}")

    count = min(args.zip, mine)
    size = 0
    samples: list[tuple[int, float]] = []
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done = n
        if n % 1000 == 0:
            samples.append((n, rss_mb()))

    before = rss_mb()
    begin = time.perf_counter()
    receipts = islice(iterate_receipts(clerk, {}), count)
    for chunk in stream_bundle(receipts, ["pdf"], progress=progress):
        size += len(chunk)
    elapsed = time.perf_counter() - begin
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"zip: {done:,} receipt PDFs + Excel list, {size / 2**20:.1f} MiB streamed in "
        f"{elapsed:.1f} s ({done / elapsed:,.0f} receipts/s)"
    )
    trail = ", ".join(f"{n:,}: {mb:.0f}" for n, mb in samples)
    print(f"zip: resident memory MiB before {before:.0f}; after n receipts: {trail}")
    print(f"zip: peak resident memory of the process {peak:.0f} MiB")


if __name__ == "__main__":
    main()
