"""Reads of settlement: a month's figures, statements, overdue flags and penalties."""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext

from ipdesk.accounts import policy
from ipdesk.accounts.models import Organisation, OrganisationKind
from ipdesk.collection import selectors as collection
from ipdesk.collection.models import (
    JournalLine,
    LedgerAccount,
    Payment,
    PaymentLine,
    Refund,
    RefundStatus,
)
from ipdesk.core.calendar import calendar
from ipdesk.core.money import ZERO, money_str

from .models import (
    DaySubmission,
    InterestDeclaration,
    MonthlyStatement,
    PenaltyDecision,
    StatementStatus,
)

CORRECTION_PENALTY = Decimal("6.00")  # per application number corrected (office's error)
DATA_DELAY_FINE = Decimal("200.00")  # per working day of delay (数据传输、寄送收据)
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
    figures.refunds = fee_refunds(office, first, last).aggregate(s=Sum("amount"))["s"] or ZERO
    return figures


def fee_refunds(office: Organisation, first: dt.date, last: dt.date) -> QuerySet[Refund]:
    """Approved refunds of booked fees decided in the period.

    A returned remittance (no valid application number) is no fee: it was owed back from
    the day it arrived (应退费用) and never enters the amount due.
    """
    return Refund.objects.filter(
        office=office,
        status=RefundStatus.APPROVED,
        payment__isnull=False,
        decided_on__range=(first, last),
    )


def statements_of(office: Organisation) -> QuerySet[MonthlyStatement]:
    return MonthlyStatement.objects.filter(office=office).order_by("-month", "-revision")


def visible_statements(user: Any) -> QuerySet[MonthlyStatement]:
    """Statements ``user`` may see (access policy), by office code, newest month first."""
    return (
        MonthlyStatement.objects.filter(policy.office_filter(user))
        .select_related("office")
        .order_by("office__code", "-month", "-revision")
    )


def statement(pk: int) -> MonthlyStatement | None:
    return MonthlyStatement.objects.select_related("office").filter(pk=pk).first()


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


# --- the days' data sent to the fee office (报送) -------------------------------------------


def submission_due(day: dt.date) -> dt.date:
    """A booking day's data is due by the next working day.

    Bank and post remittances may be booked up to the next working day, so a day's data is
    final at its end; the office sends it (with the receipts) by the following working day.
    """
    return calendar.add_working_days(day, 1)


def submissions_of(office: Organisation, year: int) -> QuerySet[DaySubmission]:
    return DaySubmission.objects.filter(office=office, day__year=year).order_by("day")


def submission(pk: int) -> DaySubmission | None:
    return DaySubmission.objects.select_related("office").filter(pk=pk).first()


def days_not_submitted(office: Organisation, year: int, until: dt.date) -> list[dt.date]:
    """Booking days of ``year`` up to ``until`` with entries whose data was never sent."""
    booked = set(
        Payment.objects.filter(office=office, booked_on__year=year, booked_on__lte=until)
        .values_list("booked_on", flat=True)
        .distinct()
    )
    sent = set(submissions_of(office, year).values_list("day", flat=True))
    return sorted(booked - sent)


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

    - 200 yuan per working day a booking day's data (with its receipts) was sent after its
      due date, unless the fee office accepted a reason; a day never sent counts up to
      ``today`` and is marked as still running;
    - 20 % deductions decided by the fee office for that year.

    Late remittance itself is not fined by the day: seed 004 fines only late data and late
    receipts that way; a late remittance shows as overdue (``delay_days``), and withheld
    fees are for the fee office's 20 % decision.
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
                explanation=gettext(
                    "%(count)s × %(rate)s yuan: application numbers corrected through the "
                    "office's error: %(numbers)s"
                )
                % {
                    "count": len(numbers),
                    "rate": CORRECTION_PENALTY,
                    "numbers": ", ".join(numbers),
                },
            )
        )
    for submission in submissions_of(office, year).filter(late_working_days__gt=0, excuse=""):
        days = submission.late_working_days
        result.items.append(
            PenaltyItem(
                kind="late_data",
                count=days,
                rate=DATA_DELAY_FINE,
                amount=DATA_DELAY_FINE * days,
                explanation=gettext(
                    "data of %(day)s due %(due)s, sent %(sent)s: %(days)s working day(s) × "
                    "%(rate)s yuan"
                )
                % {
                    "day": submission.day,
                    "due": submission.due_on,
                    "sent": submission.submitted_on,
                    "days": days,
                    "rate": DATA_DELAY_FINE,
                },
            )
        )
    for day in days_not_submitted(office, year, today):
        due = submission_due(day)
        days = calendar.working_days_between(due, today) if today > due else 0
        if days:
            result.items.append(
                PenaltyItem(
                    kind="late_data_running",
                    count=days,
                    rate=DATA_DELAY_FINE,
                    amount=DATA_DELAY_FINE * days,
                    explanation=gettext(
                        "data of %(day)s due %(due)s, not sent by %(today)s: %(days)s working "
                        "day(s) × %(rate)s yuan so far"
                    )
                    % {
                        "day": day,
                        "due": due,
                        "today": today,
                        "days": days,
                        "rate": DATA_DELAY_FINE,
                    },
                )
            )
    for decision in PenaltyDecision.objects.filter(office=office, year=year).order_by("id"):
        result.items.append(
            PenaltyItem(
                kind="deduction",
                count=1,
                rate=decision.rate,
                amount=decision.amount,
                explanation=gettext(
                    "decision %(reference)s: %(rate)s of %(base)s yuan (%(reason)s)"
                )
                % {
                    "reference": decision.reference,
                    "rate": f"{decision.rate:.0%}",
                    "base": decision.base_amount,
                    "reason": decision.reason,
                },
            )
        )
    return result


def interest_of(office: Organisation, year: int) -> QuerySet[InterestDeclaration]:
    return InterestDeclaration.objects.filter(office=office, month__year=year).order_by("month")


# --- monthly reports (科目余额表, 应交局费用明细表, 资产负债表) ---------------------------------

ASSET_ACCOUNTS = (LedgerAccount.BANK, LedgerAccount.CASH)
LIABILITY_ACCOUNTS = (
    LedgerAccount.FEES_PAYABLE,
    LedgerAccount.INTEREST_PAYABLE,
    LedgerAccount.REFUNDS_PAYABLE,
)
REPORT_WORKING_DAYS = 5  # 每月第一个工作周: the first five working days of the next month


def _side(net_debit: Decimal) -> tuple[Decimal, Decimal]:
    """A balance shown on its side: (debit, credit)."""
    return (net_debit, ZERO) if net_debit >= ZERO else (ZERO, -net_debit)


@dataclass
class AccountRow:
    account: str
    name: str
    opening: tuple[Decimal, Decimal]
    period: tuple[Decimal, Decimal]
    closing: tuple[Decimal, Decimal]


@dataclass
class TrialBalance:
    """科目余额表: opening balance, movements of the month and closing balance per account."""

    rows: list[AccountRow]

    def total(self, column: str) -> tuple[Decimal, Decimal]:
        pairs = [getattr(row, column) for row in self.rows]
        return sum((d for d, _c in pairs), ZERO), sum((c for _d, c in pairs), ZERO)

    @property
    def balances(self) -> bool:
        return all(
            self.total(column)[0] == self.total(column)[1]
            for column in ("opening", "period", "closing")
        )


@dataclass
class PayableDetail:
    """应交局费用明细表: what the office owes the fee office, by fee type, for the month."""

    opening: Decimal
    fee_lines: list[dict[str, Any]]
    fees: Decimal
    refunds: Decimal
    remitted: Decimal
    closing: Decimal

    @property
    def computed_closing(self) -> Decimal:
        return self.opening + self.fees - self.refunds - self.remitted


@dataclass
class BalanceSheet:
    """资产负债表 at the month's last day; an office holds no equity of its own."""

    assets: list[tuple[str, Decimal]]
    liabilities: list[tuple[str, Decimal]]
    equity: Decimal

    @property
    def total_assets(self) -> Decimal:
        return sum((amount for _n, amount in self.assets), ZERO)

    @property
    def total_liabilities(self) -> Decimal:
        return sum((amount for _n, amount in self.liabilities), ZERO)

    @property
    def balances(self) -> bool:
        return self.total_assets == self.total_liabilities + self.equity


@dataclass
class Check:
    label: str
    left: Decimal
    right: Decimal

    @property
    def ok(self) -> bool:
        return self.left == self.right


@dataclass
class MonthlyReports:
    office: Organisation
    month: dt.date
    due_on: dt.date
    statement: MonthlyStatement | None
    trial_balance: TrialBalance
    payable: PayableDetail
    balance_sheet: BalanceSheet
    checks: list[Check]

    @property
    def reconciled(self) -> bool:
        return all(check.ok for check in self.checks)


def reports_due(month: dt.date) -> dt.date:
    """The monthly reports are sent in the first working week of the next month."""
    return calendar.add_working_days(month_end(month), REPORT_WORKING_DAYS)


def _period_movements(office: Organisation, first: dt.date, last: dt.date) -> dict[str, Decimal]:
    """Fees payable moved in the period, by cause: fees (net of reversals), refunds, remitted."""
    lines = JournalLine.objects.filter(
        entry__office=office,
        entry__posted_on__range=(first, last),
        account=LedgerAccount.FEES_PAYABLE,
    )

    def net_credit(queryset: QuerySet[JournalLine]) -> Decimal:
        agg = queryset.aggregate(d=Sum("debit"), c=Sum("credit"))
        return (agg["c"] or ZERO) - (agg["d"] or ZERO)

    return {
        "fees": net_credit(lines.filter(entry__payment__isnull=False)),
        "refunds": -net_credit(lines.filter(entry__refund__isnull=False)),
        # Only remittances to the fee office touch fees payable without a payment or refund.
        "remitted": -net_credit(
            lines.filter(entry__payment__isnull=True, entry__refund__isnull=True)
        ),
    }


def monthly_reports(office: Organisation, month: dt.date) -> MonthlyReports:
    """The office's three monthly reports, from its ledger, with their reconciliation.

    Checks: the trial balance balances; assets = liabilities + equity; the payable detail
    rolls forward to the ledger's closing balance; the month's fees equal the sum of the
    daily reports and the statement, its refunds the statement's.
    """
    first, last = month.replace(day=1), month_end(month)
    opening = collection.ledger_balances(office, until=first - dt.timedelta(days=1))
    closing = collection.ledger_balances(office, until=last)
    rows = []
    for account in ASSET_ACCOUNTS + LIABILITY_ACCOUNTS:
        od, oc = opening.get(account, (ZERO, ZERO))
        cd, cc = closing.get(account, (ZERO, ZERO))
        rows.append(
            AccountRow(
                account=account,
                name=str(LedgerAccount(account).label),
                opening=_side(od - oc),
                period=(cd - od, cc - oc),
                closing=_side(cd - cc),
            )
        )
    trial = TrialBalance(rows)

    def credit_balance(balances: dict[str, tuple[Decimal, Decimal]], account: str) -> Decimal:
        debit, credit = balances.get(account, (ZERO, ZERO))
        return credit - debit

    def debit_balance(balances: dict[str, tuple[Decimal, Decimal]], account: str) -> Decimal:
        return -credit_balance(balances, account)

    figures = month_figures(office, first)
    moved = _period_movements(office, first, last)
    payable = PayableDetail(
        opening=credit_balance(opening, LedgerAccount.FEES_PAYABLE),
        fee_lines=figures.fee_lines,
        fees=moved["fees"],
        refunds=moved["refunds"],
        remitted=moved["remitted"],
        closing=credit_balance(closing, LedgerAccount.FEES_PAYABLE),
    )
    sheet = BalanceSheet(
        assets=[(str(LedgerAccount(a).label), debit_balance(closing, a)) for a in ASSET_ACCOUNTS],
        liabilities=[
            (str(LedgerAccount(a).label), credit_balance(closing, a)) for a in LIABILITY_ACCOUNTS
        ],
        equity=ZERO,
    )
    daily_total = sum(
        (
            collection.daily_report(office, first + dt.timedelta(days=n)).total
            for n in range((last - first).days + 1)
        ),
        ZERO,
    )
    statement = current_statement(office, first)
    checks = [
        Check(gettext("trial balance: debits = credits (closing)"), *trial.total("closing")),
        Check(gettext("trial balance: debits = credits (month)"), *trial.total("period")),
        Check(
            gettext("balance sheet: assets = liabilities + equity"),
            sheet.total_assets,
            sheet.total_liabilities + sheet.equity,
        ),
        Check(
            gettext("fees payable: opening + fees - refunds - remitted = closing"),
            payable.computed_closing,
            payable.closing,
        ),
        Check(
            gettext("fee types add up to the month's fees"),
            sum((Decimal(line["amount"]) for line in figures.fee_lines), ZERO),
            figures.fees,
        ),
        Check(gettext("fees by fee type = fees in the ledger"), figures.fees, payable.fees),
        Check(gettext("sum of the daily reports = fees in the ledger"), daily_total, payable.fees),
        Check(
            gettext("refunds approved = refunds in the ledger"), figures.refunds, payable.refunds
        ),
    ]
    if statement is not None:
        checks += [
            Check(
                gettext("statement fees = fees in the ledger"), statement.fees_total, payable.fees
            ),
            Check(
                gettext("statement refunds = refunds in the ledger"),
                statement.refunds_total,
                payable.refunds,
            ),
            Check(
                gettext("statement amount due = fees - refunds"),
                statement.amount_due,
                payable.fees - payable.refunds,
            ),
        ]
    return MonthlyReports(
        office=office,
        month=first,
        due_on=reports_due(first),
        statement=statement,
        trial_balance=trial,
        payable=payable,
        balance_sheet=sheet,
        checks=checks,
    )


@dataclass
class OfficeMonth:
    office: Organisation
    statement: MonthlyStatement | None
    figures: MonthFigures
    outstanding: Decimal
    overdue: bool


@dataclass
class NationalSummary:
    """The fee office's view of a month across every agency office."""

    month: dt.date
    offices: list[OfficeMonth]

    @property
    def fees(self) -> Decimal:
        return sum((row.figures.fees for row in self.offices), ZERO)

    @property
    def refunds(self) -> Decimal:
        return sum((row.figures.refunds for row in self.offices), ZERO)

    @property
    def amount_due(self) -> Decimal:
        return sum((row.statement.amount_due for row in self.offices if row.statement), ZERO)

    @property
    def remitted(self) -> Decimal:
        return sum((row.statement.remitted_total for row in self.offices if row.statement), ZERO)

    @property
    def outstanding(self) -> Decimal:
        return sum((row.outstanding for row in self.offices), ZERO)


def national_summary(month: dt.date, today: dt.date | None = None) -> NationalSummary:
    today = today or timezone.localdate()
    first = month.replace(day=1)
    rows = []
    for office in agency_offices():
        statement = current_statement(office, first)
        rows.append(
            OfficeMonth(
                office=office,
                statement=statement,
                figures=month_figures(office, first),
                outstanding=outstanding(statement) if statement else ZERO,
                overdue=bool(
                    statement
                    and (
                        is_remittance_overdue(statement, today)
                        or is_correction_overdue(statement, today)
                    )
                ),
            )
        )
    return NationalSummary(month=first, offices=rows)
