"""Review (复核) by a second person: entries reviewed, sent back, or re-entered."""

from __future__ import annotations

from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipdesk.accounts import policy
from ipdesk.accounts.models import User
from ipdesk.audit.services import record_event
from ipdesk.core.errors import Conflict, InvalidInput, NotAllowed

from ..models import EntryKind, Payment, PaymentStatus, Volume, VolumeStatus
from ..signals import payment_reviewed
from .booking import BookingData, book_payment
from .ledger import post_payment
from .refunds import check_refunds_carried


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
        post_payment(locked)
        record_event(
            "collection.payment.reviewed",
            actor=actor,
            obj=locked,
            payload={"overrides_approved": overridden.count() if approve_overrides else 0},
        )
        transaction.on_commit(partial(payment_reviewed.send, sender=Payment, payment_id=locked.pk))
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
        check_refunds_carried(locked, replacement)
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
