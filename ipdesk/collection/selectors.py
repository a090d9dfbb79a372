"""Reads of fee collection: volumes, entries, the daily reports and the ledger."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from ipdesk.accounts.models import Organisation

from .models import (
    CorrectionCause,
    EntryKind,
    JournalLine,
    LedgerAccount,
    Payment,
    PaymentLine,
    Refund,
    RefundStatus,
    Volume,
)

ZERO = Decimal("0.00")


def reviewed_payments(office: Organisation) -> QuerySet[Payment]:
    """Entries that passed review (or arrived verified): the only ones that flow on."""
    return Payment.objects.filter(office=office, reviewed_at__isnull=False)


def volumes_of_day(office: Organisation, day: dt.date) -> QuerySet[Volume]:
    return (
        Volume.objects.filter(office=office, day=day)
        .annotate(entries=Count("payments"), amount=Sum("payments__total"))
        .order_by("kind", "number")
    )


def awaiting_review(office: Organisation) -> QuerySet[Payment]:
    return Payment.objects.filter(
        office=office, status="entered", volume__status="closed"
    ).select_related("volume")


@dataclass
class ReportRow:
    label: str
    count: int = 0
    amount: Decimal = ZERO


@dataclass
class DailyReport:
    """日结单, 汇总表1 and 汇总表2 of one office and booking day, from reviewed entries."""

    office: Organisation
    day: dt.date
    closing: list[ReportRow] = field(default_factory=list)  # 日结单: per volume
    by_channel: list[ReportRow] = field(default_factory=list)
    by_fee: list[ReportRow] = field(default_factory=list)  # 汇总表1
    by_channel_and_date: list[ReportRow] = field(default_factory=list)  # 汇总表2
    refunds: list[ReportRow] = field(default_factory=list)
    total: Decimal = ZERO
    count: int = 0
    refunded: Decimal = ZERO


def daily_report(office: Organisation, day: dt.date) -> DailyReport:
    entries = reviewed_payments(office).filter(booked_on=day)
    report = DailyReport(office=office, day=day)
    for volume_row in (
        entries.values("volume__kind", "volume__number")
        .annotate(n=Count("id"), s=Sum("total"))
        .order_by("volume__kind", "volume__number")
    ):
        report.closing.append(
            ReportRow(
                f"{volume_row['volume__kind']}-{volume_row['volume__number']}",
                volume_row["n"],
                volume_row["s"],
            )
        )
    for channel_row in (
        entries.values("channel").annotate(n=Count("id"), s=Sum("total")).order_by("channel")
    ):
        report.by_channel.append(
            ReportRow(channel_row["channel"], channel_row["n"], channel_row["s"])
        )
    lines = PaymentLine.objects.filter(payment__in=entries)
    for fee_row in (
        lines.values("fee_type__code", "fee_type__name_zh", "fee_type__sort_order")
        .annotate(n=Sum("quantity"), s=Sum("amount"))
        .order_by("fee_type__sort_order")
    ):
        report.by_fee.append(
            ReportRow(
                f"{fee_row['fee_type__code']} {fee_row['fee_type__name_zh']}",
                fee_row["n"],
                fee_row["s"],
            )
        )
    for date_row in (
        entries.values("channel", "payment_date")
        .annotate(n=Count("id"), s=Sum("total"))
        .order_by("channel", "payment_date")
    ):
        report.by_channel_and_date.append(
            ReportRow(
                f"{date_row['channel']} {date_row['payment_date']}", date_row["n"], date_row["s"]
            )
        )
    for refund_row in (
        Refund.objects.filter(office=office, status=RefundStatus.APPROVED, decided_on=day)
        .values("reason")
        .annotate(n=Count("id"), s=Sum("amount"))
        .order_by("reason")
    ):
        report.refunds.append(ReportRow(refund_row["reason"], refund_row["n"], refund_row["s"]))
    agg = entries.aggregate(n=Count("id"), s=Sum("total"))
    report.count, report.total = agg["n"] or 0, agg["s"] or ZERO
    report.refunded = sum((r.amount for r in report.refunds), ZERO)
    return report


def ledger_balances(
    office: Organisation, until: dt.date | None = None
) -> dict[str, tuple[Decimal, Decimal]]:
    """Per account: (total debits, total credits) up to and including ``until``."""
    lines = JournalLine.objects.filter(entry__office=office)
    if until is not None:
        lines = lines.filter(entry__posted_on__lte=until)
    out: dict[str, tuple[Decimal, Decimal]] = defaultdict(lambda: (ZERO, ZERO))
    for row in lines.values("account").annotate(d=Sum("debit"), c=Sum("credit")):
        out[row["account"]] = (row["d"] or ZERO, row["c"] or ZERO)
    return dict(out)


def ledger_totals(office: Organisation | None = None) -> tuple[Decimal, Decimal]:
    lines = (
        JournalLine.objects.all()
        if office is None
        else JournalLine.objects.filter(entry__office=office)
    )
    agg = lines.aggregate(d=Sum("debit"), c=Sum("credit"))
    return agg["d"] or ZERO, agg["c"] or ZERO


def fees_payable(office: Organisation) -> Decimal:
    debit, credit = ledger_balances(office).get(LedgerAccount.FEES_PAYABLE, (ZERO, ZERO))
    return credit - debit


def late_bookings(office: Organisation, year: int) -> int:
    return Payment.objects.filter(
        office=office, booked_on__year=year, booked_late=True, entry_kind=EntryKind.PAYMENT
    ).count()


def office_error_corrections(office: Organisation, year: int) -> list[str]:
    """Application numbers the office had to correct through its own error.

    These are the basis of the 6-yuan penalty.
    """
    return sorted(
        set(
            Payment.objects.filter(
                office=office,
                entry_kind=EntryKind.REVERSAL,
                correction_cause=CorrectionCause.OFFICE_ERROR,
                booked_on__year=year,
            ).values_list("corrects__application_number", flat=True)
        )
    )


def payments_of(office: Organisation) -> QuerySet[Payment]:
    return (
        Payment.objects.filter(office=office)
        .select_related("volume")
        .prefetch_related("lines__fee_type")
    )


def pending_refunds(office: Organisation) -> QuerySet[Refund]:
    return Refund.objects.filter(office=office, status=RefundStatus.REQUESTED)


def entries_matching(office: Organisation, text: str) -> QuerySet[Payment]:
    return payments_of(office).filter(
        Q(application_number__startswith=text) | Q(payer_name__contains=text)
    )


# --- reads for the staff pages -------------------------------------------------------------


def volume(pk: int) -> Volume | None:
    return Volume.objects.select_related("office", "opened_by", "reviewed_by").filter(pk=pk).first()


def payment(pk: int) -> Payment | None:
    return (
        Payment.objects.select_related("office", "volume", "entered_by", "reviewed_by")
        .prefetch_related("lines__fee_type")
        .filter(pk=pk)
        .first()
    )


def volume_entries(volume: Volume) -> QuerySet[Payment]:
    """A volume's entries in booking order, with their lines, for the review screen."""
    return (
        Payment.objects.filter(volume=volume)
        .select_related("entered_by", "reviewed_by", "corrects")
        .prefetch_related("lines__fee_type", "lines__override_by")
        .order_by("id")
    )


def volumes_awaiting_review(office: Organisation) -> QuerySet[Volume]:
    """Closed volumes of any day whose entries still await review."""
    return (
        Volume.objects.filter(office=office, status="closed")
        .annotate(
            entries=Count("payments"),
            amount=Sum("payments__total"),
            waiting=Count("payments", filter=Q(payments__status="entered")),
        )
        .order_by("day", "kind", "number")
    )


def sent_back_entries(office: Organisation) -> QuerySet[Payment]:
    """Entries a reviewer returned that have not been re-entered yet."""
    return (
        Payment.objects.filter(office=office, status="sent_back")
        .select_related("volume")
        .order_by("booked_on", "id")
    )


def counter_payments_of_day(office: Organisation, day: dt.date) -> QuerySet[Payment]:
    """Counter entries booked on ``day`` that stand (entered or reviewed, not reversals).

    These are the payments a paper receipt may be printed for.
    """
    return (
        Payment.objects.filter(
            office=office,
            booked_on=day,
            channel="counter",
            status__in=("entered", "reviewed"),
        )
        .exclude(entry_kind=EntryKind.REVERSAL)
        .select_related("volume")
        .order_by("id")
    )


@dataclass
class VolumeSummary:
    entries: int
    amount: Decimal
    waiting: int
    late: int


def volume_summary(volume: Volume) -> VolumeSummary:
    """Entries and money of a volume (all entries, as booked), with those awaiting review."""
    agg = Payment.objects.filter(volume=volume).aggregate(
        n=Count("id"),
        s=Sum("total"),
        waiting=Count("id", filter=Q(status="entered")),
        late=Count("id", filter=Q(booked_late=True)),
    )
    return VolumeSummary(agg["n"] or 0, agg["s"] or ZERO, agg["waiting"] or 0, agg["late"] or 0)


def open_volumes_before(office: Organisation, day: dt.date) -> QuerySet[Volume]:
    """Volumes of earlier days still open: they must be closed before they can be reviewed."""
    return (
        Volume.objects.filter(office=office, status="open", day__lt=day)
        .annotate(entries=Count("payments"), amount=Sum("payments__total"))
        .order_by("day", "kind", "number")
    )
