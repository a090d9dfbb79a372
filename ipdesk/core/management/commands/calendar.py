"""``ipdesk calendar load FILE.json`` and ``ipdesk calendar show YEAR``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ipdesk.core.calendar import calendar
from ipdesk.core.errors import DomainError
from ipdesk.core.services import load_calendar_year

EXAMPLE = """{"year": 2027, "source": "国务院办公厅关于2027年部分节假日安排的通知",
 "rest_days": [{"from": "2027-01-01", "to": "2027-01-03", "name": "元旦"}],
 "workdays": [{"date": "2027-02-20", "name": "春节调休"}]}"""


class Command(BaseCommand):
    help = "The working-day calendar: load a year's announced days, or show a year."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="load a year from a JSON file; format:\n" + EXAMPLE)
        load.add_argument("file", type=Path)
        show = sub.add_parser("show", help="list a year's rest days and make-up working days")
        show.add_argument("year", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "load":
            try:
                data = json.loads(options["file"].read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CommandError(f"file: cannot read JSON ({exc})") from exc
            try:
                record = load_calendar_year(
                    year=data.get("year"),
                    source=data.get("source", ""),
                    rest_days=data.get("rest_days", []),
                    workdays=data.get("workdays", []),
                )
            except DomainError as exc:
                raise CommandError(json.dumps(exc.as_dict(), ensure_ascii=False)) from exc
            self.stdout.write(
                self.style.SUCCESS(f"calendar {record.year} loaded ({record.days.count()} days)")
            )
            return
        try:
            days = calendar.year(options["year"])
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(f"{days.year} ({days.source})")
        start = dt.date(days.year, 1, 1)
        for offset in range(366):
            day = start + dt.timedelta(days=offset)
            if day.year != days.year:
                break
            if day in days.workdays:
                self.stdout.write(f"  {day} working day (make-up)")
            elif day in days.rest and day.weekday() < 5:
                self.stdout.write(f"  {day} rest day")
