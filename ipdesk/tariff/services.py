"""The fee calculator and changes to the schedule.

Pricing rules (reference/cnipa-fees.md §1–4, §6):

- a fee is priced by the schedule version in force on the payment date;
- claims surcharge from the 11th claim; pages surcharge per page for pages 31–300 and at a
  higher rate from page 301; counted fees (priority claims, copies, extension months) per unit;
- fee reduction (费减) of 85 % or 70 % applies only to reducible fees, and to annual fees only
  for the years within the version's reducible span from the patent year of grant;
- an annual fee paid after its due date (the filing anniversary starting that patent year,
  moved to the next working day) carries a late charge (滞纳金) of a per cent of the full,
  unreduced fee by month of delay, from the late-charge bands of the version in force on the
  payment date (0/5/10/15/20/25 % in the official schedule); after the last band the right
  has lapsed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ipdesk.audit.services import record_event
from ipdesk.core.deadlines import add_months, deadline
from ipdesk.core.errors import InvalidInput
from ipdesk.core.money import money_str, round_money, to_money

from . import selectors
from .models import (
    FeeRate,
    FeeType,
    LateChargeBand,
    PatentKind,
    QuantityBasis,
    Reduction,
    ScheduleVersion,
)

MAX_COUNT = 999
MAX_UNITS = 100_000
FREE_CLAIMS = 10
FREE_PAGES = 30


@dataclass(frozen=True)
class QuoteRequest:
    patent_kind: str
    fee_code: str
    quantity: int | None = None
    year: int | None = None
    claims: int | None = None
    pages: int | None = None
    reduction: int = 0
    filing_date: dt.date | None = None
    grant_date: dt.date | None = None
    paid_on: dt.date | None = None


@dataclass(frozen=True)
class QuoteLine:
    fee_code: str
    name: str
    unit: str
    base: Decimal
    quantity: int
    reduction: int
    late_charge: Decimal
    amount: Decimal
    explanation: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "fee_code": self.fee_code,
            "name": self.name,
            "unit": self.unit,
            "base": money_str(self.base),
            "quantity": self.quantity,
            "reduction": self.reduction,
            "late_charge": money_str(self.late_charge),
            "amount": money_str(self.amount),
            "explanation": self.explanation,
        }


@dataclass(frozen=True)
class Quote:
    lines: list[QuoteLine]
    paid_on: dt.date
    schedule: str
    total: Decimal = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "total", sum((line.amount for line in self.lines), Decimal("0.00"))
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": [line.as_dict() for line in self.lines],
            "total": money_str(self.total),
            "paid_on": self.paid_on.isoformat(),
            "schedule": self.schedule,
        }


def patent_year(filing_date: dt.date, day: dt.date) -> int:
    """The patent year (counted from the filing date, year 1 first) that contains ``day``."""
    years = day.year - filing_date.year
    if add_months(filing_date, 12 * years) > day:
        years -= 1
    return years + 1


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _kind_label(kind: str) -> str:
    return str(PatentKind(kind).label)


def _check_request(req: QuoteRequest) -> tuple[FeeType, ScheduleVersion, dt.date]:
    errors: dict[str, Any] = {}
    paid_on = req.paid_on or timezone.localdate()
    if req.patent_kind not in PatentKind.values:
        errors["patent_kind"] = _("Unknown patent kind; use invention, utility_model or design.")
    fee = selectors.fee_type(req.fee_code)
    if fee is None:
        errors["fee_code"] = _("Unknown fee code %(code)s.") % {"code": req.fee_code}
    if req.reduction not in Reduction.values:
        errors["reduction"] = _("Fee reduction is one of %(choices)s (per cent off).") % {
            "choices": ", ".join(str(value) for value in sorted(Reduction.values))
        }
    if req.filing_date and req.filing_date > paid_on:
        errors["filing_date"] = _("The filing date is after the payment date.")
    if req.grant_date and req.filing_date and req.grant_date < req.filing_date:
        errors["grant_date"] = _("The grant date is before the filing date.")
    if req.grant_date and req.grant_date > paid_on:
        errors["grant_date"] = _("The grant date is after the payment date.")
    version = selectors.version_in_force(paid_on)
    if version is None:
        errors["paid_on"] = _("No fee schedule is in force on %(date)s.") % {"date": paid_on}
    if errors:
        raise InvalidInput(fields=errors)
    assert fee is not None and version is not None
    return fee, version, paid_on


def _rates(
    req: QuoteRequest, fee: FeeType, version: ScheduleVersion, paid_on: dt.date
) -> list[FeeRate]:
    rates = selectors.rates_for(version, fee, req.patent_kind)
    if rates:
        return rates
    if any(selectors.rates_for(version, fee, kind) for kind in PatentKind.values):
        message = _("%(fee)s is not charged for this patent kind (%(kind)s).") % {
            "fee": fee.name,
            "kind": _kind_label(req.patent_kind),
        }
    else:
        message = _("%(fee)s is not in the fee schedule in force on %(date)s.") % {
            "fee": fee.name,
            "date": paid_on,
        }
    raise InvalidInput(fields={"fee_code": message})


def _positive(
    value: int | None, name: str, *, required: bool, default: int = 1, low: int = 1
) -> int:
    if value is None:
        if required:
            raise InvalidInput(fields={name: _("This fee needs %(name)s.") % {"name": name}})
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_UNITS:
        raise InvalidInput(fields={name: _("Enter a whole number from %(low)s.") % {"low": low}})
    return value


def _reduced(base: Decimal, reduction: int) -> Decimal:
    return round_money(base * (100 - reduction) / 100)


def _line(
    fee: FeeType,
    base: Decimal,
    quantity: int,
    reduction: int,
    explanation: list[str],
    late_charge: Decimal = Decimal("0.00"),
) -> QuoteLine:
    unit_price = _reduced(base, reduction)
    amount = unit_price * quantity + late_charge
    return QuoteLine(
        fee_code=fee.code,
        name=fee.name,
        unit=fee.unit,
        base=base,
        quantity=quantity,
        reduction=reduction,
        late_charge=late_charge,
        amount=to_money(amount),
        explanation=" ".join(explanation),
    )


def _reduction_words(base: Decimal, reduction: int, quantity: int = 1) -> str:
    return gettext("Fee reduction of %(r)s%%: pays %(p)s%% of %(base)s, that is %(price)s.") % {
        "r": reduction,
        "p": 100 - reduction,
        "base": _money(base),
        "price": _money(_reduced(base, reduction)),
    }


def quote_fees(req: QuoteRequest) -> Quote:
    """Price one fee request; every line says in words how it was computed."""
    fee, version, paid_on = _check_request(req)
    if (
        req.quantity is not None
        and fee.basis in (QuantityBasis.ONCE, QuantityBasis.ANNUAL)
        and req.quantity != 1
    ):
        raise InvalidInput(
            fields={"quantity": _("%(fee)s is charged once per request.") % {"fee": fee.name}}
        )
    rates = _rates(req, fee, version, paid_on)
    reduction = req.reduction if fee.reducible else 0
    not_reducible = (
        [gettext("%(fee)s is not reducible: the full fee applies.") % {"fee": fee.name}]
        if req.reduction and not fee.reducible
        else []
    )
    kind = _kind_label(req.patent_kind)

    if fee.basis == QuantityBasis.ANNUAL:
        lines = [_annual_line(req, fee, version, rates, paid_on)]
    elif fee.basis == QuantityBasis.CLAIMS:
        claims = _positive(req.claims, "claims", required=True)
        rate = rates[0]
        extra = max(0, claims - rate.band_from + 1)
        if extra:
            text = gettext(
                "Claims %(a)s to %(b)s (%(n)s beyond the first ten) at %(base)s each."
            ) % {
                "a": rate.band_from,
                "b": claims,
                "n": extra,
                "base": _money(rate.amount),
            }
        else:
            text = gettext(
                "No surcharge: the first ten claims are included in the application fee."
            )
        lines = [_line(fee, rate.amount, extra, 0, [text, *not_reducible])]
    elif fee.basis == QuantityBasis.PAGES:
        pages = _positive(req.pages, "pages", required=True)
        lines = []
        for rate in rates:
            last = min(pages, rate.band_to) if rate.band_to else pages
            count = max(0, last - rate.band_from + 1)
            if count:
                text = gettext("Pages %(a)s to %(b)s (%(n)s pages) at %(base)s each.") % {
                    "a": rate.band_from,
                    "b": last,
                    "n": count,
                    "base": _money(rate.amount),
                }
                lines.append(_line(fee, rate.amount, count, 0, [text, *not_reducible]))
        if not lines:
            text = gettext(
                "No surcharge: the first %(n)s pages of the description are included."
            ) % {"n": FREE_PAGES}
            lines = [_line(fee, rates[0].amount, 0, 0, [text])]
    else:
        if fee.basis == QuantityBasis.COUNT:
            quantity = _positive(req.quantity, "quantity", required=False)
            if quantity > MAX_COUNT:
                raise InvalidInput(fields={"quantity": _("At most %(n)s.") % {"n": MAX_COUNT}})
        else:
            quantity = 1
        rate = rates[0]
        words = [
            gettext("%(fee)s (%(kind)s): %(base)s per %(unit)s.")
            % {
                "fee": fee.name,
                "kind": kind,
                "base": _money(rate.amount),
                "unit": fee.unit,
            }
        ]
        if quantity != 1:
            words.append(gettext("Quantity %(n)s.") % {"n": quantity})
        if reduction:
            words.append(_reduction_words(rate.amount, reduction))
        lines = [_line(fee, rate.amount, quantity, reduction, words + not_reducible)]
    return Quote(lines=lines, paid_on=paid_on, schedule=version.name)


def _annual_line(
    req: QuoteRequest,
    fee: FeeType,
    version: ScheduleVersion,
    rates: list[FeeRate],
    paid_on: dt.date,
) -> QuoteLine:
    year = req.year
    if year is None:
        raise InvalidInput(fields={"year": _("Give the patent year the annual fee is for.")})
    kind = _kind_label(req.patent_kind)
    plain = [r for r in rates if r.filed_from is None]
    last_year = max((r.band_to or r.band_from) for r in plain)
    conditional = [r for r in rates if r.filed_from is not None]
    rate = next((r for r in plain if r.band_from <= year <= (r.band_to or year)), None)
    if rate is None:
        rate = next((r for r in conditional if r.band_from <= year <= (r.band_to or year)), None)
        filed_from = rate.filed_from if rate is not None else None
        if filed_from is not None and (req.filing_date is None or req.filing_date < filed_from):
            raise InvalidInput(
                fields={
                    "year": _(
                        "Annual fees for patent year %(year)s (%(kind)s) apply only to "
                        "applications filed from %(date)s; give a filing date on or after it."
                    )
                    % {"year": year, "kind": kind, "date": filed_from}
                }
            )
    if rate is None:
        top = max([last_year, *[(r.band_to or r.band_from) for r in conditional]])
        raise InvalidInput(
            fields={
                "year": _("Annual fees (%(kind)s) run for patent years 1 to %(last)s.")
                % {"kind": kind, "last": top}
            }
        )
    base = rate.amount
    words = [
        gettext("Annual fee, patent year %(year)s (%(kind)s): %(base)s.")
        % {
            "year": year,
            "kind": kind,
            "base": _money(base),
        }
    ]

    grant_year = None
    if req.grant_date is not None:
        if req.filing_date is None:
            raise InvalidInput(
                fields={"filing_date": _("Give the filing date with the grant date.")}
            )
        grant_year = patent_year(req.filing_date, req.grant_date)
        if year < grant_year:
            raise InvalidInput(
                fields={
                    "year": _("Annual fees start with the year of grant, patent year %(g)s.")
                    % {"g": grant_year}
                }
            )

    reduction = 0
    if req.reduction:
        if grant_year is None:
            raise InvalidInput(
                fields={
                    "grant_date": _(
                        "Fee reduction on annual fees depends on the year of grant: give the "
                        "filing and grant dates."
                    )
                }
            )
        span = version.reduction_annual_years
        if year <= grant_year + span - 1:
            reduction = req.reduction
            words.append(
                gettext(
                    "Year %(year)s is within %(span)s years from the year of grant (year %(g)s)."
                )
                % {"year": year, "span": span, "g": grant_year}
            )
            words.append(_reduction_words(base, reduction))
        else:
            words.append(
                gettext(
                    "Year %(year)s is beyond the %(span)s years from the year of grant "
                    "(year %(g)s) that fee reduction covers: the full fee applies."
                )
                % {"year": year, "span": span, "g": grant_year}
            )

    late_charge = Decimal("0.00")
    if req.filing_date is not None and (grant_year is None or year > grant_year):
        nominal_due = add_months(req.filing_date, 12 * (year - 1))
        # Paid before the nominal due date: on time, whatever the calendar of that year says.
        due = nominal_due if paid_on <= nominal_due else deadline(nominal_due)
        if paid_on > due:
            bands = selectors.late_charge_bands(version)
            band = next(
                (b for b in bands if paid_on <= deadline(nominal_due, months=b.month)), None
            )
            if band is None:
                last = bands[-1]  # every version has its bands (add_schedule_version, data)
                raise InvalidInput(
                    fields={
                        "paid_on": _(
                            "More than %(months)s months after the due date %(due)s the patent "
                            "right has lapsed: request restoration (恢复权利请求费) and pay the "
                            "fee with the full %(percent)s%% late charge."
                        )
                        % {"months": last.month, "due": due, "percent": last.percent}
                    }
                )
            month, percent = band.month, band.percent
            late_charge = round_money(base * percent / 100)
            words.append(
                gettext(
                    "Due %(due)s, paid %(paid)s: up to %(m)s months late, late charge %(p)s%% "
                    "of the full fee, %(late)s."
                )
                % {
                    "due": due,
                    "paid": paid_on,
                    "m": month,
                    "p": percent,
                    "late": _money(late_charge),
                }
            )
        else:
            words.append(gettext("Due %(due)s: paid on time.") % {"due": due})
    elif grant_year is not None and year == grant_year:
        words.append(
            gettext("The fee for the year of grant is paid with the registration formalities.")
        )
    return _line(fee, base, 1, reduction, words, late_charge)


def add_schedule_version(
    *,
    valid_from: dt.date,
    name: str,
    source: str,
    rates: Iterable[Mapping[str, Any]],
    reduction_annual_years: int | None = None,
    late_charges: Iterable[Mapping[str, Any]] | None = None,
    actor: Any = None,
) -> ScheduleVersion:
    """Add a complete schedule in force from ``valid_from`` (a future date).

    ``rates`` lists every amount of the new version: ``{"fee", "kind", "amount", "from"?,
    "to"?, "filed_from"?, "note"?}``. A fee left out is no longer charged from that date.
    ``late_charges`` lists its late-charge bands, ``{"month", "percent"}`` for months 1, 2, …;
    left out, the version before it lends its own.
    """
    errors: dict[str, Any] = {}
    today = timezone.localdate()
    if valid_from <= today:
        errors["valid_from"] = _(
            "A new schedule starts after today; versions already in force never change."
        )
    elif selectors.versions().filter(valid_from=valid_from).exists():
        errors["valid_from"] = _("A schedule version already starts on this date.")
    if not name.strip():
        errors["name"] = _("The name is required.")
    if not source.strip():
        errors["source"] = _("Name the notice the amounts come from.")
    previous = selectors.version_in_force(valid_from)
    span = (
        reduction_annual_years
        if reduction_annual_years is not None
        else (previous.reduction_annual_years if previous else None)
    )
    if span is None or not 1 <= span <= 20:
        errors["reduction_annual_years"] = _(
            "Give the number of reducible annual-fee years (1–20)."
        )
    fee_by_code = {f.code: f for f in selectors.fee_types()}
    parsed: list[FeeRate] = []
    seen: set[tuple[str, str, int, Any]] = set()
    for index, row in enumerate(rates):
        where = f"rates[{index}]"
        fee = fee_by_code.get(str(row.get("fee")))
        kind = row.get("kind")
        problems: list[Any] = []
        if fee is None:
            problems.append(_("Unknown fee code %(code)s.") % {"code": row.get("fee")})
        if kind not in PatentKind.values:
            problems.append(_("Unknown patent kind; use invention, utility_model or design."))
        try:
            amount: Decimal | None = to_money(str(row.get("amount")))
        except ValidationError:
            amount = None
        if amount is None or amount < 0:
            problems.append(_("The amount must be a non-negative amount in yuan."))
        try:
            band_from = int(row.get("from") or 0)
            band_to = int(row["to"]) if row.get("to") is not None else None
            filed_from = dt.date.fromisoformat(row["filed_from"]) if row.get("filed_from") else None
        except (TypeError, ValueError):
            problems.append(_("Bands are whole numbers and dates are written YYYY-MM-DD."))
            band_from, band_to, filed_from = 0, None, None
        if band_to is not None and band_to < band_from:
            problems.append(_("The band ends before it starts."))
        key = (str(row.get("fee")), str(kind), band_from, filed_from)
        if key in seen:
            problems.append(_("This band is listed twice."))
        seen.add(key)
        if problems or fee is None or amount is None:
            errors[where] = problems
            continue
        parsed.append(
            FeeRate(
                fee_type=fee,
                patent_kind=str(kind),
                band_from=band_from,
                band_to=band_to,
                filed_from=filed_from,
                amount=amount,
                note=str(row.get("note", ""))[:200],
            )
        )
    if not parsed and "rates" not in errors:
        errors["rates"] = _("A schedule lists its amounts; none were given.")
    if late_charges is None:
        lent = selectors.late_charge_bands(previous) if previous else []
        bands = [(band.month, band.percent) for band in lent]
    else:
        bands = _parse_late_charges(late_charges, errors)
    if not bands and "late_charges" not in errors:
        errors["late_charges"] = _("Give the late charge of each month of delay, from month 1.")
    if errors or span is None:
        raise InvalidInput(fields=errors)
    with transaction.atomic():
        version = ScheduleVersion.objects.create(
            valid_from=valid_from,
            name=name.strip(),
            source=source.strip(),
            reduction_annual_years=span,
            created_by=actor,
        )
        for rate in parsed:
            rate.version = version
        FeeRate.objects.bulk_create(parsed)
        LateChargeBand.objects.bulk_create(
            LateChargeBand(version=version, month=month, percent=percent)
            for month, percent in bands
        )
        record_event(
            "tariff.schedule.added",
            actor=actor,
            obj=version,
            payload={
                "valid_from": valid_from,
                "name": version.name,
                "reduction_annual_years": span,
                "late_charges": [[month, percent] for month, percent in bands],
                "rates": [
                    [r.fee_type.code, r.patent_kind, r.band_from, r.band_to, r.filed_from, r.amount]
                    for r in parsed
                ],
            },
        )
    return version


def _parse_late_charges(
    rows: Iterable[Mapping[str, Any]], errors: dict[str, Any]
) -> list[tuple[int, int]]:
    """Bands as (month, percent), months 1, 2, … in order; problems go into ``errors``."""
    bands: list[tuple[int, int]] = []
    for index, row in enumerate(rows):
        month, percent = (
            (row.get("month"), row.get("percent")) if isinstance(row, Mapping) else (None, None)
        )
        if not isinstance(month, int) or isinstance(month, bool) or month != index + 1:
            errors[f"late_charges[{index}]"] = _(
                "List the bands by month of delay, 1, 2, 3 and so on: this one is to be month "
                "%(month)s."
            ) % {"month": index + 1}
        elif not isinstance(percent, int) or isinstance(percent, bool) or not 0 <= percent <= 100:
            errors[f"late_charges[{index}]"] = _("A late charge is a whole per cent, 0 to 100.")
        else:
            bands.append((month, percent))
    return bands
