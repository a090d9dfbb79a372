from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ipdesk.audit.models import AuditEvent
from ipdesk.core.calendar import UnknownCalendarYear, calendar
from ipdesk.core.errors import InvalidInput
from ipdesk.core.models import CalendarDay, CalendarYear
from ipdesk.core.services import load_calendar_year

D = dt.date

pytestmark = pytest.mark.django_db

YEAR_2027 = {
    "year": 2027,
    "source": "国务院办公厅关于2027年部分节假日安排的通知 (test data)",
    "rest_days": [
        {"from": "2027-01-01", "to": "2027-01-03", "name": "元旦"},
        {"from": "2027-02-06", "to": "2027-02-13", "name": "春节"},
        {"from": "2027-10-01", "to": "2027-10-07", "name": "国庆节"},
    ],
    "workdays": [
        {"date": "2027-02-14", "name": "春节调休"},
        {"date": "2027-09-26", "name": "国庆调休"},
    ],
}


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2024, 2, 9), True),  # Friday before the Spring Festival: not a holiday in 2024
        (D(2024, 2, 10), False),  # 春节
        (D(2024, 2, 16), False),  # a Friday inside the Spring Festival break
        (D(2024, 2, 4), True),  # Sunday make-up working day
        (D(2024, 2, 18), True),  # Sunday make-up working day
        (D(2024, 9, 29), True),  # Sunday make-up for National Day
        (D(2024, 10, 7), False),
        (D(2024, 10, 12), True),  # Saturday make-up
        (D(2024, 10, 13), False),  # an ordinary Sunday
        (D(2025, 1, 1), False),
        (D(2025, 1, 26), True),  # Sunday make-up
        (D(2025, 1, 28), False),  # 除夕, a holiday from 2025
        (D(2025, 2, 4), False),
        (D(2025, 2, 8), True),  # Saturday make-up
        (D(2025, 4, 27), True),
        (D(2025, 5, 5), False),
        (D(2025, 10, 8), False),
        (D(2025, 10, 11), True),
        (D(2025, 10, 9), True),  # an ordinary Thursday
    ],
)
def test_packaged_calendar_2024_2025(day: dt.date, working: bool) -> None:
    assert calendar.is_working_day(day) is working


def test_unknown_year_is_an_error_not_a_guess() -> None:
    with pytest.raises(UnknownCalendarYear) as caught:
        calendar.is_working_day(D(2027, 3, 1))
    assert caught.value.code == "calendar_year_unknown"
    assert "2027" in str(caught.value.message)
    with pytest.raises(UnknownCalendarYear):
        calendar.next_working_day(D(2003, 12, 31))


def test_next_and_add_working_days_cross_holidays() -> None:
    assert calendar.next_working_day(D(2025, 1, 28)) == D(2025, 2, 5)
    assert calendar.next_working_day(D(2025, 2, 5)) == D(2025, 2, 5)
    # Three working days after Friday 2025-01-24: Sunday 26 (make-up), Monday 27, Wednesday 5 Feb.
    assert calendar.add_working_days(D(2025, 1, 24), 3) == D(2025, 2, 5)
    assert calendar.add_working_days(D(2025, 1, 24), 0) == D(2025, 1, 24)
    assert calendar.working_days_between(D(2025, 1, 24), D(2025, 2, 5)) == 3


def test_operator_loads_a_new_year() -> None:
    record = load_calendar_year(
        year=2027,
        source=YEAR_2027["source"],
        rest_days=YEAR_2027["rest_days"],
        workdays=YEAR_2027["workdays"],
    )
    assert record.days.count() == 3 + 8 + 7 + 2
    assert calendar.is_working_day(D(2027, 1, 1)) is False
    assert calendar.is_working_day(D(2027, 2, 8)) is False  # Monday inside 春节
    assert calendar.is_working_day(D(2027, 2, 14)) is True  # Sunday make-up
    assert calendar.is_working_day(D(2027, 2, 15)) is True
    assert calendar.is_working_day(D(2027, 2, 20)) is False  # ordinary Saturday
    assert calendar.next_working_day(D(2026, 12, 31)) == D(2026, 12, 31)
    assert calendar.next_working_day(D(2027, 1, 1)) == D(2027, 1, 4)
    assert AuditEvent.objects.filter(action="core.calendar.loaded").count() == 1


def test_loaded_data_overrides_the_package() -> None:
    # An operator corrects a packaged year: the loaded data wins.
    load_calendar_year(
        year=2025,
        source="correction",
        rest_days=[{"date": "2025-01-01", "name": "元旦"}],
        workdays=[],
    )
    assert calendar.is_working_day(D(2025, 1, 28)) is True
    load_calendar_year(
        year=2025,
        source="correction 2",
        rest_days=[{"date": "2025-01-28", "name": "除夕"}],
        workdays=[],
    )
    assert calendar.is_working_day(D(2025, 1, 28)) is False
    assert calendar.is_working_day(D(2025, 1, 1)) is True
    assert AuditEvent.objects.filter(action="core.calendar.replaced").count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"year": 1999}, "year"),
        ({"source": " "}, "source"),
        ({"rest_days": [{"date": "2028-01-01"}]}, "rest_days"),
        ({"rest_days": [{"date": "01/01/2027"}]}, "rest_days[0]"),
        ({"rest_days": [{"from": "2027-01-03", "to": "2027-01-01"}]}, "rest_days[0]"),
        ({"rest_days": []}, "rest_days"),
        ({"workdays": [{"date": "2027-02-15"}]}, "workdays"),  # a Monday
        ({"workdays": [{"date": "2027-01-02"}]}, "workdays"),  # both rest and working
    ],
)
def test_bad_calendar_data_is_refused_and_changes_nothing(change: dict, field: str) -> None:
    data = {**YEAR_2027, **change}
    with pytest.raises(InvalidInput) as caught:
        load_calendar_year(
            year=data["year"],
            source=data["source"],
            rest_days=data["rest_days"],
            workdays=data["workdays"],
        )
    assert field in caught.value.fields
    assert not CalendarYear.objects.exists()
    assert not CalendarDay.objects.exists()
    assert not AuditEvent.objects.exists()


def test_calendar_command_loads_and_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "2027.json"
    path.write_text(json.dumps(YEAR_2027, ensure_ascii=False), encoding="utf-8")
    call_command("calendar", "load", str(path))
    call_command("calendar", "show", "2027")
    out = capsys.readouterr().out
    assert "calendar 2027 loaded (20 days)" in out
    assert "2027-02-14 working day (make-up)" in out
    assert "2027-02-08 rest day" in out


def test_calendar_command_refuses_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps({**YEAR_2027, "workdays": [{"date": "2027-02-15"}]}), encoding="utf-8"
    )
    with pytest.raises(CommandError, match="workdays"):
        call_command("calendar", "load", str(path))
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="file: cannot read JSON"):
        call_command("calendar", "load", str(path))
    assert not CalendarYear.objects.exists()
