"""The Chinese official working-day calendar (工作日).

A day is a working day when it is Monday to Friday and not a public holiday, or when it
is an announced make-up working day (调休). The days come, per year, from data an operator
loaded (``CalendarYear``) or else from the ``chinesecalendar`` package. A year known to
neither is an error: deadlines are never computed on a guess.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

import chinese_calendar
from chinese_calendar import constants as packaged
from django.utils.translation import gettext_lazy as _

from .errors import DomainError

# Data loaded in another process is picked up within this many seconds.
CACHE_SECONDS = 300


class UnknownCalendarYear(DomainError):
    status = 422
    default_code = "calendar_year_unknown"

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            _(
                "The working-day calendar has no data for %(year)s. Load that year's announced "
                "holidays and make-up working days first (ipdesk calendar load)."
            )
            % {"year": year}
        )


@dataclass(frozen=True)
class YearDays:
    year: int
    rest: frozenset[dt.date]
    workdays: frozenset[dt.date]
    source: str

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.rest


def _packaged_years() -> frozenset[int]:
    return frozenset(d.year for d in packaged.holidays)


PACKAGED_YEARS = _packaged_years()


def _packaged_year(year: int) -> YearDays | None:
    if year not in PACKAGED_YEARS:
        return None
    rest = frozenset(d for d in packaged.holidays if d.year == year)
    workdays = frozenset(d for d in packaged.workdays if d.year == year)
    return YearDays(year, rest, workdays, f"chinesecalendar {chinese_calendar.__version__}")


def _loaded_year(year: int) -> YearDays | None:
    from .models import CalendarYear, DayKind

    record = CalendarYear.objects.filter(year=year).first()
    if record is None:
        return None
    rest: set[dt.date] = set()
    workdays: set[dt.date] = set()
    for date, kind in record.days.values_list("date", "kind"):
        (workdays if kind == DayKind.WORKDAY else rest).add(date)
    return YearDays(year, frozenset(rest), frozenset(workdays), record.source)


class WorkingDayCalendar:
    """Working-day arithmetic; thread-safe, caches each year it has read."""

    def __init__(self) -> None:
        self._years: dict[int, tuple[float, YearDays]] = {}
        self._lock = threading.Lock()

    def forget(self, year: int | None = None) -> None:
        with self._lock:
            if year is None:
                self._years.clear()
            else:
                self._years.pop(year, None)

    def year(self, year: int) -> YearDays:
        now = time.monotonic()
        cached = self._years.get(year)
        if cached and cached[0] > now:
            return cached[1]
        days = _loaded_year(year) or _packaged_year(year)
        if days is None:
            raise UnknownCalendarYear(year)
        with self._lock:
            self._years[year] = (now + CACHE_SECONDS, days)
        return days

    def is_working_day(self, day: dt.date) -> bool:
        return self.year(day.year).is_working_day(day)

    def next_working_day(self, day: dt.date) -> dt.date:
        """``day`` itself when it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def add_working_days(self, start: dt.date, count: int) -> dt.date:
        """The ``count``-th working day after ``start`` (``start`` itself is not counted)."""
        if count < 0:
            raise ValueError("count must not be negative")
        day = start
        while count:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                count -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end``."""
        count = 0
        day = start
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


calendar = WorkingDayCalendar()
