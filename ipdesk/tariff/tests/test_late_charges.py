"""Late-charge bands are dated data of the schedule: a new version never reprices an old quote."""

from __future__ import annotations

import datetime as dt
import importlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from ipdesk.audit.models import AuditEvent
from ipdesk.core.errors import InvalidInput
from ipdesk.tariff import selectors
from ipdesk.tariff.models import LateChargeBand, ScheduleVersion
from ipdesk.tariff.services import QuoteLine, QuoteRequest, add_schedule_version, quote_fees

pytestmark = pytest.mark.django_db
D = dt.date
OFFICIAL = [(1, 0), (2, 5), (3, 10), (4, 15), (5, 20), (6, 25)]
# Filed 2014-11-10: the invention's year-11 annual fee (4,000 yuan) fell due on 2024-11-11.
FILED = D(2014, 11, 10)


@contextmanager
def on(day: dt.date) -> Iterator[None]:
    moment = timezone.make_aware(dt.datetime(day.year, day.month, day.day, 10, 0))
    with mock.patch.object(timezone, "now", lambda: moment):
        yield


def _year_11(paid_on: dt.date) -> QuoteLine:
    quote = quote_fees(
        QuoteRequest(
            patent_kind="invention",
            fee_code="annual",
            year=11,
            filing_date=FILED,
            paid_on=paid_on,
        )
    )
    return quote.lines[0]


def _rates_of(version: ScheduleVersion) -> list[dict[str, Any]]:
    return [
        {
            "fee": rate.fee_type.code,
            "kind": rate.patent_kind,
            "amount": str(rate.amount),
            "from": rate.band_from,
            "to": rate.band_to,
            "filed_from": rate.filed_from.isoformat() if rate.filed_from else None,
        }
        for rate in version.rates.select_related("fee_type")
    ]


def _bands(version: ScheduleVersion) -> list[tuple[int, int]]:
    return [(band.month, band.percent) for band in selectors.late_charge_bands(version)]


def test_every_official_version_carries_the_bands_of_the_data_file() -> None:
    versions = list(ScheduleVersion.objects.order_by("valid_from"))
    assert [v.valid_from for v in versions] == [D(2003, 1, 1), D(2018, 8, 1)]
    assert all(_bands(version) == OFFICIAL for version in versions)


def test_a_newer_version_with_other_bands_never_reprices_an_older_quote() -> None:
    # Paid 2025-01-13: in the third month after the due date, 10 % of 4,000.
    before = _year_11(D(2025, 1, 13))
    assert (before.late_charge, before.amount) == (400, 4400)
    current = selectors.version_in_force(D(2025, 1, 13))
    assert current is not None
    with on(D(2025, 1, 15)):
        newer = add_schedule_version(
            valid_from=D(2025, 2, 1),
            name="专利收费标准（测试）",
            source="test notice",
            rates=_rates_of(current),
            late_charges=[
                {"month": month, "percent": percent}
                for month, percent in [(1, 0), (2, 6), (3, 12), (4, 18), (5, 24), (6, 30)]
            ],
        )
    assert _bands(newer) == [(1, 0), (2, 6), (3, 12), (4, 18), (5, 24), (6, 30)]
    assert _bands(current) == OFFICIAL
    # The quote of a payment in the older version is what it was, to the word.
    assert _year_11(D(2025, 1, 13)) == before
    # A payment in the newer version (fourth month after the due date) takes its bands.
    after = _year_11(D(2025, 2, 20))
    assert (after.late_charge, after.amount) == (720, 4720)
    assert "18%" in after.explanation


def test_a_version_without_bands_of_its_own_borrows_those_before_it() -> None:
    version = add_schedule_version(
        valid_from=D(2099, 1, 1),
        name="专利收费标准（2099年）",
        source="test notice",
        rates=[{"fee": "application", "kind": "invention", "amount": "1000"}],
    )
    assert _bands(version) == OFFICIAL
    event = AuditEvent.objects.get(action="tariff.schedule.added")
    assert json.loads(event.payload)["late_charges"] == [list(band) for band in OFFICIAL]


def test_the_lapse_message_names_the_last_band_of_the_version() -> None:
    with pytest.raises(InvalidInput) as caught:
        _year_11(D(2025, 5, 13))  # the sixth month ended on 2025-05-12
    message = str(caught.value.fields["paid_on"][0])
    assert "6" in message and "25%" in message and "恢复" in message


@pytest.mark.parametrize(
    ("late_charges", "field"),
    [
        ([], "late_charges"),
        ([{"month": 2, "percent": 5}], "late_charges[0]"),
        ([{"month": 1, "percent": 0}, {"month": 1, "percent": 5}], "late_charges[1]"),
        ([{"month": 1, "percent": 101}], "late_charges[0]"),
        ([{"month": 1, "percent": "5"}], "late_charges[0]"),
        (["month 1: 0 %"], "late_charges[0]"),
    ],
)
def test_bad_bands_are_refused_and_change_nothing(late_charges: list[Any], field: str) -> None:
    before = (
        ScheduleVersion.objects.count(),
        LateChargeBand.objects.count(),
        AuditEvent.objects.count(),
    )
    with pytest.raises(InvalidInput) as caught:
        add_schedule_version(
            valid_from=D(2099, 1, 1),
            name="专利收费标准（2099年）",
            source="test notice",
            rates=[{"fee": "application", "kind": "invention", "amount": "1000"}],
            late_charges=late_charges,
        )
    assert field in caught.value.fields
    assert (
        ScheduleVersion.objects.count(),
        LateChargeBand.objects.count(),
        AuditEvent.objects.count(),
    ) == before


def test_the_data_migration_gives_an_operators_version_the_bands_it_was_priced_with() -> None:
    loader = importlib.import_module("ipdesk.tariff.migrations.0004_late_charge_bands")
    operators = ScheduleVersion.objects.create(
        valid_from=D(2030, 1, 1), name="operator's", source="notice", reduction_annual_years=10
    )
    loader.load_bands(django_apps, None)
    assert _bands(operators) == OFFICIAL
    assert LateChargeBand.objects.count() == 3 * len(OFFICIAL)  # nothing loaded twice
