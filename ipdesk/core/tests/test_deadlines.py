from __future__ import annotations

import datetime as dt

import pytest

from ipdesk.core.calendar import UnknownCalendarYear
from ipdesk.core.deadlines import add_months, deadline, period_end

D = dt.date

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (D(2025, 1, 15), 1, D(2025, 2, 15)),
        (D(2025, 1, 31), 1, D(2025, 2, 28)),  # no 31 February: the month's last day
        (D(2024, 1, 31), 1, D(2024, 2, 29)),  # leap year
        (D(2024, 8, 31), 1, D(2024, 9, 30)),
        (D(2024, 11, 30), 3, D(2025, 2, 28)),
        (D(2025, 12, 15), 1, D(2026, 1, 15)),  # across the year end
        (D(2024, 2, 29), 12, D(2025, 2, 28)),
        (D(2025, 5, 10), 0, D(2025, 5, 10)),
        (D(2025, 3, 31), -1, D(2025, 2, 28)),
    ],
)
def test_add_months(start: dt.date, months: int, end: dt.date) -> None:
    assert add_months(start, months) == end


def test_guideline_examples() -> None:
    # 审查指南: filed 2007-10-30, application fee due within two months → 2008-01-02
    # (2007-12-30 is in the New Year break, which runs to 2008-01-01).
    assert period_end(D(2007, 10, 30), months=2) == D(2007, 12, 30)
    assert deadline(D(2007, 10, 30), months=2) == D(2008, 1, 2)
    # Filed 2007-12-06 → 2008-02-06 falls in the Spring Festival break (6–12 February).
    assert deadline(D(2007, 12, 6), months=2) == D(2008, 2, 13)


def test_days_periods_do_not_count_the_first_day() -> None:
    # 15 days from Friday 2025-09-19 ends Saturday 2025-10-04, inside National Day → 2025-10-09.
    assert period_end(D(2025, 9, 19), days=15) == D(2025, 10, 4)
    assert deadline(D(2025, 9, 19), days=15) == D(2025, 10, 9)


def test_end_on_a_make_up_working_day_stays() -> None:
    # 2025-01-26 is a Sunday announced as a working day.
    assert deadline(D(2024, 12, 26), months=1) == D(2025, 1, 26)


def test_years_and_month_end() -> None:
    assert deadline(D(2023, 6, 30), years=2) == D(2025, 6, 30)
    assert deadline(D(2024, 2, 29), years=1) == D(2025, 2, 28)


def test_deadline_in_an_unknown_year_fails() -> None:
    with pytest.raises(UnknownCalendarYear):
        deadline(D(2026, 12, 20), months=1)
