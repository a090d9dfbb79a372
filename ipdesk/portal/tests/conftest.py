from __future__ import annotations

import pytest
from django.test import Client, TestCase
from django.utils import timezone

from ipdesk.accounts.models import Organisation, OrganisationKind, Role, User
from ipdesk.collection import services as collection
from ipdesk.collection.models import Payment, VolumeKind
from ipdesk.receipts.models import Receipt
from ipdesk.testing import PASSWORD, PERSON_ID, UNIT_CODE, application_number, organisation, user

PHONE_A = "13800138000"
PHONE_B = "13900139000"


@pytest.fixture
def agency(db: None) -> Organisation:
    return organisation(OrganisationKind.PATENT_AGENCY, "AG1", name="北京某某专利代理事务所")


@pytest.fixture
def other_agency(db: None) -> Organisation:
    return organisation(OrganisationKind.PATENT_AGENCY, "AG2", name="上海某某专利代理事务所")


@pytest.fixture
def payer_a(db: None) -> User:
    return user(Role.PAYER, "payer-a", phone=PHONE_A)


@pytest.fixture
def payer_b(db: None) -> User:
    return user(Role.PAYER, "payer-b", phone=PHONE_B)


def pay(
    collector: User,
    reviewer: User,
    *,
    phone: str = PHONE_A,
    agency: Organisation | None = None,
    unit: bool = False,
    serial: int = 1,
    fee: str = "application",
    amount: str = "900.00",
    count: int = 1,
) -> list[Receipt]:
    """Book ``count`` counter payments, review them and return their receipts."""
    volume = collection.open_volume(
        office=collector.organisation,  # type: ignore[arg-type]
        kind=VolumeKind.COUNTER,
        day=timezone.localdate(),
        actor=collector,
    )
    payer = collection.PayerData(
        name="上海海芯半导体有限公司" if unit else "陈发明",
        kind="unit" if unit else "individual",
        id_code=UNIT_CODE if unit else PERSON_ID,
        phone=phone,
    )
    payments = [
        collection.book_payment(
            volume=volume,
            data=collection.BookingData(
                channel="counter",
                payer=payer,
                application_number=application_number(serial=serial + i),
                lines=[collection.LineData(fee_code=fee, amount=amount)],
                dates=collection.ChannelDates(received_on=timezone.localdate()),
                agency=agency,
            ),
            actor=collector,
        )
        for i in range(count)
    ]
    collection.close_volume(volume, actor=collector)
    with TestCase.captureOnCommitCallbacks(execute=True):
        collection.review_volume(volume, actor=reviewer)
    return list(
        Receipt.objects.select_related("series", "payment")
        .filter(payment__in=[p.pk for p in payments])
        .order_by("pk")
    )


def signed_in(who: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=who.username, password=PASSWORD)
    return client


def refusals() -> int:
    from ipdesk.audit.models import AuditEvent

    return AuditEvent.objects.filter(action="accounts.access.denied").count()


__all__ = ["Payment", "pay", "refusals", "signed_in"]
