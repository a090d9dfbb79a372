"""Fee reduction, late charges, refusals, and the schedule's entry points."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from ipdesk.audit.models import AuditEvent
from ipdesk.core.errors import InvalidInput
from ipdesk.tariff.models import FeeRate, ScheduleVersion
from ipdesk.tariff.services import QuoteRequest, add_schedule_version, patent_year, quote_fees
from ipdesk.testing import api_client

pytestmark = pytest.mark.django_db
D = dt.date


def _quote(**kwargs: object) -> dict:
    kwargs.setdefault("paid_on", D(2025, 6, 3))
    return quote_fees(QuoteRequest(**kwargs)).as_dict()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "reduction", "total"),
    [
        ("application", 85, "135.00"),
        ("application", 70, "270.00"),
        ("examination", 85, "375.00"),
        ("examination", 70, "750.00"),
        ("reexamination", 85, "150.00"),
        ("publication_printing", 85, "50.00"),  # not reducible
        ("priority", 85, "80.00"),  # not reducible
    ],
)
def test_reduction_only_on_reducible_fees(code: str, reduction: int, total: str) -> None:
    quote = _quote(patent_kind="invention", fee_code=code, reduction=reduction)
    assert quote["total"] == total
    assert quote["lines"][0]["reduction"] == (0 if total in ("50.00", "80.00") else reduction)


def test_patent_year() -> None:
    filed = D(2016, 2, 29)
    assert patent_year(filed, D(2016, 2, 29)) == 1
    assert patent_year(filed, D(2017, 2, 27)) == 1
    assert patent_year(filed, D(2017, 2, 28)) == 2  # no 29 February: the month's last day
    assert patent_year(D(2015, 3, 10), D(2018, 3, 9)) == 3
    assert patent_year(D(2015, 3, 10), D(2018, 3, 10)) == 4


# Filed 2015-03-10, granted 2017-06-01: the year of grant is patent year 3.
FILED, GRANTED = D(2015, 3, 10), D(2017, 6, 1)


def _annual(year: int, paid_on: dt.date, reduction: int = 85) -> dict:
    return _quote(
        patent_kind="invention",
        fee_code="annual",
        year=year,
        reduction=reduction,
        filing_date=FILED,
        grant_date=GRANTED,
        paid_on=paid_on,
    )["lines"][0]


def test_reduction_boundary_year_10_and_11_from_grant_after_2018() -> None:
    filed, granted = D(2008, 7, 1), D(2010, 7, 1)  # grant in patent year 3
    common = dict(
        patent_kind="invention",
        fee_code="annual",
        reduction=70,
        filing_date=filed,
        grant_date=granted,
    )
    year_12 = _quote(year=12, paid_on=D(2019, 6, 20), **common)["lines"][0]
    with translation.override("en"):
        year_13 = _quote(year=13, paid_on=D(2020, 6, 22), **common)["lines"][0]
    assert (year_12["reduction"], year_12["amount"]) == (70, "1200.00")  # 30 % of 4,000
    assert (year_13["reduction"], year_13["amount"]) == (0, "6000.00")
    assert (
        "Year 13 is beyond the 10 years from the year of grant (year 3)" in year_13["explanation"]
    )


def test_reduction_boundary_before_2018_08_01_was_six_years() -> None:
    filed, granted = D(2008, 7, 1), D(2010, 7, 1)  # grant in patent year 3
    common = dict(
        patent_kind="invention",
        fee_code="annual",
        reduction=85,
        filing_date=filed,
        grant_date=granted,
    )
    year_8 = _quote(year=8, paid_on=D(2015, 6, 15), **common)["lines"][0]
    year_9 = _quote(year=9, paid_on=D(2016, 6, 15), **common)["lines"][0]
    assert (year_8["reduction"], year_8["amount"]) == (85, "300.00")  # sixth year from grant
    assert (year_9["reduction"], year_9["amount"]) == (0, "2000.00")  # seventh: full fee
    # The same year 9 paid from 2018-08-01 on is within ten years and reduced.
    year_9_late_rule = _quote(
        year=9,
        paid_on=D(2018, 8, 1),
        **{**common, "filing_date": D(2010, 8, 10), "grant_date": D(2012, 8, 1)},
    )
    assert year_9_late_rule["lines"][0]["reduction"] == 85


def test_reduction_on_annual_fee_needs_the_grant_date() -> None:
    with pytest.raises(InvalidInput) as caught:
        _quote(patent_kind="invention", fee_code="annual", year=5, reduction=85)
    assert list(caught.value.fields) == ["grant_date"]


def test_annual_fee_before_the_grant_year_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        _annual(2, D(2017, 7, 1))
    assert list(caught.value.fields) == ["year"]


# Late charges. Filed 2019-03-11 (Monday); patent year 7 starts 2025-03-11 (Tuesday), the due date.
LATE_FILED = D(2019, 3, 11)


def _late(paid_on: dt.date, year: int = 7) -> dict:
    return _quote(
        patent_kind="invention",
        fee_code="annual",
        year=year,
        filing_date=LATE_FILED,
        paid_on=paid_on,
    )["lines"][0]


@pytest.mark.parametrize(
    ("paid_on", "percent"),
    [
        (D(2025, 3, 11), 0),  # on the due date
        (D(2025, 4, 11), 0),  # exactly one month late (Friday)
        (D(2025, 4, 12), 5),  # one day more
        (D(2025, 5, 12), 5),  # 11 May is a Sunday: the two-month band ends Monday 12 May
        (D(2025, 5, 13), 10),
        (D(2025, 6, 11), 10),
        (D(2025, 6, 12), 15),
        (D(2025, 7, 11), 15),
        (D(2025, 7, 12), 20),
        (D(2025, 8, 11), 20),  # 11 August is a Monday
        (D(2025, 8, 12), 25),
        (D(2025, 9, 11), 25),  # six months
    ],
)
def test_late_charge_bands(paid_on: dt.date, percent: int) -> None:
    line = _late(paid_on)
    assert line["late_charge"] == f"{2000 * percent // 100}.00"
    assert line["amount"] == f"{2000 + 2000 * percent // 100}.00"


def test_late_charge_is_on_the_unreduced_fee() -> None:
    line = _quote(
        patent_kind="invention",
        fee_code="annual",
        year=7,
        reduction=85,
        filing_date=LATE_FILED,
        grant_date=D(2021, 5, 1),
        paid_on=D(2025, 5, 13),
    )["lines"][0]
    assert (line["late_charge"], line["amount"]) == ("200.00", "500.00")  # 300 + 10 % of 2,000


def test_due_date_on_a_holiday_moves_to_the_next_working_day() -> None:
    # Filed 2018-10-01; year 7 starts 2024-10-01 (National Day): due 2024-10-08.
    common = dict(
        patent_kind="utility_model", fee_code="annual", year=7, filing_date=D(2018, 10, 1)
    )
    assert _quote(paid_on=D(2024, 10, 8), **common)["lines"][0]["late_charge"] == "0.00"
    # One month after the nominal due date (2024-11-01) is the end of the free month.
    assert _quote(paid_on=D(2024, 11, 1), **common)["lines"][0]["late_charge"] == "0.00"
    assert _quote(paid_on=D(2024, 11, 4), **common)["lines"][0]["late_charge"] == "60.00"


def test_more_than_six_months_late_means_lapsed() -> None:
    with pytest.raises(InvalidInput) as caught:
        _late(D(2025, 9, 12))
    assert list(caught.value.fields) == ["paid_on"]
    assert "恢复" in str(caught.value.fields["paid_on"][0])


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"patent_kind": "plant", "fee_code": "application"}, "patent_kind"),
        ({"patent_kind": "invention", "fee_code": "handling"}, "fee_code"),
        ({"patent_kind": "design", "fee_code": "claims_surcharge", "claims": 12}, "fee_code"),
        ({"patent_kind": "invention", "fee_code": "application", "reduction": 50}, "reduction"),
        ({"patent_kind": "invention", "fee_code": "annual"}, "year"),
        ({"patent_kind": "invention", "fee_code": "annual", "year": 21}, "year"),
        ({"patent_kind": "invention", "fee_code": "claims_surcharge"}, "claims"),
        ({"patent_kind": "invention", "fee_code": "pages_surcharge", "pages": 0}, "pages"),
        ({"patent_kind": "invention", "fee_code": "application", "quantity": 2}, "quantity"),
        ({"patent_kind": "invention", "fee_code": "priority", "quantity": 1000}, "quantity"),
        (
            {"patent_kind": "invention", "fee_code": "application", "paid_on": D(2002, 12, 31)},
            "paid_on",
        ),
        (
            {
                "patent_kind": "invention",
                "fee_code": "annual",
                "year": 3,
                "filing_date": D(2026, 1, 1),
                "paid_on": D(2025, 1, 1),
            },
            "filing_date",
        ),
        (
            {
                "patent_kind": "invention",
                "fee_code": "annual",
                "year": 3,
                "filing_date": D(2020, 1, 1),
                "grant_date": D(2019, 1, 1),
            },
            "grant_date",
        ),
    ],
)
def test_impossible_requests_are_refused(request_fields: dict, field: str) -> None:
    request_fields.setdefault("paid_on", D(2025, 6, 3))
    with pytest.raises(InvalidInput) as caught:
        quote_fees(QuoteRequest(**request_fields))
    assert field in caught.value.fields


def test_quote_api_returns_lines_and_total() -> None:
    response = api_client(language="en").post(
        "/api/v1/fees/quote",
        {"patent_kind": "invention", "fee_code": "annual", "year": 7, "paid_on": "2025-06-03"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == "2000.00"
    assert body["lines"][0] == {
        "fee_code": "annual",
        "name": "Annual fee",
        "unit": "year",
        "base": "2000.00",
        "quantity": 1,
        "reduction": 0,
        "late_charge": "0.00",
        "amount": "2000.00",
        "explanation": "Annual fee, patent year 7 (invention): 2,000.00.",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"patent_kind": "invention", "fee_code": "annual", "year": "seven"}, "year"),
        ({"patent_kind": "invention", "fee_code": "annual", "year": 21}, "year"),
        ({"patent_kind": "invention", "fee_code": "application", "reduction": 50}, "reduction"),
        (
            {"patent_kind": "invention", "fee_code": "application", "paid_on": "yesterday"},
            "paid_on",
        ),
        ({"fee_code": "application"}, "patent_kind"),
    ],
)
def test_quote_api_names_the_bad_field(body: dict, field: str) -> None:
    response = api_client().post("/api/v1/fees/quote", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_schedule_api() -> None:
    body = api_client().get("/api/v1/fees/schedule", {"on": "2018-07-31"}).json()
    assert body["reduction_annual_years"] == 6
    assert "registration" in [fee["code"] for fee in body["fees"]]
    body = api_client().get("/api/v1/fees/schedule", {"on": "2018-08-01"}).json()
    assert body["reduction_annual_years"] == 10
    assert "registration" not in [fee["code"] for fee in body["fees"]]


def test_quote_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    call_command(
        "fees",
        "quote",
        "--patent-kind",
        "invention",
        "--fee",
        "annual",
        "--year",
        "7",
        "--paid-on",
        "2025-06-03",
        "--json",
    )
    assert json.loads(capsys.readouterr().out)["total"] == "2000.00"
    with pytest.raises(CommandError, match='"year"'):
        call_command(
            "fees", "quote", "--patent-kind", "invention", "--fee", "annual", "--year", "21"
        )


def test_quote_page(client) -> None:
    response = client.get(
        "/fees/", {"patent_kind": "invention", "fee_code": "application", "reduction": "85"}
    )
    assert response.status_code == 200
    assert response.context["quote"].as_dict()["total"] == "135.00"
    response = client.get(
        "/fees/", {"patent_kind": "design", "fee_code": "annual", "year": "16", "reduction": "0"}
    )
    assert response.context["quote"] is None
    assert response.context["form"].errors["year"]


NEW_VERSION = {
    "valid_from": "2099-01-01",
    "name": "专利收费标准（2099年）",
    "source": "test notice",
    "rates": [
        {"fee": "application", "kind": "invention", "amount": "1000"},
        {"fee": "annual", "kind": "invention", "from": 1, "to": 20, "amount": "1500"},
    ],
}


def test_operator_adds_a_schedule_version(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    path.write_text(json.dumps(NEW_VERSION, ensure_ascii=False), encoding="utf-8")
    call_command("fees", "add-version", str(path))
    version = ScheduleVersion.objects.get(valid_from=D(2099, 1, 1))
    assert version.reduction_annual_years == 10  # carried over from the version before
    assert version.rates.count() == 2
    assert AuditEvent.objects.filter(action="tariff.schedule.added").count() == 1
    # Calendars for 2099 are unknown, but pricing a non-annual fee needs no calendar.
    assert (
        _quote(patent_kind="invention", fee_code="application", paid_on=D(2099, 1, 2))["total"]
        == "1000.00"
    )
    assert (
        _quote(patent_kind="invention", fee_code="application", paid_on=D(2098, 12, 31))["total"]
        == "900.00"
    )
    with pytest.raises(InvalidInput):
        _quote(patent_kind="design", fee_code="application", paid_on=D(2099, 1, 2))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"valid_from": "2020-01-01"}, "valid_from"),
        ({"name": ""}, "name"),
        ({"source": ""}, "source"),
        ({"rates": []}, "rates"),
        ({"rates": [{"fee": "bogus", "kind": "invention", "amount": "1"}]}, "rates[0]"),
        ({"rates": [{"fee": "application", "kind": "invention", "amount": "-1"}]}, "rates[0]"),
        ({"rates": [{"fee": "application", "kind": "invention", "amount": "1.005"}]}, "rates[0]"),
        (
            {"rates": [{"fee": "annual", "kind": "invention", "from": 5, "to": 3, "amount": "1"}]},
            "rates[0]",
        ),
        ({"rates": [{"fee": "application", "kind": "invention", "amount": "1"}] * 2}, "rates[1]"),
    ],
)
def test_bad_schedule_version_is_refused_and_changes_nothing(change: dict, field: str) -> None:
    data = {**NEW_VERSION, **change}
    before = (ScheduleVersion.objects.count(), FeeRate.objects.count(), AuditEvent.objects.count())
    with pytest.raises(InvalidInput) as caught:
        add_schedule_version(
            valid_from=D.fromisoformat(data["valid_from"]),
            name=data["name"],
            source=data["source"],
            rates=data["rates"],
        )
    assert field in caught.value.fields
    assert (
        ScheduleVersion.objects.count(),
        FeeRate.objects.count(),
        AuditEvent.objects.count(),
    ) == before
