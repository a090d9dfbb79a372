"""Every write of fee collection: volumes, bookings, review, corrections, refunds, ledger.

Payment-date rules (缴费日, seed 004 and reference §5):

- counter (面交): the day of payment;
- post (邮局汇款): the postmark date; a remittance without a valid application number is
  returned (``return_remittance``) and keeps no date; resent with the refund slip completed,
  the postmark of the second sending counts;
- bank (银行汇款): the transfer date when the remittance carried the application number and
  fee names; otherwise the day the correct information reached the office (information
  completed on the transfer day keeps the transfer date);
- online: the date the payment gateway confirmed.

Bookkeeping deadline: counter payments are booked the same day; complete bank and post
remittances the same day, at the latest the next working day. Later bookings are flagged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipdesk.accounts import policy
from ipdesk.accounts.models import Organisation, OrganisationKind, User
from ipdesk.audit.services import record_event
from ipdesk.core.calendar import calendar
from ipdesk.core.errors import Conflict, DomainError, InvalidInput, NotAllowed
from ipdesk.core.identifiers import (
    parse_application_number,
    validate_credit_code,
    validate_mobile,
    validate_resident_id,
)
from ipdesk.core.money import to_money
from ipdesk.tariff import selectors as tariff_selectors
from ipdesk.tariff.services import QuoteRequest, quote_fees

from . import selectors
from .models import (
    Channel,
    CorrectionCause,
    DaySubmission,
    EntryKind,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    PayerKind,
    Payment,
    PaymentDateRule,
    PaymentLine,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
    Volume,
    VolumeKind,
    VolumeStatus,
)
from .signals import payment_reviewed

# Which volumes take which channel's payments.
VOLUME_CHANNELS: dict[str, set[str]] = {
    VolumeKind.COUNTER: {Channel.COUNTER},
    VolumeKind.POST: {Channel.POST},
    VolumeKind.BANK: {Channel.BANK},
    VolumeKind.ONLINE: {Channel.ONLINE},
    VolumeKind.TRANSFER: {Channel.BANK, Channel.POST},
    VolumeKind.MONTH_END: {Channel.BANK, Channel.POST, Channel.COUNTER},
    VolumeKind.CORRECTION: set(),
}
CHANNEL_VOLUME = {
    Channel.COUNTER: VolumeKind.COUNTER,
    Channel.POST: VolumeKind.POST,
    Channel.BANK: VolumeKind.BANK,
    Channel.ONLINE: VolumeKind.ONLINE,
}


# --- volumes ---------------------------------------------------------------------------


def open_volume(*, office: Organisation, kind: str, day: dt.date, actor: User) -> Volume:
    """The open volume of that office, day and kind, opening the next one if none is open."""
    if kind not in VolumeKind.values:
        raise InvalidInput(fields={"kind": _("Unknown volume kind.")})
    if office.kind not in (OrganisationKind.AGENCY_OFFICE, OrganisationKind.FEE_OFFICE):
        raise InvalidInput(
            fields={"office": _("Only agency offices and the fee office keep volumes.")}
        )
    if day > timezone.localdate():
        raise InvalidInput(fields={"day": _("A volume cannot be opened for a future day.")})
    policy.require(actor, policy.OFFICE_ACCOUNTS, _("open volumes"), office=office)
    with transaction.atomic():
        existing = (
            Volume.objects.select_for_update()
            .filter(office=office, kind=kind, day=day, status=VolumeStatus.OPEN)
            .first()
        )
        if existing:
            return existing
        number = (
            Volume.objects.filter(office=office, kind=kind, day=day).aggregate(n=Max("number"))["n"]
            or 0
        ) + 1
        volume = Volume.objects.create(
            office=office, kind=kind, day=day, number=number, opened_by=actor
        )
        record_event(
            "collection.volume.opened", actor=actor, obj=volume, payload={"volume": volume.label}
        )
    return volume


def close_volume(volume: Volume, *, actor: User) -> Volume:
    policy.require(actor, policy.BOOKKEEPING, _("close volumes"), office=volume.office)
    with transaction.atomic():
        locked = Volume.objects.select_for_update().get(pk=volume.pk)
        if locked.status != VolumeStatus.OPEN:
            raise Conflict(_("The volume is already closed."))
        locked.status = VolumeStatus.CLOSED
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "closed_at"])
        record_event(
            "collection.volume.closed",
            actor=actor,
            obj=locked,
            payload={"volume": locked.label, "entries": locked.payments.count()},
        )
    return locked


# --- payment date ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelDates:
    received_on: dt.date
    remitted_on: dt.date | None = None
    postmarked_on: dt.date | None = None
    info_complete_on: dt.date | None = None
    second_postmarked_on: dt.date | None = None


def determine_payment_date(channel: str, dates: ChannelDates) -> tuple[dt.date, str]:
    """The payment date (缴费日) and the rule that produced it."""
    today = timezone.localdate()
    errors: dict[str, Any] = {}
    for name in (
        "received_on",
        "remitted_on",
        "postmarked_on",
        "info_complete_on",
        "second_postmarked_on",
    ):
        value = getattr(dates, name)
        if value is not None and value > today:
            errors[name] = _("A date in the future is not possible.")
    if errors:
        raise InvalidInput(fields=errors)
    if channel == Channel.COUNTER:
        return dates.received_on, PaymentDateRule.COUNTER_DAY
    if channel == Channel.ONLINE:
        return dates.remitted_on or dates.received_on, PaymentDateRule.ONLINE
    if channel == Channel.POST:
        if dates.second_postmarked_on is not None:
            if dates.second_postmarked_on > dates.received_on:
                raise InvalidInput(
                    fields={
                        "second_postmarked_on": _(
                            "The postmark cannot be after the day it arrived."
                        )
                    }
                )
            if dates.postmarked_on and dates.second_postmarked_on < dates.postmarked_on:
                raise InvalidInput(
                    fields={
                        "second_postmarked_on": _("The second postmark cannot be before the first.")
                    }
                )
            return dates.second_postmarked_on, PaymentDateRule.SECOND_POSTMARK
        if dates.postmarked_on is None:
            raise InvalidInput(
                fields={"postmarked_on": _("A postal remittance needs its postmark date.")}
            )
        if dates.postmarked_on > dates.received_on:
            raise InvalidInput(
                fields={"postmarked_on": _("The postmark cannot be after the day it arrived.")}
            )
        return dates.postmarked_on, PaymentDateRule.POSTMARK
    if channel == Channel.BANK:
        if dates.remitted_on is None:
            raise InvalidInput(
                fields={"remitted_on": _("A bank transfer needs its transfer date.")}
            )
        if dates.remitted_on > dates.received_on:
            raise InvalidInput(
                fields={"remitted_on": _("The transfer date cannot be after the day it arrived.")}
            )
        completed = dates.info_complete_on
        if completed is None or completed == dates.remitted_on:
            return dates.remitted_on, PaymentDateRule.BANK_TRANSFER
        if completed < dates.remitted_on:
            raise InvalidInput(
                fields={
                    "info_complete_on": _("The information cannot be complete before the transfer.")
                }
            )
        return completed, PaymentDateRule.BANK_INFO_COMPLETED
    raise InvalidInput(fields={"channel": _("Unknown channel; use counter, post, bank or online.")})


def is_booked_late(channel: str, dates: ChannelDates, booked_on: dt.date) -> bool:
    """Counter: the same day. Bank and post: once complete, the same or the next working day."""
    if channel == Channel.ONLINE:
        return False
    if channel == Channel.COUNTER:
        return booked_on > dates.received_on
    complete = max(dates.received_on, dates.info_complete_on or dates.received_on)
    return booked_on > calendar.add_working_days(complete, 1)


# --- booking -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PayerData:
    name: str
    kind: str
    id_code: str
    phone: str = ""
    email: str = ""
    receipt_title: str = ""


@dataclass(frozen=True)
class LineData:
    fee_code: str
    amount: Any
    year: int | None = None
    quantity: int | None = None
    claims: int | None = None
    pages: int | None = None
    reduction: int = 0
    filing_date: dt.date | None = None
    grant_date: dt.date | None = None
    override_reason: str = ""


@dataclass(frozen=True)
class BookingData:
    channel: str
    payer: PayerData
    application_number: str
    lines: Sequence[LineData]
    dates: ChannelDates
    voucher_ref: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    # The patent agency (专利代理机构) paying on the payer's behalf, if any.
    agency: Organisation | None = None


def _clean_payer(payer: PayerData, errors: dict[str, Any]) -> dict[str, str]:
    out = {
        "payer_name": payer.name.strip(),
        "payer_kind": payer.kind,
        "payer_phone": "",
        "payer_email": "",
    }
    if not out["payer_name"]:
        errors["payer.name"] = _("The payer's name is required.")
    if payer.kind not in PayerKind.values:
        errors["payer.kind"] = _("The payer is an individual or a unit.")
    try:
        if payer.kind == PayerKind.UNIT:
            out["payer_id_code"] = validate_credit_code(payer.id_code)
        else:
            out["payer_id_code"] = validate_resident_id(payer.id_code)
    except ValidationError as exc:
        errors["payer.id_code"] = exc.messages
    if payer.phone:
        try:
            out["payer_phone"] = validate_mobile(payer.phone)
        except ValidationError as exc:
            errors["payer.phone"] = exc.messages
    if payer.email:
        try:
            validate_email(payer.email.strip())
            out["payer_email"] = payer.email.strip()
        except ValidationError:
            errors["payer.email"] = _("Enter a valid e-mail address.")
    out["receipt_title"] = (payer.receipt_title or payer.name).strip()[:200]
    return out


def _price_lines(
    lines: Sequence[LineData], patent_kind: str, payment_date: dt.date, errors: dict[str, Any]
) -> list[PaymentLine]:
    """Price each line by the schedule on the payment date; a different amount needs a reason."""
    if not lines:
        errors["lines"] = _("A payment has at least one fee line.")
        return []
    priced: list[PaymentLine] = []
    for index, line in enumerate(lines):
        where = f"lines.{index}"
        try:
            amount = to_money(line.amount)
        except (ValidationError, TypeError):
            errors[f"{where}.amount"] = _("Enter the amount paid in yuan, such as 900 or 1234.50.")
            continue
        try:
            quote = quote_fees(
                QuoteRequest(
                    patent_kind=patent_kind,
                    fee_code=line.fee_code,
                    quantity=line.quantity,
                    year=line.year,
                    claims=line.claims,
                    pages=line.pages,
                    reduction=line.reduction,
                    filing_date=line.filing_date,
                    grant_date=line.grant_date,
                    paid_on=payment_date,
                )
            )
        except InvalidInput as exc:
            for name, messages in exc.fields.items():
                errors[f"{where}.{name}"] = messages
            continue
        except DomainError as exc:
            errors[where] = [exc.message]
            continue
        tariff_amount = quote.total
        if amount != tariff_amount and not line.override_reason.strip():
            errors[f"{where}.amount"] = _(
                "The schedule gives %(tariff)s for this fee, not %(amount)s; fees follow the "
                "schedule exactly unless a reviewer approves a documented override."
            ) % {"tariff": tariff_amount, "amount": amount}
            continue
        fee = tariff_selectors.fee_type(line.fee_code)
        assert fee is not None
        first = quote.lines[0]
        quantity = sum(q.quantity for q in quote.lines) or first.quantity
        priced.append(
            PaymentLine(
                fee_type=fee,
                year=line.year,
                quantity=quantity,
                standard=first.base,
                amount=amount,
                tariff_amount=tariff_amount,
                override_reason=line.override_reason.strip()[:300]
                if amount != tariff_amount
                else "",
            )
        )
    return priced


def book_payment(
    *, volume: Volume, data: BookingData, actor: User, reviewed: bool = False
) -> Payment:
    """Enter one payment into an open volume (online payments arrive already verified)."""
    errors: dict[str, Any] = {}
    office = volume.office
    if data.channel not in Channel.values:
        raise InvalidInput(
            fields={"channel": _("Unknown channel; use counter, post, bank or online.")}
        )
    policy.require(actor, policy.BOOKKEEPING, _("book payments"), office=office)
    if data.channel not in VOLUME_CHANNELS[volume.kind]:
        errors["channel"] = _("A %(kind)s volume does not take %(channel)s payments.") % {
            "kind": volume.get_kind_display(),
            "channel": data.channel,
        }
    payer = _clean_payer(data.payer, errors)
    if data.agency is not None and data.agency.kind != OrganisationKind.PATENT_AGENCY:
        errors["agency"] = _("The paying agency must be a patent agency (专利代理机构).")
    try:
        number = parse_application_number(data.application_number)
    except ValidationError as exc:
        errors["application_number"] = exc.messages
        number = None
    payment_date: dt.date | None = None
    rule = ""
    try:
        payment_date, rule = determine_payment_date(data.channel, data.dates)
    except InvalidInput as exc:
        errors.update(exc.fields)
    if errors:
        raise InvalidInput(fields=errors)
    assert number is not None and payment_date is not None
    lines = _price_lines(data.lines, number.patent_kind, payment_date, errors)
    if errors:
        raise InvalidInput(fields=errors)
    total = sum((line.amount for line in lines), Decimal("0.00"))
    if total <= 0:
        raise InvalidInput(fields={"lines": _("A payment's total must be more than zero.")})
    with transaction.atomic():
        locked = Volume.objects.select_for_update().get(pk=volume.pk)
        if locked.status != VolumeStatus.OPEN:
            raise Conflict(_("The volume is closed and takes no new entries."))
        if locked.day != timezone.localdate():
            # An entry takes its volume's day as its booking day: booking into an earlier
            # day's volume would backdate it and hide that it was booked late.
            raise Conflict(
                _("Only today's volumes take new entries; close the volume of %(day)s.")
                % {"day": locked.day.isoformat()},
                code="volume_not_today",
            )
        now = timezone.now()
        payment = Payment.objects.create(
            volume=locked,
            office=office,
            channel=data.channel,
            application_number=number.digits,
            patent_kind=number.patent_kind,
            voucher_ref=data.voucher_ref.strip()[:100],
            remitted_on=data.dates.remitted_on,
            postmarked_on=data.dates.postmarked_on,
            info_complete_on=data.dates.info_complete_on,
            second_postmarked_on=data.dates.second_postmarked_on,
            received_on=data.dates.received_on,
            payment_date=payment_date,
            payment_date_rule=rule,
            booked_on=locked.day,
            booked_late=is_booked_late(data.channel, data.dates, locked.day),
            total=total,
            entered_by=actor,
            status=PaymentStatus.REVIEWED if reviewed else PaymentStatus.ENTERED,
            reviewed_at=now if reviewed else None,
            agency=data.agency,
            **payer,
        )
        for line in lines:
            line.payment = payment
        PaymentLine.objects.bulk_create(lines)
        record_event(
            "collection.payment.booked",
            actor=actor,
            obj=payment,
            payload=_payment_payload(payment, lines),
        )
        if reviewed:
            _post_payment(payment)
    return payment


def _payment_payload(payment: Payment, lines: Sequence[PaymentLine]) -> dict[str, Any]:
    payload = {
        "volume": payment.volume.label,
        "channel": payment.channel,
        "entry_kind": payment.entry_kind,
        "application_number": payment.application_number,
        "payer_name": payment.payer_name,
        "payer_id_code": payment.payer_id_code,
        "payment_date": payment.payment_date,
        "payment_date_rule": payment.payment_date_rule,
        "booked_late": payment.booked_late,
        "total": payment.total,
        "lines": [
            [line.fee_type.code, line.year, line.quantity, line.amount, line.tariff_amount]
            for line in lines
        ],
        "corrects": payment.corrects_id,
    }
    if payment.agency_id is not None:
        payload["agency"] = payment.agency.code if payment.agency else None
    return payload


# --- ledger --------------------------------------------------------------------------------


def post_journal(
    *,
    office: Organisation,
    posted_on: dt.date,
    memo: str,
    lines: Sequence[tuple[str, Decimal, Decimal]],
    payment: Payment | None = None,
    refund: Refund | None = None,
) -> JournalEntry:
    """A balanced entry: ``lines`` are (account, debit, credit); debits must equal credits."""
    debits = sum((d for _a, d, _c in lines), Decimal("0"))
    credits = sum((c for _a, _d, c in lines), Decimal("0"))
    if debits != credits or debits <= 0:
        raise ValueError(f"unbalanced journal entry: debits {debits} credits {credits}")
    entry = JournalEntry.objects.create(
        office=office, posted_on=posted_on, memo=memo[:200], payment=payment, refund=refund
    )
    JournalLine.objects.bulk_create(
        JournalLine(entry=entry, account=account, debit=debit, credit=credit)
        for account, debit, credit in lines
    )
    return entry


def _post_payment(payment: Payment) -> None:
    money = LedgerAccount.CASH if payment.channel == Channel.COUNTER else LedgerAccount.BANK
    amount = abs(payment.total)
    # Dated on its bookkeeping day, not the review day, so that the ledger, the daily
    # reports and the monthly statement all count an entry in the same day and month.
    day = payment.booked_on
    if payment.total > 0:
        lines = [(money, amount, Decimal("0")), (LedgerAccount.FEES_PAYABLE, Decimal("0"), amount)]
    else:
        lines = [(LedgerAccount.FEES_PAYABLE, amount, Decimal("0")), (money, Decimal("0"), amount)]
    post_journal(
        office=payment.office,
        posted_on=day,
        memo=f"{payment.entry_kind} {payment.application_number}",
        lines=lines,
        payment=payment,
    )
    payment_id = payment.pk
    transaction.on_commit(lambda: payment_reviewed.send(sender=Payment, payment_id=payment_id))


# --- review (复核) -------------------------------------------------------------------------


def _check_reviewer(payment: Payment, actor: User) -> None:
    policy.require(actor, policy.REVIEWING, _("review entries"), office=payment.office)
    if payment.entered_by_id == actor.pk:
        raise NotAllowed(
            _("Review (复核) must be done by someone other than the person who entered the data."),
            code="four_eyes",
        )


def review_payment(payment: Payment, *, actor: User, approve_overrides: bool = False) -> Payment:
    """Mark one entry of a closed volume reviewed; it then flows on to receipts and reports."""
    with transaction.atomic():
        locked = (
            Payment.objects.select_for_update()
            .select_related("volume", "office")
            .get(pk=payment.pk)
        )
        _check_reviewer(locked, actor)
        if locked.status != PaymentStatus.ENTERED:
            raise Conflict(_("Only entries awaiting review can be reviewed."))
        if locked.volume.status == VolumeStatus.OPEN:
            raise Conflict(_("Close the volume before reviewing its entries."))
        overridden = locked.lines.exclude(override_reason="")
        if overridden.exists() and not approve_overrides:
            raise Conflict(
                _(
                    "This entry has amounts that differ from the schedule; approve the documented "
                    "override explicitly to review it."
                ),
                code="override_needs_approval",
            )
        now = timezone.now()
        overridden.update(override_by=actor)
        try:
            updated = Payment.objects.filter(pk=locked.pk).update(
                status=PaymentStatus.REVIEWED, reviewed_by=actor, reviewed_at=now
            )
        except IntegrityError as exc:  # the database's own four-eyes check
            raise NotAllowed(
                _("Review must be done by someone other than the collector."), code="four_eyes"
            ) from exc
        assert updated == 1
        locked.refresh_from_db()
        _post_payment(locked)
        record_event(
            "collection.payment.reviewed",
            actor=actor,
            obj=locked,
            payload={"overrides_approved": overridden.count() if approve_overrides else 0},
        )
        _finish_volume_if_done(locked.volume, actor)
    return locked


def _finish_volume_if_done(volume: Volume, actor: User) -> None:
    if volume.status != VolumeStatus.CLOSED:
        return
    if volume.payments.filter(status=PaymentStatus.ENTERED).exists():
        return
    Volume.objects.filter(pk=volume.pk).update(
        status=VolumeStatus.REVIEWED, reviewed_by=actor, reviewed_at=timezone.now()
    )
    record_event(
        "collection.volume.reviewed", actor=actor, obj=volume, payload={"volume": volume.label}
    )


def review_volume(volume: Volume, *, actor: User, approve_overrides: bool = False) -> Volume:
    """Review every entry of a closed volume that awaits review."""
    volume = Volume.objects.select_related("office").get(pk=volume.pk)
    if volume.status != VolumeStatus.CLOSED:
        raise Conflict(_("Only a closed volume can be reviewed."))
    with transaction.atomic():
        for payment in volume.payments.filter(status=PaymentStatus.ENTERED).order_by("id"):
            review_payment(payment, actor=actor, approve_overrides=approve_overrides)
        volume.refresh_from_db()
        _finish_volume_if_done(volume, actor)
        volume.refresh_from_db()
    return volume


def send_back(payment: Payment, *, actor: User, note: str) -> Payment:
    """The reviewer returns an entry to the collector; it is re-entered, never edited."""
    if not note.strip():
        raise InvalidInput(fields={"note": _("Say what is wrong with the entry.")})
    with transaction.atomic():
        locked = (
            Payment.objects.select_for_update()
            .select_related("volume", "office")
            .get(pk=payment.pk)
        )
        _check_reviewer(locked, actor)
        if locked.status != PaymentStatus.ENTERED:
            raise Conflict(_("Only entries awaiting review can be sent back."))
        if locked.entry_kind == EntryKind.REVERSAL:
            # A reversal only mirrors the corrected payment; sent back (and so void), it would
            # leave that payment's money on the books next to its replacement's.
            raise Conflict(_("A reversal is not sent back; send back its replacement."))
        Payment.objects.filter(pk=locked.pk).update(
            status=PaymentStatus.SENT_BACK, review_note=note.strip()[:300]
        )
        record_event(
            "collection.payment.sent_back", actor=actor, obj=locked, payload={"note": note.strip()}
        )
        locked.refresh_from_db()
        _finish_volume_if_done(locked.volume, actor)
    return locked


def reenter_payment(
    original: Payment, *, volume: Volume, data: BookingData, actor: User
) -> Payment:
    """Book the corrected version of a sent-back entry; the sent-back one becomes void."""
    with transaction.atomic():
        # Locked so that two re-entries of one sent-back entry cannot both succeed.
        locked = Payment.objects.select_for_update().get(pk=original.pk)
        if locked.status != PaymentStatus.SENT_BACK:
            raise Conflict(_("Only a sent-back entry is re-entered."))
        if locked.office_id != volume.office_id:
            raise InvalidInput(
                fields={"volume": _("Re-enter the entry in a volume of its own office.")}
            )
        replacement = book_payment(volume=volume, data=data, actor=actor)
        _carries_refunds(locked, replacement)
        Payment.objects.filter(pk=replacement.pk).update(
            entry_kind=EntryKind.REPLACEMENT, corrects=original
        )
        Payment.objects.filter(pk=original.pk).update(status=PaymentStatus.VOID)
        record_event(
            "collection.payment.reentered",
            actor=actor,
            obj=original,
            payload={"replacement": replacement.pk},
        )
        replacement.refresh_from_db()
    return replacement


# --- corrections (更正) ---------------------------------------------------------------------


def correct_payment(
    original: Payment, *, data: BookingData, reason: str, cause: str, actor: User
) -> tuple[Payment, Payment]:
    """Reverse a reviewed payment and replace it, in today's correction volume.

    The original stays as it was; the reversal carries its negative amounts, the replacement
    the corrected data with the original's payment date.
    """
    errors: dict[str, Any] = {}
    if not reason.strip():
        errors["reason"] = _("Give the reason for the correction.")
    if cause not in CorrectionCause.values:
        errors["cause"] = _("Say whose error it was: office_error or payer_error.")
    if errors:
        raise InvalidInput(fields=errors)
    if original.status != PaymentStatus.REVIEWED or original.entry_kind == EntryKind.REVERSAL:
        raise Conflict(_("Only a reviewed payment can be corrected."))
    policy.require(actor, policy.BOOKKEEPING, _("correct payments"), office=original.office)
    today = timezone.localdate()
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=original.pk)
        if locked.status != PaymentStatus.REVIEWED:
            raise Conflict(_("Only a reviewed payment can be corrected."))
        volume = open_volume(
            office=locked.office, kind=VolumeKind.CORRECTION, day=today, actor=actor
        )
        # The replacement keeps the original's payment date: the money arrived then.
        dates = ChannelDates(
            received_on=locked.received_on,
            remitted_on=locked.remitted_on,
            postmarked_on=locked.postmarked_on,
            info_complete_on=locked.info_complete_on,
            second_postmarked_on=locked.second_postmarked_on,
        )
        replacement_data = BookingData(
            channel=locked.channel,
            payer=data.payer,
            application_number=data.application_number,
            lines=data.lines,
            dates=dates,
            voucher_ref=data.voucher_ref or locked.voucher_ref,
        )
        common = {"correction_reason": reason.strip()[:300], "correction_cause": cause}
        reversal = Payment.objects.create(
            volume=volume,
            office=locked.office,
            channel=locked.channel,
            entry_kind=EntryKind.REVERSAL,
            payer_name=locked.payer_name,
            payer_kind=locked.payer_kind,
            payer_id_code=locked.payer_id_code,
            payer_phone=locked.payer_phone,
            payer_email=locked.payer_email,
            receipt_title=locked.receipt_title,
            application_number=locked.application_number,
            patent_kind=locked.patent_kind,
            voucher_ref=locked.voucher_ref,
            remitted_on=locked.remitted_on,
            postmarked_on=locked.postmarked_on,
            info_complete_on=locked.info_complete_on,
            second_postmarked_on=locked.second_postmarked_on,
            received_on=locked.received_on,
            payment_date=locked.payment_date,
            payment_date_rule=PaymentDateRule.CORRECTION,
            booked_on=today,
            total=-locked.total,
            entered_by=actor,
            corrects=locked,
            **common,
        )
        PaymentLine.objects.bulk_create(
            PaymentLine(
                payment=reversal,
                fee_type=line.fee_type,
                year=line.year,
                quantity=-line.quantity,
                standard=line.standard,
                amount=-line.amount,
                tariff_amount=-line.tariff_amount,
                override_reason=line.override_reason,
            )
            for line in locked.lines.all()
        )
        # Booked as a correction-volume entry: the channel check does not apply there.
        replacement = _book_replacement(volume, replacement_data, actor, locked, common)
        _carries_refunds(locked, replacement)
        Payment.objects.filter(pk=locked.pk).update(status=PaymentStatus.CORRECTED)
        record_event(
            "collection.payment.corrected",
            actor=actor,
            obj=locked,
            payload={
                "reason": reason.strip(),
                "cause": cause,
                "reversal": reversal.pk,
                "replacement": replacement.pk,
                "application_number": locked.application_number,
            },
        )
    return reversal, replacement


def _book_replacement(
    volume: Volume, data: BookingData, actor: User, original: Payment, common: dict[str, str]
) -> Payment:
    errors: dict[str, Any] = {}
    payer = _clean_payer(data.payer, errors)
    try:
        number = parse_application_number(data.application_number)
    except ValidationError as exc:
        errors["application_number"] = exc.messages
        raise InvalidInput(fields=errors) from exc
    lines = _price_lines(data.lines, number.patent_kind, original.payment_date, errors)
    if errors:
        raise InvalidInput(fields=errors)
    total = sum((line.amount for line in lines), Decimal("0.00"))
    replacement = Payment.objects.create(
        volume=volume,
        office=original.office,
        channel=original.channel,
        entry_kind=EntryKind.REPLACEMENT,
        application_number=number.digits,
        patent_kind=number.patent_kind,
        voucher_ref=data.voucher_ref[:100],
        remitted_on=original.remitted_on,
        postmarked_on=original.postmarked_on,
        info_complete_on=original.info_complete_on,
        second_postmarked_on=original.second_postmarked_on,
        received_on=original.received_on,
        payment_date=original.payment_date,
        payment_date_rule=PaymentDateRule.CORRECTION,
        booked_on=volume.day,
        total=total,
        entered_by=actor,
        corrects=original,
        agency_id=original.agency_id,
        **payer,
        **common,
    )
    for line in lines:
        line.payment = replacement
    PaymentLine.objects.bulk_create(lines)
    record_event(
        "collection.payment.booked",
        actor=actor,
        obj=replacement,
        payload=_payment_payload(replacement, lines),
    )
    return replacement


# --- refunds (退款) -------------------------------------------------------------------------


def refundable(payment: Payment) -> Decimal:
    """What is left to refund of a payment.

    A replacement carries the money of the entry it corrects: refunds asked (and not
    rejected) of the earlier entries of its chain count against it too.
    """
    chain = [payment.pk]
    earlier = payment.corrects_id
    while earlier is not None:
        chain.append(earlier)
        earlier = Payment.objects.values_list("corrects_id", flat=True).get(pk=earlier)
    taken = Refund.objects.filter(payment_id__in=chain).exclude(
        status=RefundStatus.REJECTED
    ).aggregate(s=Sum("amount"))["s"] or Decimal("0")
    return payment.total - taken


def _carries_refunds(original: Payment, replacement: Payment) -> None:
    """A replacement takes over the refunds of the entries it replaces: never for less."""
    taken = original.total - refundable(original)
    if replacement.total < taken:
        raise InvalidInput(
            fields={
                "lines": _(
                    "%(taken)s of this payment is refunded or asked back; the corrected "
                    "entry cannot be for less."
                )
                % {"taken": taken}
            }
        )


def request_refund(
    *, payment: Payment, amount: Any, reason: str, actor: User, note: str = ""
) -> Refund:
    """Ask to pay back (part of) a reviewed payment; a second person approves it."""
    errors: dict[str, Any] = {}
    if reason not in RefundReason.values:
        errors["reason"] = _("Unknown refund reason.")
    try:
        value = to_money(amount)
        if value <= 0:
            errors["amount"] = _("A refund is more than zero.")
    except (ValidationError, TypeError):
        errors["amount"] = _("Enter the amount to refund in yuan.")
        value = Decimal("0")
    if errors:
        raise InvalidInput(fields=errors)
    policy.require(actor, policy.BOOKKEEPING, _("request refunds"), office=payment.office)
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.reviewed_at is None or locked.entry_kind == EntryKind.REVERSAL:
            raise Conflict(_("Only a reviewed payment can be refunded."))
        if locked.status == PaymentStatus.CORRECTED:
            # Its money now stands in the replacement; refunding both would pay it back twice.
            raise Conflict(_("This payment was corrected; refund its replacement instead."))
        if value > refundable(locked):
            raise InvalidInput(
                fields={
                    "amount": _("At most %(left)s of this payment can still be refunded.")
                    % {"left": refundable(locked)}
                }
            )
        refund = Refund.objects.create(
            office=locked.office,
            payment=locked,
            channel=locked.channel,
            payer_name=locked.payer_name,
            remitted_on=locked.payment_date,
            amount=value,
            reason=reason,
            note=note.strip()[:300],
            requested_by=actor,
        )
        record_event(
            "collection.refund.requested",
            actor=actor,
            obj=refund,
            payload={"payment": locked.pk, "amount": value, "reason": reason},
        )
    return refund


def return_remittance(
    *,
    office: Organisation,
    channel: str,
    payer_name: str,
    amount: Any,
    remitted_on: dt.date,
    reference: str,
    actor: User,
    note: str = "",
) -> Refund:
    """A remittance that cannot be booked (no valid application number) goes back to the payer.

    Its date is not kept: if the payer resends it with the refund slip completed, the second
    postmark is the payment date.
    """
    errors: dict[str, Any] = {}
    if channel not in (Channel.POST, Channel.BANK):
        errors["channel"] = _("Only post and bank remittances are returned.")
    if not payer_name.strip():
        errors["payer_name"] = _("The payer's name is required.")
    try:
        value = to_money(amount)
        if value <= 0:
            errors["amount"] = _("A refund is more than zero.")
    except (ValidationError, TypeError):
        errors["amount"] = _("Enter the amount to refund in yuan.")
        value = Decimal("0")
    if remitted_on > timezone.localdate():
        errors["remitted_on"] = _("A date in the future is not possible.")
    if errors:
        raise InvalidInput(fields=errors)
    policy.require(actor, policy.BOOKKEEPING, _("return remittances"), office=office)
    with transaction.atomic():
        refund = Refund.objects.create(
            office=office,
            channel=channel,
            payer_name=payer_name.strip()[:200],
            remittance_ref=reference[:100],
            remitted_on=remitted_on,
            amount=value,
            reason=RefundReason.MISSING_INFORMATION,
            note=note.strip()[:300],
            requested_by=actor,
        )
        # The money is in the office's account but is no fee: it is owed back.
        post_journal(
            office=office,
            posted_on=timezone.localdate(),
            memo=f"returned remittance {reference}",
            lines=[
                (LedgerAccount.BANK, value, Decimal("0")),
                (LedgerAccount.REFUNDS_PAYABLE, Decimal("0"), value),
            ],
            refund=refund,
        )
        record_event(
            "collection.refund.remittance_returned",
            actor=actor,
            obj=refund,
            payload={
                "channel": channel,
                "amount": value,
                "remitted_on": remitted_on,
                "reference": reference,
            },
        )
    return refund


def decide_refund(refund: Refund, *, approve: bool, actor: User) -> Refund:
    """Approve or reject a refund; never by the person who asked for it."""
    policy.require(actor, policy.REVIEWING, _("decide refunds"), office=refund.office)
    if refund.requested_by_id == actor.pk:
        raise NotAllowed(
            _("A refund is approved by someone other than the person who asked for it."),
            code="four_eyes",
        )
    with transaction.atomic():
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        if locked.status != RefundStatus.REQUESTED:
            raise Conflict(_("This refund has already been decided."))
        locked.status = RefundStatus.APPROVED if approve else RefundStatus.REJECTED
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.decided_on = timezone.localdate()
        try:
            with transaction.atomic():
                locked.save(update_fields=["status", "decided_by", "decided_at", "decided_on"])
        except IntegrityError as exc:
            raise NotAllowed(
                _("A refund is approved by someone other than the person who asked for it."),
                code="four_eyes",
            ) from exc
        if approve:
            owed = (
                LedgerAccount.FEES_PAYABLE if locked.payment_id else LedgerAccount.REFUNDS_PAYABLE
            )
            post_journal(
                office=locked.office,
                posted_on=locked.decided_on,
                memo=f"refund {locked.pk}",
                lines=[
                    (owed, locked.amount, Decimal("0")),
                    (LedgerAccount.BANK, Decimal("0"), locked.amount),
                ],
                refund=locked,
            )
        record_event(
            "collection.refund.approved" if approve else "collection.refund.rejected",
            actor=actor,
            obj=locked,
            payload={"amount": locked.amount},
        )
    return locked


# --- sending the day's data to the fee office (报送) ---------------------------------------


def submit_day(*, office: Organisation, day: dt.date, actor: User) -> DaySubmission:
    """Send the office's data of a booking day to the fee office, once it is all reviewed."""
    policy.require(actor, policy.BOOKKEEPING, _("send the day's data"), office=office)
    today = timezone.localdate()
    if day > today:
        raise InvalidInput(fields={"day": _("A day in the future cannot be sent.")})
    due = selectors.submission_due(day)  # a year the calendar does not know is refused here
    with transaction.atomic():
        Organisation.objects.select_for_update().get(pk=office.pk)
        if DaySubmission.objects.filter(office=office, day=day).exists():
            raise Conflict(_("The data of this day has already been sent."), code="already_sent")
        if Volume.objects.filter(office=office, day=day, status=VolumeStatus.OPEN).exists():
            raise Conflict(
                _("Close every volume of the day before sending its data."), code="open_volumes"
            )
        waiting = Payment.objects.filter(
            office=office,
            booked_on=day,
            status__in=[PaymentStatus.ENTERED, PaymentStatus.SENT_BACK],
        ).count()
        if waiting:
            raise Conflict(
                _("%(count)d entries of the day still await review or re-entry.")
                % {"count": waiting},
                code="unreviewed_entries",
            )
        report = selectors.daily_report(office, day)
        submission = DaySubmission.objects.create(
            office=office,
            day=day,
            due_on=due,
            submitted_on=today,
            submitted_by=actor,
            entries=report.count,
            total=report.total,
            late_working_days=calendar.working_days_between(due, today) if today > due else 0,
        )
        record_event(
            "collection.day.submitted",
            actor=actor,
            obj=submission,
            payload={
                "day": day,
                "due_on": due,
                "entries": report.count,
                "total": report.total,
                "late_working_days": submission.late_working_days,
            },
        )
    return submission


def excuse_late_submission(submission: DaySubmission, *, reason: str, actor: User) -> DaySubmission:
    """The fee office accepts a reason for the delay (the fine is for delay 无故, unjustified)."""
    policy.require(actor, policy.FEE_OFFICE_CLERK, _("excuse a late submission"))
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(fields={"reason": _("Give the reason accepted for the delay.")})
    with transaction.atomic():
        locked = DaySubmission.objects.select_for_update().get(pk=submission.pk)
        if locked.late_working_days == 0:
            raise Conflict(_("This day's data was sent in time; there is nothing to excuse."))
        if locked.excuse:
            raise Conflict(_("The delay of this day has already been excused."))
        locked.excuse = text[:1000]
        locked.excused_by = actor
        locked.excused_on = timezone.localdate()
        locked.save(update_fields=["excuse", "excused_by", "excused_on"])
        record_event(
            "collection.day.delay_excused", actor=actor, obj=locked, payload={"reason": text}
        )
    return locked
