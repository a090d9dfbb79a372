"""Reads of settlement: a month's figures, statements, overdue flags and penalties."""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from ipdesk.accounts.models import Organisation, OrganisationKind
from ipdesk.collection import selectors as collection
from ipdesk.collection.models import PaymentLine, Refund, RefundStatus
from ipdesk.core.money import ZERO, money_str

from .models import InterestDeclaration, MonthlyStatement, PenaltyDecision, StatementStatus

CORRECTION_PENALTY = Decimal("6.00")  # per application number corrected (office's error)
# Statements whose remittance is owed and not yet complete.
OPEN_FOR_REMITTANCE = {StatementStatus.CONFIRMED, StatementStatus.REMITTED_PARTIALLY}


def month_end(month: dt.date) -> dt.date:
    return month.replace(day=month_calendar.monthrange(month.year, month.month)[1])


def agency_offices() -> QuerySet[Organisation]:
    return Organisation.objects.filter(
        kind=OrganisationKind.AGENCY_OFFICE, is_active=True
    ).order_by("code")


@dataclass
class MonthFigures:
    fee_lines: list[dict[str, Any]] = field(default_factory=list)
    channel_lines: list[dict[str, Any]] = field(default_factory=list)
    entries: int = 0
    fees: Decimal = ZERO
    refunds: Decimal = ZERO


def month_figures(office: Organisation, month: dt.date) -> MonthFigures:
    """The office's reviewed entries booked in ``month`` and the refunds approved in it.

    Reversals (corrections) are reviewed entries with negative amounts and net out here.
    JSON lines carry amounts as strings ("1234.50") so that no float ever holds money.
    """
    first, last = month.replace(day=1), month_end(month)
    entries = collection.reviewed_payments(office).filter(booked_on__range=(first, last))
    figures = MonthFigures()
    for row in (
        PaymentLine.objects.filter(payment__in=entries)
        .values("fee_type__code", "fee_type__name_zh", "fee_type__sort_order")
        .annotate(n=Sum("quantity"), s=Sum("amount"))
        .order_by("fee_type__sort_order", "fee_type__code")
    ):
        figures.fee_lines.append(
            {
                "fee": row["fee_type__code"],
                "name": row["fee_type__name_zh"],
                "quantity": row["n"] or 0,
                "amount": money_str(row["s"] or ZERO),
            }
        )
    for channel_row in (
        entries.values("channel").annotate(n=Count("id"), s=Sum("total")).order_by("channel")
    ):
        figures.channel_lines.append(
            {
                "channel": channel_row["channel"],
                "entries": channel_row["n"],
                "amount": money_str(channel_row["s"] or ZERO),
            }
        )
    agg = entries.aggregate(n=Count("id"), s=Sum("total"))
    figures.entries = agg["n"] or 0
    figures.fees = agg["s"] or ZERO
    figures.refunds = (
        Refund.objects.filter(
            office=office, status=RefundStatus.APPROVED, decided_on__range=(first, last)
        ).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    return figures


def statements_of(office: Organisation) -> QuerySet[MonthlyStatement]:
    return MonthlyStatement.objects.filter(office=office).order_by("-month", "-revision")


def current_statement(office: Organisation, month: dt.date) -> MonthlyStatement | None:
    """The latest revision of the office's statement for the month."""
    return (
        MonthlyStatement.objects.filter(office=office, month=month.replace(day=1))
        .order_by("-revision")
        .first()
    )


def remitted_sum(statement: MonthlyStatement) -> Decimal:
    """Recomputed from the remittance rows (``remitted_total`` is kept in step with it)."""
    return statement.remittances.aggregate(s=Sum("amount"))["s"] or ZERO


def outstanding(statement: MonthlyStatement) -> Decimal:
    return max(statement.amount_due - statement.remitted_total, ZERO)


def is_remittance_overdue(statement: MonthlyStatement, today: dt.date | None = None) -> bool:
    """Accepted, not fully remitted, and the one-week deadline has passed."""
    today = today or timezone.localdate()
    return (
        statement.status in OPEN_FOR_REMITTANCE
        and statement.remit_deadline is not None
        and today > statement.remit_deadline
    )


def is_correction_overdue(statement: MonthlyStatement, today: dt.date | None = None) -> bool:
    """Disputed and the fee office has not sent the corrected statement in time.

    For a corrected statement itself: it was issued after its due date.
    """
    today = today or timezone.localdate()
    if statement.status == StatementStatus.DISPUTED and statement.correction_due_on:
        return today > statement.correction_due_on
    return statement.due_on is not None and statement.issued_on > statement.due_on


def overdue_statements(today: dt.date | None = None) -> list[MonthlyStatement]:
    today = today or timezone.localdate()
    candidates = MonthlyStatement.objects.filter(
        status__in=OPEN_FOR_REMITTANCE | {StatementStatus.DISPUTED}
    ).select_related("office")
    return [
        s for s in candidates if is_remittance_overdue(s, today) or is_correction_overdue(s, today)
    ]


def delay_days(statement: MonthlyStatement, today: dt.date | None = None) -> int:
    """Days after the remit deadline until the remittance that completed the amount due.

    Still incomplete: counted up to ``today`` (the count is still running).
    """
    if statement.remit_deadline is None:
        return 0
    end = statement.completed_on or today or timezone.localdate()
    return max((end - statement.remit_deadline).days, 0)


@dataclass
class PenaltyItem:
    kind: str
    count: int
    rate: Decimal | None
    amount: Decimal
    explanation: str


@dataclass
class Penalties:
    office: Organisation
    year: int
    items: list[PenaltyItem] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((item.amount for item in self.items), ZERO)


def penalties(office: Organisation, year: int, today: dt.date | None = None) -> Penalties:
    """The office's penalties of ``year``, each with how it was computed.

    - 6 yuan per application number corrected through the office's error that year;
    - 20 % deductions decided by the fee office for that year.

    Late remittance is not fined by the day: seed 004 fines 200 yuan a day only for late
    transmission of fee data or late sending of receipts, which ipdesk does not record yet;
    a late remittance shows as overdue (``delay_days``) and withheld fees are for the fee
    office's 20 % decision.
    """
    today = today or timezone.localdate()
    result = Penalties(office=office, year=year)
    numbers = collection.office_error_corrections(office, year)
    if numbers:
        result.items.append(
            PenaltyItem(
                kind="correction",
                count=len(numbers),
                rate=CORRECTION_PENALTY,
                amount=CORRECTION_PENALTY * len(numbers),
                explanation=(
                    f"{len(numbers)} × {CORRECTION_PENALTY} yuan: application numbers corrected "
                    f"through the office's error: {', '.join(numbers)}"
                ),
            )
        )
    for decision in PenaltyDecision.objects.filter(office=office, year=year).order_by("id"):
        result.items.append(
            PenaltyItem(
                kind="deduction",
                count=1,
                rate=decision.rate,
                amount=decision.amount,
                explanation=(
                    f"decision {decision.reference}: {decision.rate:.0%} of "
                    f"{decision.base_amount} yuan ({decision.reason})"
                ),
            )
        )
    return result


def interest_of(office: Organisation, year: int) -> QuerySet[InterestDeclaration]:
    return InterestDeclaration.objects.filter(office=office, month__year=year).order_by("month")
