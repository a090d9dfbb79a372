"""``ipdesk settlement close-month YYYY-MM``: issue every agency office's statement."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from ipdesk.core.errors import DomainError
from ipdesk.settlement import selectors, services
from ipdesk.settlement.models import MonthlyStatement


class Command(BaseCommand):
    help = "Monthly settlement: issue all agency offices' statements of a month."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        close = sub.add_parser(
            "close-month", help="issue the statements of a finished month (skips those issued)"
        )
        close.add_argument("month", help="the month as YYYY-MM")
        close.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            month = services.parse_month(options["month"])
            services.check_month_closed(month)
        except DomainError as exc:
            detail = "; ".join(str(m) for msgs in exc.fields.values() for m in msgs)
            raise CommandError(f"month {options['month']!r}: {detail or exc.message}") from exc
        offices = list(selectors.agency_offices())
        issued = skipped = 0
        with tqdm(
            total=len(offices), unit="office", disable=options["quiet"], file=self.stderr
        ) as bar:
            for office in offices:
                if MonthlyStatement.objects.filter(office=office, month=month).exists():
                    skipped += 1
                    self.stdout.write(f"{office.code} {month:%Y-%m}: already issued, skipped")
                else:
                    try:
                        statement = services.close_month(month, offices=[office])[0][1]
                    except DomainError as exc:
                        raise CommandError(f"{office.code}: {exc.message}") from exc
                    issued += 1
                    assert statement is not None
                    self.stdout.write(
                        f"{office.code} {month:%Y-%m}: issued, amount due {statement.amount_due}"
                    )
                bar.update(1)
        self.stdout.write(
            self.style.SUCCESS(f"{month:%Y-%m}: {issued} issued, {skipped} already issued")
        )
