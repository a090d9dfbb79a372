from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from ipdesk.accounts.models import OrganisationKind
from ipdesk.collection import services
from ipdesk.collection.models import Channel, Volume, VolumeKind
from ipdesk.testing import PERSON_ID, application_number, organisation


@pytest.fixture
def fee_office(db: None) -> Any:
    return organisation(OrganisationKind.FEE_OFFICE, "CNIPA", name="收费处")


@pytest.fixture
def counter_volume(office: Any, collector: Any) -> Volume:
    return services.open_volume(
        office=office, kind=VolumeKind.COUNTER, day=timezone.localdate(), actor=collector
    )


def booking(
    *,
    channel: str = Channel.COUNTER,
    amount: str = "900.00",
    fee: str = "application",
    number: str | None = None,
    **dates: Any,
) -> services.BookingData:
    today = timezone.localdate()
    dates.setdefault("received_on", today)
    return services.BookingData(
        channel=channel,
        payer=services.PayerData(
            name="陈发明", kind="individual", id_code=PERSON_ID, phone="13800138000"
        ),
        application_number=number or application_number(),
        lines=[services.LineData(fee_code=fee, amount=amount)],
        dates=services.ChannelDates(**dates),
    )
