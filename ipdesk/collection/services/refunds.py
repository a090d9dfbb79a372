"""Refunds (退款): of reviewed payments, and of remittances that could not be booked."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipdesk.accounts import policy
from ipdesk.accounts.models import Organisation, User
from ipdesk.audit.services import record_event
from ipdesk.core.errors import Conflict, InvalidInput, NotAllowed
from ipdesk.core.money import to_money

from ..channels import CHANNELS
from ..models import (
    EntryKind,
    LedgerAccount,
    Payment,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
)
from .ledger import post_journal


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


def check_refunds_carried(original: Payment, replacement: Payment) -> None:
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
    if not (channel in CHANNELS and CHANNELS[channel].remittance):
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
