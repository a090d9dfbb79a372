"""Payment-date rules (缴费日, seed 004 and reference §5):

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
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipdesk.core.calendar import calendar
from ipdesk.core.errors import InvalidInput

from ..models import Channel, PaymentDateRule


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
