"""The payment date (缴费日) of a payment and whether it was booked late, by its channel's rule.

The rules themselves are rows of the channel table, ``ipdesk.collection.channels``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipdesk.core.errors import InvalidInput

from ..channels import CHANNELS, DATE_FIELDS, ChannelDates, unknown_channel

__all__ = ["ChannelDates", "determine_payment_date", "is_booked_late"]


def determine_payment_date(channel: str, dates: ChannelDates) -> tuple[dt.date, str]:
    """The payment date (缴费日) and the rule that produced it."""
    today = timezone.localdate()
    errors: dict[str, Any] = {}
    for name in DATE_FIELDS:
        value = getattr(dates, name)
        if value is not None and value > today:
            errors[name] = _("A date in the future is not possible.")
    if errors:
        raise InvalidInput(fields=errors)
    rule = CHANNELS.get(channel)
    if rule is None:
        raise unknown_channel()
    return rule.payment_date(dates)


def is_booked_late(channel: str, dates: ChannelDates, booked_on: dt.date) -> bool:
    """Booked after the channel's booking deadline (some channels have none)."""
    deadline = CHANNELS[channel].booking_deadline(dates)
    return deadline is not None and booked_on > deadline
