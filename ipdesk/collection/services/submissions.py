"""Sending the day's data to the fee office (报送)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipdesk.accounts.models import Organisation, User
from ipdesk.accounts.services import require_fee_office, require_office_staff
from ipdesk.audit.services import record_event
from ipdesk.core.calendar import calendar
from ipdesk.core.errors import Conflict, InvalidInput

from .. import selectors
from ..models import DaySubmission, Payment, PaymentStatus, Volume, VolumeStatus
from .roles import BOOKING_STAFF


def submit_day(*, office: Organisation, day: dt.date, actor: User) -> DaySubmission:
    """Send the office's data of a booking day to the fee office, once it is all reviewed."""
    require_office_staff(actor, office, BOOKING_STAFF, _("send the day's data"))
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
    require_fee_office(actor, _("excuse a late submission"))
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
