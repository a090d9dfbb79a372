"""Issue 11 items 4 and 5: the day's volume is opened once under concurrency, and a refused
booking opens none."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from ipdesk.accounts.models import OrganisationKind, Role
from ipdesk.audit.models import AuditEvent
from ipdesk.collection.models import Payment, Volume
from ipdesk.testing import api_client, application_number, organisation, user

from .test_api import body


def _post_together(clients: list[Any], bodies: list[dict[str, Any]]) -> list[Any]:
    """Every client posts its payment at the same moment, each on its own connection."""
    start = threading.Barrier(len(clients))
    answers: list[Any] = [None] * len(clients)

    def post(index: int) -> None:
        try:
            start.wait()
            answers[index] = clients[index].post("/api/v1/payments", bodies[index], format="json")
        except Exception as exc:  # a crash is an answer the test must see, not a lost thread
            answers[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return answers


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_payments_open_one_volume() -> None:
    """Issue 11 item 4: twenty payments that all open the day's new volume at once got one
    500 (IntegrityError ``volume_unique_number``); now all are booked into one volume."""
    fee_office = organisation(OrganisationKind.FEE_OFFICE, "CNIPA", name="收费处")
    gateway = user(Role.COLLECTOR, "gateway", org=fee_office)
    clients = [api_client(gateway) for _ in range(20)]
    bodies = [body(application_number=application_number(serial=1000 + i)) for i in range(20)]
    answers = _post_together(clients, bodies)
    statuses = [getattr(a, "status_code", a) for a in answers]
    assert statuses == [201] * 20
    assert Volume.objects.count() == 1
    volume = Volume.objects.get()
    assert volume.number == 1 and Payment.objects.filter(volume=volume).count() == 20
    assert AuditEvent.objects.filter(action="collection.volume.opened").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_first_bookings_of_several_kinds_and_offices() -> None:
    """Issue 11 item 4: openers of different volumes do not wait on a shared lock forever
    nor deadlock with the bookings that follow them."""
    fee_office = organisation(OrganisationKind.FEE_OFFICE, "CNIPA", name="收费处")
    gateway = user(Role.COLLECTOR, "gateway", org=fee_office)
    collector = user(Role.COLLECTOR, "collector", org=organisation(code="BJ"))
    clients, bodies = [], []
    for i in range(12):
        if i % 2:
            clients.append(api_client(gateway))
            bodies.append(body(application_number=application_number(serial=2000 + i)))
        else:
            clients.append(api_client(collector))
            counter = body(
                channel="counter",
                office="BJ",
                application_number=application_number(serial=2000 + i),
            )
            bodies.append(counter)
    answers = _post_together(clients, bodies)
    assert [getattr(a, "status_code", a) for a in answers] == [201] * 12
    assert sorted(Volume.objects.values_list("office__code", "kind", "number")) == [
        ("BJ", "counter", 1),
        ("CNIPA", "online", 1),
    ]


@pytest.fixture
def gateway(db: None) -> Any:
    fee_office = organisation(OrganisationKind.FEE_OFFICE, "CNIPA", name="收费处")
    return user(Role.COLLECTOR, "gateway", org=fee_office)


def test_a_refused_first_booking_leaves_no_volume_behind(gateway: Any) -> None:
    """Issue 11 item 5: the day's first booking with an invalid line opened an empty volume
    (and audited it), which then blocked the day's submission; a refusal changes nothing."""
    client = api_client(gateway)
    events = AuditEvent.objects.count()
    bad = body(lines=[{"fee_code": "application", "amount": "1.00"}])
    response = client.post("/api/v1/payments", bad, format="json")
    assert response.status_code == 400
    assert "lines.0.amount" in response.json()["error"]["fields"]
    assert Volume.objects.count() == 0
    assert AuditEvent.objects.count() == events
    # The same refusal with an idempotency key changes nothing either.
    again = client.post("/api/v1/payments", bad, format="json", HTTP_IDEMPOTENCY_KEY="refused-1")
    assert again.status_code == 400 and Volume.objects.count() == 0
    # A good booking afterwards opens the volume as number 1.
    good = client.post("/api/v1/payments", body(), format="json")
    assert good.status_code == 201
    assert list(Volume.objects.values_list("number", flat=True)) == [1]


def test_a_refused_counter_booking_leaves_no_volume_behind(db: None) -> None:
    """Issue 11 item 5: the same at an agency office's counter (unknown fee code)."""
    collector = user(Role.COLLECTOR, "collector", org=organisation(code="BJ"))
    bad = body(channel="counter", office="BJ", lines=[{"fee_code": "nope", "amount": "9.00"}])
    response = api_client(collector).post("/api/v1/payments", bad, format="json")
    assert response.status_code == 400
    assert Volume.objects.count() == 0
    assert not AuditEvent.objects.filter(action="collection.volume.opened").exists()
