"""Booking a payment into an open volume: payer, application, fee lines priced by the schedule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipdesk.accounts import policy
from ipdesk.accounts.models import Organisation, OrganisationKind, User
from ipdesk.audit.services import record_event
from ipdesk.core.errors import Conflict, DomainError, InvalidInput
from ipdesk.core.identifiers import (
    parse_application_number,
    validate_credit_code,
    validate_mobile,
    validate_resident_id,
)
from ipdesk.core.money import to_money
from ipdesk.tariff import selectors as tariff_selectors
from ipdesk.tariff.services import QuoteRequest, quote_fees

from ..channels import CHANNELS, channels_taken_by, unknown_channel
from ..models import PayerKind, Payment, PaymentLine, PaymentStatus, Volume, VolumeStatus
from ..signals import payment_reviewed
from .ledger import post_payment
from .payment_dates import ChannelDates, determine_payment_date, is_booked_late


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


def clean_payer(payer: PayerData, errors: dict[str, Any]) -> dict[str, str]:
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


def price_lines(
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
    if data.channel not in CHANNELS:
        raise unknown_channel()
    policy.require(actor, policy.BOOKKEEPING, _("book payments"), office=office)
    if data.channel not in channels_taken_by(volume.kind):
        errors["channel"] = _("A %(kind)s volume does not take %(channel)s payments.") % {
            "kind": volume.get_kind_display(),
            "channel": data.channel,
        }
    payer = clean_payer(data.payer, errors)
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
    lines = price_lines(data.lines, number.patent_kind, payment_date, errors)
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
            payload=payment_payload(payment, lines),
        )
        if reviewed:
            post_payment(payment)
            transaction.on_commit(
                partial(payment_reviewed.send, sender=Payment, payment_id=payment.pk)
            )
    return payment


def payment_payload(payment: Payment, lines: Sequence[PaymentLine]) -> dict[str, Any]:
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
