"""Bookkeeping volumes (记账卷): opened per office, day and kind, closed for review."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipdesk.accounts import policy
from ipdesk.accounts.models import Organisation, OrganisationKind, User
from ipdesk.audit.services import record_event
from ipdesk.core.errors import Conflict, InvalidInput

from ..models import Volume, VolumeKind, VolumeStatus


def _open_volume(office: Organisation, kind: str, day: dt.date) -> Volume | None:
    return (
        Volume.objects.select_for_update()
        .filter(office=office, kind=kind, day=day, status=VolumeStatus.OPEN)
        .first()
    )


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
        existing = _open_volume(office, kind, day)
        if existing:
            return existing
        # Two requests that both find no open volume would both take the next number, and
        # one would fail on ``volume_unique_number``. Openers of the office's volumes take
        # turns on its row; the second then finds the volume the first opened. NO KEY UPDATE
        # leaves alone the key-share locks that inserting the office's payments takes.
        list(
            Organisation.objects.select_for_update(no_key=True)
            .filter(pk=office.pk)
            .values_list("pk", flat=True)
        )
        existing = _open_volume(office, kind, day)
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
