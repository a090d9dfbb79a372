"""POST /api/v1/payments (online and staff), idempotency, review, reports over the API."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from ipdesk.accounts.models import Role
from ipdesk.collection.models import Payment
from ipdesk.core.models import IdempotentRequest
from ipdesk.testing import PERSON_ID, UNIT_CODE, api_client, application_number, user

pytestmark = pytest.mark.django_db


def body(**change: Any) -> dict[str, Any]:
    data = {
        "channel": "online",
        "office": "CNIPA",
        "payer": {
            "name": "上海海芯半导体有限公司",
            "kind": "unit",
            "id_code": UNIT_CODE,
            "email": "fin@haixin.example",
        },
        "application_number": application_number(),
        "lines": [
            {"fee_code": "application", "amount": "900.00"},
            {"fee_code": "examination", "amount": "2500"},
        ],
    }
    data.update(change)
    return data


@pytest.fixture
def gateway(fee_office: Any) -> Any:
    return user(Role.COLLECTOR, "gateway", org=fee_office)


def test_online_payment_is_created_verified(gateway: Any) -> None:
    response = api_client(gateway).post(
        "/api/v1/payments", body(), format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert set(answer) == {"id", "payment_date", "payment_date_rule", "status"}
    assert answer["status"] == "reviewed"
    assert answer["payment_date_rule"] == "online"
    assert answer["payment_date"] == timezone.localdate().isoformat()
    payment = Payment.objects.get(pk=answer["id"])
    assert payment.volume.kind == "online" and payment.office.code == "CNIPA"
    assert str(payment.total) == "3400.00"


def test_same_key_same_body_gives_the_same_answer(gateway: Any) -> None:
    client = api_client(gateway)
    first = client.post("/api/v1/payments", body(), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = client.post("/api/v1/payments", body(), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert Payment.objects.count() == 1


def test_same_key_other_body_is_a_conflict(gateway: Any) -> None:
    client = api_client(gateway)
    client.post("/api/v1/payments", body(), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    other = client.post(
        "/api/v1/payments",
        body(application_number=application_number(serial=2)),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channel": "cheque"}, "channel"),
        ({"office": "XX"}, "office"),
        ({"office": "BJ"}, "office"),  # online payments belong to the fee office
        ({"application_number": "123"}, "application_number"),
        ({"lines": []}, "lines"),
        ({"lines": [{"fee_code": "application", "amount": "800.00"}]}, "lines.0.amount"),
        ({"lines": [{"fee_code": "application", "amount": "abc"}]}, "lines.0.amount"),
        (
            {"payer": {"name": "x", "kind": "unit", "id_code": "91350100M000100Y44"}},
            "payer.id_code",
        ),
        ({"payer": {"name": "x", "kind": "alien", "id_code": PERSON_ID}}, "payer.kind"),
        ({"remitted_on": "2099-01-01"}, "remitted_on"),
    ],
)
def test_bad_payment_requests_name_the_field_and_change_nothing(
    gateway: Any, office: Any, change: dict, field: str
) -> None:
    response = api_client(gateway, language="en").post(
        "/api/v1/payments", body(**change), format="json", HTTP_IDEMPOTENCY_KEY="bad"
    )
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not Payment.objects.exists()
    assert not IdempotentRequest.objects.exists()


def test_staff_entry_then_review_by_another_user(
    office: Any, collector: Any, reviewer: Any
) -> None:
    data = body(
        channel="counter", office="BJ", lines=[{"fee_code": "application", "amount": "900"}]
    )
    created = api_client(collector).post("/api/v1/payments", data, format="json")
    assert created.status_code == 201
    payment_id = created.json()["id"]
    assert created.json()["status"] == "entered"
    volume_id = Payment.objects.get(pk=payment_id).volume_id
    # The collector cannot review their own entry.
    assert (
        api_client(collector)
        .post(f"/api/v1/payments/{payment_id}/review", {}, format="json")
        .status_code
        == 403
    )
    api_client(collector).post(f"/api/v1/volumes/{volume_id}/close", {}, format="json")
    reviewed = api_client(reviewer).post(f"/api/v1/payments/{payment_id}/review", {}, format="json")
    assert reviewed.status_code == 200, reviewed.json()
    assert reviewed.json()["status"] == "reviewed"
    report = api_client(reviewer).get(
        "/api/v1/offices/BJ/daily-report", {"day": timezone.localdate().isoformat()}
    )
    assert report.json()["total"] == "900.00" and report.json()["count"] == 1


def test_other_offices_and_payers_see_nothing(office: Any, collector: Any) -> None:
    created = api_client(collector).post(
        "/api/v1/payments",
        body(channel="counter", office="BJ", lines=[{"fee_code": "application", "amount": "900"}]),
        format="json",
    )
    payment_id = created.json()["id"]
    payer = user(Role.PAYER, "someone")
    assert api_client(payer).get(f"/api/v1/payments/{payment_id}").status_code == 404
    assert (
        api_client(payer).get("/api/v1/offices/BJ/daily-report", {"day": "2025-01-01"}).status_code
        == 404
    )
    assert api_client(collector).get(f"/api/v1/payments/{payment_id}").status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_book_once() -> None:
    from ipdesk.accounts.models import OrganisationKind
    from ipdesk.testing import organisation

    fee_office = organisation(OrganisationKind.FEE_OFFICE, "CNIPA")
    gateway = user(Role.COLLECTOR, "gateway", org=fee_office)
    clients = [api_client(gateway), api_client(gateway)]
    barrier = threading.Barrier(2)
    answers: list[tuple[int, Any]] = []

    def send(client: Any) -> None:
        try:
            barrier.wait()
            response = client.post(
                "/api/v1/payments", body(), format="json", HTTP_IDEMPOTENCY_KEY="same"
            )
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 2
    assert answers[0] == answers[1]
    assert answers[0][0] == 201
    assert Payment.objects.count() == 1
