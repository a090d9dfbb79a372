"""Every amount of reference/cnipa-fees.md §1–2, written out here independently of the data file."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ipdesk.core.errors import InvalidInput
from ipdesk.tariff.services import QuoteRequest, quote_fees

pytestmark = pytest.mark.django_db

TODAY_SCHEDULE = dt.date(2025, 6, 3)
INV, U, D = "invention", "utility_model", "design"

# fee code → {kind: amount}; a kind left out is not charged for it.
SINGLE_FEES = {
    "application": {INV: 900, U: 500, D: 500},
    "publication_printing": {INV: 50},
    "examination": {INV: 2500},
    "reexamination": {INV: 1000, U: 300, D: 300},
    "restoration": {INV: 1000, U: 1000, D: 1000},
    "bibliographic_change": {INV: 200, U: 200, D: 200},
    "evaluation_report": {U: 2400, D: 2400},
    "invalidation": {INV: 3000, U: 1500, D: 1500},
    "suspension": {INV: 600, U: 600, D: 600},
    "compulsory_licence": {INV: 300, U: 200},
    "compulsory_licence_ruling": {INV: 300, U: 300},
}
COUNTED_FEES = {
    "priority": {INV: 80, U: 80, D: 80},
    "extension_first": {INV: 300, U: 300, D: 300},
    "extension_again": {INV: 2000, U: 2000, D: 2000},
    "certified_copy": {INV: 30, U: 30, D: 30},
}
ANNUAL = {
    INV: [(1, 3, 900), (4, 6, 1200), (7, 9, 2000), (10, 12, 4000), (13, 15, 6000), (16, 20, 8000)],
    U: [(1, 3, 600), (4, 5, 900), (6, 8, 1200), (9, 10, 2000)],
    D: [(1, 3, 600), (4, 5, 900), (6, 8, 1200), (9, 10, 2000)],
}
ABOLISHED = ["registration", "announcement_printing", "agency_change", "pct_transmittal"]


def _quote(**kwargs: object) -> dict:
    kwargs.setdefault("paid_on", TODAY_SCHEDULE)
    return quote_fees(QuoteRequest(**kwargs)).as_dict()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "kind", "amount"),
    [(c, k, a) for c, kinds in SINGLE_FEES.items() for k, a in kinds.items()],
)
def test_single_fee_amounts(code: str, kind: str, amount: int) -> None:
    quote = _quote(patent_kind=kind, fee_code=code)
    assert quote["total"] == f"{amount}.00"
    assert [(line["fee_code"], line["quantity"]) for line in quote["lines"]] == [(code, 1)]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (c, k)
        for c, kinds in {**SINGLE_FEES, **COUNTED_FEES}.items()
        for k in (INV, U, D)
        if k not in kinds
    ],
)
def test_fee_not_charged_for_kind_is_refused(code: str, kind: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _quote(patent_kind=kind, fee_code=code)
    assert list(caught.value.fields) == ["fee_code"]


@pytest.mark.parametrize(
    ("code", "kind", "amount"),
    [(c, k, a) for c, kinds in COUNTED_FEES.items() for k, a in kinds.items()],
)
def test_counted_fees(code: str, kind: str, amount: int) -> None:
    assert _quote(patent_kind=kind, fee_code=code)["total"] == f"{amount}.00"
    quote = _quote(patent_kind=kind, fee_code=code, quantity=3)
    assert quote["total"] == f"{amount * 3}.00"
    assert quote["lines"][0]["quantity"] == 3


@pytest.mark.parametrize(
    ("kind", "first", "last", "amount"),
    [(kind, *band) for kind, bands in ANNUAL.items() for band in bands],
)
def test_every_annual_band(kind: str, first: int, last: int, amount: int) -> None:
    for year in (first, last):
        assert _quote(patent_kind=kind, fee_code="annual", year=year)["total"] == f"{amount}.00"


@pytest.mark.parametrize(("kind", "year"), [(INV, 21), (U, 11), (D, 16), (INV, 0)])
def test_annual_year_beyond_term_is_refused(kind: str, year: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        _quote(patent_kind=kind, fee_code="annual", year=year)
    assert list(caught.value.fields) == ["year"]


def test_design_years_11_to_15_only_for_designs_filed_from_2021_06_01() -> None:
    for year in (11, 15):
        quote = _quote(
            patent_kind=D,
            fee_code="annual",
            year=year,
            filing_date=dt.date(2021, 6, 1),
            paid_on=dt.date(2025, 6, 3),
        )
        assert quote["total"] == "3000.00"
    for filing in (dt.date(2021, 5, 31), None):
        with pytest.raises(InvalidInput) as caught:
            _quote(patent_kind=D, fee_code="annual", year=11, filing_date=filing)
        assert "2021-06-01" in str(caught.value.fields["year"][0])


@pytest.mark.parametrize(
    ("claims", "quantity", "total"),
    [(1, 0, "0.00"), (10, 0, "0.00"), (11, 1, "150.00"), (25, 15, "2250.00")],
)
def test_claims_surcharge_from_the_eleventh_claim(claims: int, quantity: int, total: str) -> None:
    quote = _quote(patent_kind=U, fee_code="claims_surcharge", claims=claims)
    assert quote["total"] == total
    assert quote["lines"][0]["quantity"] == quantity


@pytest.mark.parametrize(
    ("pages", "lines", "total"),
    [
        (30, [0], "0.00"),
        (31, [1], "50.00"),
        (300, [270], "13500.00"),
        (301, [270, 1], "13600.00"),
        (350, [270, 50], "18500.00"),
    ],
)
def test_pages_surcharge_bands(pages: int, lines: list[int], total: str) -> None:
    quote = _quote(patent_kind=INV, fee_code="pages_surcharge", pages=pages)
    assert [line["quantity"] for line in quote["lines"]] == lines
    assert quote["total"] == total


@pytest.mark.parametrize("code", ABOLISHED)
def test_abolished_fees_expired_on_2018_08_01(code: str) -> None:
    before = _quote(patent_kind=INV, fee_code=code, paid_on=dt.date(2018, 7, 31))
    assert Decimal(before["total"]) > 0
    with pytest.raises(InvalidInput) as caught:
        _quote(patent_kind=INV, fee_code=code, paid_on=dt.date(2018, 8, 1))
    assert "fee_code" in caught.value.fields


def test_agency_change_fee_was_50() -> None:
    assert (
        _quote(patent_kind=D, fee_code="agency_change", paid_on=dt.date(2017, 1, 5))["total"]
        == "50.00"
    )
