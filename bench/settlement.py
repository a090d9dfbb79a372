"""Month-end benchmark: close a month for every agency office, then build the reports.

    .venv/bin/python bench/settlement.py [--offices 34] [--per-day 300]
        [--server postgresql://127.0.0.1:5432/test]

Creates a scratch database ``ipdesk_bench_settlement`` on the server (dropped first) and
books, for each office and each working day of September 2025, ``--per-day`` reviewed
payments with their ledger postings (inserted in bulk, as ``bulk_reviewed_payments`` does),
then times: ``close_month`` (every office's statement), each office's three monthly reports
with their reconciliation, their PDF and Excel renderings, and the national summary.
Prints the figures; it asserts only that every office's reports reconcile.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch import start_ipdesk

MONTH = dt.date(2025, 9, 1)


def clock(day: dt.date) -> mock._patch:  # type: ignore[type-arg]
    from django.utils import timezone

    moment = timezone.make_aware(dt.datetime(day.year, day.month, day.day, 10, 0))
    return mock.patch.object(timezone, "now", lambda: moment)


def book_month(codes: list[str], per_day: int) -> int:
    from decimal import Decimal

    from ipdesk.collection.models import JournalEntry, JournalLine, LedgerAccount, Payment
    from ipdesk.core.calendar import calendar
    from ipdesk.testing import bulk_reviewed_payments

    days = [
        MONTH + dt.timedelta(days=n)
        for n in range(30)
        if calendar.is_working_day(MONTH + dt.timedelta(days=n))
    ]
    total = 0
    for code in codes:
        for day in days:
            with clock(day):
                ids = bulk_reviewed_payments(per_day, office_code=code)
            office_id = Payment.objects.filter(pk=ids[0]).values_list("office_id", flat=True)[0]
            entries = JournalEntry.objects.bulk_create(
                [
                    JournalEntry(office_id=office_id, posted_on=day, memo="payment", payment_id=pk)
                    for pk in ids
                ]
            )
            if entries[0].pk is None:
                entries = list(JournalEntry.objects.filter(payment_id__in=ids).order_by("pk"))
            amount = Decimal("900.00")
            JournalLine.objects.bulk_create(
                [
                    line
                    for entry in entries
                    for line in (
                        JournalLine(entry=entry, account=LedgerAccount.CASH, debit=amount),
                        JournalLine(entry=entry, account=LedgerAccount.FEES_PAYABLE, credit=amount),
                    )
                ]
            )
            total += len(ids)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--offices", type=int, default=34)
    parser.add_argument("--per-day", type=int, default=300)
    parser.add_argument("--server", default="postgresql://127.0.0.1:5432/test")
    args = parser.parse_args()
    start_ipdesk(args.server, "ipdesk_bench_settlement")

    from ipdesk.accounts.models import Organisation
    from ipdesk.settlement import reports, selectors, services

    codes = [f"D{n:02d}" for n in range(1, args.offices + 1)]
    started = time.perf_counter()
    payments = book_month(codes, args.per_day)
    print(
        f"booked {payments:,} reviewed payments for {len(codes)} offices "
        f"in {time.perf_counter() - started:.1f} s"
    )

    with clock(dt.date(2025, 10, 9)):
        started = time.perf_counter()
        results = services.close_month(MONTH)
        elapsed = time.perf_counter() - started
        assert all(statement is not None for _office, statement in results)
        print(
            f"close-month: {len(results)} statements in {elapsed:.2f} s "
            f"({elapsed / len(results) * 1000:.0f} ms per office)"
        )

        timings: dict[str, list[float]] = {"reports": [], "pdf": [], "xlsx": []}
        for office in Organisation.objects.filter(code__in=codes).order_by("code"):
            started = time.perf_counter()
            monthly = selectors.monthly_reports(office, MONTH)
            timings["reports"].append(time.perf_counter() - started)
            assert monthly.reconciled, office.code
            started = time.perf_counter()
            reports.monthly_reports_pdf(monthly)
            timings["pdf"].append(time.perf_counter() - started)
            started = time.perf_counter()
            reports.monthly_reports_xlsx(monthly)
            timings["xlsx"].append(time.perf_counter() - started)
        for name, values in timings.items():
            print(
                f"monthly {name}: median {statistics.median(values) * 1000:.0f} ms, "
                f"max {max(values) * 1000:.0f} ms per office "
                f"({payments // len(codes):,} payments each)"
            )

        started = time.perf_counter()
        summary = selectors.national_summary(MONTH)
        reports.national_summary_pdf(summary)
        print(
            f"national summary + PDF: {(time.perf_counter() - started) * 1000:.0f} ms, "
            f"fees {summary.fees} yuan"
        )


if __name__ == "__main__":
    main()
