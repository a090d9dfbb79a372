"""The payment channels as one rule table, and the volumes that take each channel's payments.

A channel's row says which day's volume its payments are booked into, which dates a payment
is entered with, how its payment date (缴费日) is found, by when it must be booked, and which
ledger account its money is in. Everything that differs by channel reads this table.

Payment-date rules (seed 004 and reference §5):

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
Online payments are booked by the gateway as they arrive and are never late.

To add a channel: a ``Channel`` choice (with its migration), a row in ``CHANNELS`` and the
volume kinds that take it in ``VOLUMES`` (see docs/architecture.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from ipdesk.core.calendar import calendar
from ipdesk.core.errors import InvalidInput

from .models import Channel, LedgerAccount, PaymentDateRule, VolumeKind


@dataclass(frozen=True)
class ChannelDates:
    """The dates a payment is entered with; which ones a channel needs is in its rule."""

    received_on: dt.date
    remitted_on: dt.date | None = None
    postmarked_on: dt.date | None = None
    info_complete_on: dt.date | None = None
    second_postmarked_on: dt.date | None = None


# Every date of ``ChannelDates``, in the order they are typed.
DATE_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ChannelDates))


# --- payment-date rules ----------------------------------------------------------------------


def _day_of_payment(dates: ChannelDates) -> tuple[dt.date, str]:
    return dates.received_on, PaymentDateRule.COUNTER_DAY


def _gateway_confirmed(dates: ChannelDates) -> tuple[dt.date, str]:
    return dates.remitted_on or dates.received_on, PaymentDateRule.ONLINE


def _postmark(dates: ChannelDates) -> tuple[dt.date, str]:
    if dates.second_postmarked_on is not None:
        if dates.second_postmarked_on > dates.received_on:
            raise InvalidInput(
                fields={
                    "second_postmarked_on": _("The postmark cannot be after the day it arrived.")
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


def _transfer(dates: ChannelDates) -> tuple[dt.date, str]:
    if dates.remitted_on is None:
        raise InvalidInput(fields={"remitted_on": _("A bank transfer needs its transfer date.")})
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


# --- booking deadlines (None: never booked late) ------------------------------------------


def _same_day(dates: ChannelDates) -> dt.date | None:
    return dates.received_on


def _next_working_day_once_complete(dates: ChannelDates) -> dt.date | None:
    complete = max(dates.received_on, dates.info_complete_on or dates.received_on)
    return calendar.add_working_days(complete, 1)


def _never_late(dates: ChannelDates) -> dt.date | None:
    return None


# --- the tables ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelRule:
    channel: Channel
    # The kind of the day's volume its payments are booked into (a sent-back entry too).
    volume: VolumeKind
    # The ``ChannelDates`` a payment of this channel is entered with.
    dates: tuple[str, ...]
    payment_date: Callable[[ChannelDates], tuple[dt.date, str]]
    booking_deadline: Callable[[ChannelDates], dt.date | None]
    # Where its money is, against fees payable, once it is reviewed.
    money_account: LedgerAccount
    # The money arrives as a remittance: one that cannot be booked is returned to the payer.
    remittance: bool


CHANNELS: Mapping[str, ChannelRule] = {
    rule.channel: rule
    for rule in (
        ChannelRule(
            channel=Channel.COUNTER,
            volume=VolumeKind.COUNTER,
            dates=("received_on",),
            payment_date=_day_of_payment,
            booking_deadline=_same_day,
            money_account=LedgerAccount.CASH,
            remittance=False,
        ),
        ChannelRule(
            channel=Channel.POST,
            volume=VolumeKind.POST,
            dates=("received_on", "postmarked_on", "second_postmarked_on"),
            payment_date=_postmark,
            booking_deadline=_next_working_day_once_complete,
            money_account=LedgerAccount.BANK,
            remittance=True,
        ),
        ChannelRule(
            channel=Channel.BANK,
            volume=VolumeKind.BANK,
            dates=("received_on", "remitted_on", "info_complete_on"),
            payment_date=_transfer,
            booking_deadline=_next_working_day_once_complete,
            money_account=LedgerAccount.BANK,
            remittance=True,
        ),
        ChannelRule(
            channel=Channel.ONLINE,
            volume=VolumeKind.ONLINE,
            dates=("received_on", "remitted_on"),
            payment_date=_gateway_confirmed,
            booking_deadline=_never_late,
            money_account=LedgerAccount.BANK,
            remittance=False,
        ),
    )
}


@dataclass(frozen=True)
class VolumeRule:
    kind: VolumeKind
    # The channels whose payments the volume takes (a correction volume: reversals and
    # replacements of any channel, booked by the correction service only).
    channels: frozenset[str]
    # Opened by staff on the collection pages; the others by the API (online payments) or
    # by a service (corrections).
    opened_by_staff: bool


VOLUMES: Mapping[str, VolumeRule] = {
    rule.kind: rule
    for rule in (
        VolumeRule(VolumeKind.COUNTER, frozenset({Channel.COUNTER}), opened_by_staff=True),
        VolumeRule(VolumeKind.POST, frozenset({Channel.POST}), opened_by_staff=True),
        VolumeRule(VolumeKind.BANK, frozenset({Channel.BANK}), opened_by_staff=True),
        VolumeRule(VolumeKind.ONLINE, frozenset({Channel.ONLINE}), opened_by_staff=False),
        VolumeRule(
            VolumeKind.TRANSFER, frozenset({Channel.BANK, Channel.POST}), opened_by_staff=True
        ),
        VolumeRule(
            VolumeKind.MONTH_END,
            frozenset({Channel.BANK, Channel.POST, Channel.COUNTER}),
            opened_by_staff=True,
        ),
        VolumeRule(VolumeKind.CORRECTION, frozenset(), opened_by_staff=False),
    )
}

# The volume kinds staff open by hand, in the order the pages offer them.
STAFF_VOLUMES: tuple[VolumeKind, ...] = tuple(
    rule.kind for rule in VOLUMES.values() if rule.opened_by_staff
)


def channels_taken_by(kind: str) -> list[str]:
    """The channels a volume kind takes, in the order of ``Channel``."""
    rule = VOLUMES.get(kind)
    return [c for c in Channel.values if rule is not None and c in rule.channels]


def unknown_channel() -> InvalidInput:
    """The error for a channel the table does not know."""
    return InvalidInput(
        fields={
            "channel": _("Unknown channel; use one of: %(channels)s.")
            % {"channels": ", ".join(CHANNELS)}
        }
    )
