"""Time limits as the Patent Law Implementing Rules count them (reference §6).

The first day is not counted; a period in months or years ends on the corresponding day of
the last month, or on that month's last day when there is no such day; an end that falls
on a rest day or public holiday moves to the next working day.
"""

from __future__ import annotations

import calendar as gregorian
import datetime as dt

from .calendar import WorkingDayCalendar
from .calendar import calendar as default_calendar


def add_months(start: dt.date, months: int) -> dt.date:
    """The corresponding day ``months`` later, or that month's last day if it has none."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = gregorian.monthrange(year, month)[1]
    return dt.date(year, month, min(start.day, last))


def period_end(start: dt.date, *, years: int = 0, months: int = 0, days: int = 0) -> dt.date:
    """The nominal last day of a period, before any move for rest days."""
    end = add_months(start, years * 12 + months)
    return end + dt.timedelta(days=days)


def deadline(
    start: dt.date,
    *,
    years: int = 0,
    months: int = 0,
    days: int = 0,
    calendar: WorkingDayCalendar | None = None,
) -> dt.date:
    """The last day to act: the period's end, moved to the next working day if needed."""
    cal = calendar or default_calendar
    return cal.next_working_day(period_end(start, years=years, months=months, days=days))
