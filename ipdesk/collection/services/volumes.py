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
