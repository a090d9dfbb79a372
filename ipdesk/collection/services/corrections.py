"""Corrections (更正) of reviewed payments: a reversal and a replacement, never an edit."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipdesk.accounts import policy
from ipdesk.accounts.models import User
from ipdesk.audit.services import record_event
from ipdesk.core.errors import Conflict, InvalidInput
from ipdesk.core.identifiers import parse_application_number

from ..models import (
    CorrectionCause,
    EntryKind,
    Payment,
    PaymentDateRule,
    PaymentLine,
    PaymentStatus,
    Volume,
    VolumeKind,
)
from .booking import BookingData, clean_payer, payment_payload, price_lines
from .payment_dates import ChannelDates
from .refunds import check_refunds_carried
from .volumes import open_volume


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
        check_refunds_carried(locked, replacement)
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
    payer = clean_payer(data.payer, errors)
    try:
        number = parse_application_number(data.application_number)
    except ValidationError as exc:
        errors["application_number"] = exc.messages
        raise InvalidInput(fields=errors) from exc
    lines = price_lines(data.lines, number.patent_kind, original.payment_date, errors)
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
        payload=payment_payload(replacement, lines),
    )
    return replacement
