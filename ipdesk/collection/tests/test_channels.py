"""The channel table covers every channel and volume kind, and says the same thing twice nowhere."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from ipdesk.collection import services
from ipdesk.collection.channels import (
    CHANNELS,
    DATE_FIELDS,
    STAFF_VOLUMES,
    VOLUMES,
    ChannelDates,
    channels_taken_by,
)
from ipdesk.collection.models import Channel, JournalLine, LedgerAccount, VolumeKind
from ipdesk.core.errors import InvalidInput

from .conftest import booking


def test_every_channel_and_volume_kind_has_a_rule() -> None:
    assert set(CHANNELS) == set(Channel.values)
    assert set(VOLUMES) == set(VolumeKind.values)


def test_a_channels_own_volume_takes_its_payments() -> None:
    for channel, rule in CHANNELS.items():
        assert channel in channels_taken_by(rule.volume)


def test_a_channel_asks_for_known_dates_and_always_the_day_it_arrived() -> None:
    assert tuple(f.name for f in dataclasses.fields(ChannelDates)) == DATE_FIELDS
    for rule in CHANNELS.values():
        assert rule.dates[0] == "received_on"
        assert set(rule.dates) <= set(DATE_FIELDS)


def test_staff_open_every_volume_but_online_and_correction() -> None:
    assert STAFF_VOLUMES == (
        VolumeKind.COUNTER,
        VolumeKind.POST,
        VolumeKind.BANK,
        VolumeKind.TRANSFER,
        VolumeKind.MONTH_END,
    )
    assert channels_taken_by(VolumeKind.MONTH_END) == ["counter", "post", "bank"]
    assert channels_taken_by(VolumeKind.CORRECTION) == []
    assert channels_taken_by("unknown") == []


def test_an_unknown_channel_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as caught:
        services.determine_payment_date("cheque", ChannelDates(received_on=dt.date(2025, 3, 3)))
    message = str(caught.value.fields["channel"][0])
    assert all(channel in message for channel in CHANNELS)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("channel", "kind", "dates", "account"),
    [
        ("counter", VolumeKind.COUNTER, (), LedgerAccount.CASH),
        ("bank", VolumeKind.BANK, ("remitted_on",), LedgerAccount.BANK),
        ("post", VolumeKind.POST, ("postmarked_on",), LedgerAccount.BANK),
    ],
)
def test_a_reviewed_payment_is_posted_to_its_channels_account(
    office: Any,
    collector: Any,
    reviewer: Any,
    channel: str,
    kind: str,
    dates: tuple[str, ...],
    account: str,
) -> None:
    today = timezone.localdate()
    volume = services.open_volume(office=office, kind=kind, day=today, actor=collector)
    payment = services.book_payment(
        volume=volume,
        data=booking(channel=channel, **{name: today for name in dates}),
        actor=collector,
    )
    services.close_volume(volume, actor=collector)
    services.review_payment(payment, actor=reviewer)
    lines = JournalLine.objects.filter(entry__payment=payment)
    assert {(line.account, line.debit) for line in lines if line.debit} == {
        (account, Decimal("900.00"))
    }
    assert CHANNELS[channel].money_account == account
