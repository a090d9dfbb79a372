"""``ipdesk fees quote|schedule|add-version``: the fee calculator and schedule."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ipdesk.core.errors import DomainError
from ipdesk.core.money import money_str
from ipdesk.tariff import selectors
from ipdesk.tariff.models import PatentKind, Reduction
from ipdesk.tariff.services import QuoteRequest, add_schedule_version, quote_fees


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date: write YYYY-MM-DD") from None


class Command(BaseCommand):
    help = "Price fees, show the schedule in force, or add a new schedule version."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        quote = sub.add_parser("quote", help="price one fee")
        quote.add_argument("--patent-kind", required=True, choices=PatentKind.values)
        quote.add_argument("--fee", required=True, help="fee code, e.g. annual, application")
        quote.add_argument("--year", type=int)
        quote.add_argument("--quantity", type=int)
        quote.add_argument("--claims", type=int)
        quote.add_argument("--pages", type=int)
        quote.add_argument("--reduction", type=int, default=0, choices=Reduction.values)
        quote.add_argument("--filing-date", type=_date)
        quote.add_argument("--grant-date", type=_date)
        quote.add_argument("--paid-on", type=_date)
        quote.add_argument("--json", action="store_true", help="print JSON")
        show = sub.add_parser("schedule", help="print the schedule in force on a date")
        show.add_argument("--on", type=_date)
        add = sub.add_parser("add-version", help="add a schedule version from a JSON file")
        add.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "_" + options["action"].replace("-", "_"))(options)
        except DomainError as exc:
            raise CommandError(json.dumps(exc.as_dict(), ensure_ascii=False)) from exc

    def _quote(self, options: dict[str, Any]) -> None:
        quote = quote_fees(
            QuoteRequest(
                patent_kind=options["patent_kind"],
                fee_code=options["fee"],
                quantity=options["quantity"],
                year=options["year"],
                claims=options["claims"],
                pages=options["pages"],
                reduction=options["reduction"],
                filing_date=options["filing_date"],
                grant_date=options["grant_date"],
                paid_on=options["paid_on"],
            )
        )
        if options["json"]:
            self.stdout.write(json.dumps(quote.as_dict(), ensure_ascii=False, indent=2))
            return
        for line in quote.lines:
            self.stdout.write(
                f"{line.name:<12} {line.quantity:>5} × {money_str(line.base):>10}"
                f"  {money_str(line.amount):>12}"
            )
            self.stdout.write(f"    {line.explanation}")
        self.stdout.write(f"{'total':<12} {money_str(quote.total):>33}")

    def _schedule(self, options: dict[str, Any]) -> None:
        day = options["on"] or timezone.localdate()
        version = selectors.version_in_force(day)
        if version is None:
            raise CommandError(f"on: no schedule is in force on {day}")
        self.stdout.write(f"{version.name} (from {version.valid_from})")
        for fee in selectors.schedule(version):
            for rate in fee.rates.all():
                band = f"{rate.band_from}-{rate.band_to or ''}" if rate.band_from else ""
                extra = f" filed from {rate.filed_from}" if rate.filed_from else ""
                self.stdout.write(
                    f"  {fee.code:<26} {rate.patent_kind:<14} {band:<8}"
                    f" {money_str(rate.amount):>10}{extra}"
                )
        bands = selectors.late_charge_bands(version)
        self.stdout.write(
            "  late charge by month of delay: "
            + ", ".join(f"{band.month}: {band.percent} %" for band in bands)
        )

    def _add_version(self, options: dict[str, Any]) -> None:
        try:
            data = json.loads(options["file"].read_text(encoding="utf-8"))
            valid_from = dt.date.fromisoformat(data["valid_from"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(f"file: needs JSON with valid_from (YYYY-MM-DD) ({exc})") from exc
        version = add_schedule_version(
            valid_from=valid_from,
            name=str(data.get("name", "")),
            source=str(data.get("source", "")),
            rates=data.get("rates", []),
            reduction_annual_years=data.get("reduction_annual_years"),
            late_charges=data.get("late_charges"),
        )
        self.stdout.write(
            self.style.SUCCESS(f"schedule {version.name} in force from {version.valid_from}")
        )
