"""Who sees which receipt: IDOR on every route, agency and enterprise scoping."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import TestCase

from ipdesk.accounts.models import OrganisationKind, Role
from ipdesk.collection.models import Payment
from ipdesk.portal.models import ZipJob
from ipdesk.portal.services import start_zip_job
from ipdesk.receipts.models import Receipt
from ipdesk.testing import UNIT_CODE, api_client, organisation, user

from .conftest import PHONE_B, pay, refusals, signed_in

pytestmark = pytest.mark.django_db


def portal_routes(receipt: Receipt) -> list[str]:
    base = f"/my/receipts/{receipt.series.code}/{receipt.number_text}/"
    return [base, base + "pdf", base + "ofd", base + "xml"]


def api_routes(receipt: Receipt) -> list[tuple[str, str]]:
    base = f"/api/v1/receipts/{receipt.series.code}/{receipt.number_text}"
    return [
        ("get", base),
        ("get", base + "/pdf"),
        ("get", base + "/ofd"),
        ("get", base + "/xml"),
        ("post", base + "/reverse"),
    ]


def test_owner_reads_every_route(collector: Any, reviewer: Any, payer_a: Any) -> None:
    receipt = pay(collector, reviewer)[0]
    client = signed_in(payer_a)
    for url in portal_routes(receipt):
        assert client.get(url).status_code == 200, url
    page = client.get(portal_routes(receipt)[0]).content.decode()
    assert f"/verify/?code={receipt.series.code}" in page
    assert f"check_code={receipt.check_code}" in page
    api = api_client(payer_a)
    for method, url in api_routes(receipt)[:4]:
        assert getattr(api, method)(url).status_code == 200, url


def test_another_payers_receipt_is_404_everywhere_and_logged(
    collector: Any, reviewer: Any, payer_a: Any, payer_b: Any
) -> None:
    receipt = pay(collector, reviewer)[0]
    client = signed_in(payer_b)
    before = refusals()
    for url in portal_routes(receipt):
        assert client.get(url).status_code == 404, url
    api = api_client(payer_b)
    for method, url in api_routes(receipt):
        response = getattr(api, method)(url, {"reason": "refund"}, format="json")
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"
    assert refusals() - before == len(portal_routes(receipt)) + len(api_routes(receipt))
    assert not Receipt.objects.filter(kind="red").exists()
    listing = client.get("/my/").content.decode()
    assert receipt.number_text not in listing


def test_a_receipt_that_does_not_exist_is_404_without_a_refusal(payer_b: Any) -> None:
    client = signed_in(payer_b)
    before = refusals()
    assert client.get("/my/receipts/11010125/0000009999/").status_code == 404
    assert client.get("/my/receipts/abc/xyz/pdf").status_code == 404
    assert client.get("/my/receipts/11010125/0000000001/doc").status_code == 404
    assert refusals() == before


def test_another_payers_zip_job_is_404_and_logged(
    collector: Any, reviewer: Any, payer_a: Any, payer_b: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    pay(collector, reviewer)
    with TestCase.captureOnCommitCallbacks(execute=True):
        job = start_zip_job(payer_a, {}, ["pdf"])
    assert ZipJob.objects.get(pk=job.pk).status == "done"
    client = signed_in(payer_b)
    before = refusals()
    assert client.get(f"/my/zip/{job.pk}/").status_code == 404
    assert client.get(f"/my/zip/{job.pk}/download").status_code == 404
    assert refusals() - before == 2
    owner = signed_in(payer_a)
    assert owner.get(f"/my/zip/{job.pk}/download").status_code == 200


def test_portal_needs_sign_in(collector: Any, reviewer: Any) -> None:
    from django.test import Client

    receipt = pay(collector, reviewer)[0]
    for url in ["/my/", *portal_routes(receipt)]:
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/phone/")


def test_agency_payer_reads_its_agencys_payments_only(
    collector: Any, reviewer: Any, agency: Any, other_agency: Any
) -> None:
    mine = pay(collector, reviewer, phone=PHONE_B, agency=agency, serial=10)[0]
    theirs = pay(collector, reviewer, phone=PHONE_B, agency=other_agency, serial=20)[0]
    clerk = user(Role.PAYER, "ag1-clerk", org=agency)
    client = signed_in(clerk)
    listing = client.get("/my/").content.decode()
    assert mine.number_text in listing and theirs.number_text not in listing
    assert client.get(portal_routes(mine)[0]).status_code == 200
    assert client.get(portal_routes(theirs)[0]).status_code == 404
    api = api_client(clerk)
    assert api.get(api_routes(mine)[1][1]).status_code == 200
    assert api.get(api_routes(theirs)[1][1]).status_code == 404


def test_enterprise_payer_reads_receipts_of_its_credit_code(
    collector: Any, reviewer: Any, payer_a: Any
) -> None:
    ours = pay(collector, reviewer, phone="", unit=True, serial=30)[0]
    personal = pay(collector, reviewer, serial=40)[0]
    company = organisation(OrganisationKind.ENTERPRISE, "HX", credit_code=UNIT_CODE)
    accountant = user(Role.PAYER, "hx-fin", org=company)
    client = signed_in(accountant)
    assert client.get(portal_routes(ours)[0]).status_code == 200
    assert client.get(portal_routes(personal)[0]).status_code == 404
    other = organisation(OrganisationKind.ENTERPRISE, "ZZ", credit_code="")
    stranger = user(Role.PAYER, "zz-fin", org=other)
    assert signed_in(stranger).get(portal_routes(ours)[0]).status_code == 404


# --- the agency of an API payment --------------------------------------------------------------


def online_body(**change: Any) -> dict[str, Any]:
    from ipdesk.testing import application_number

    data = {
        "channel": "online",
        "office": "CNIPA",
        "payer": {"name": "陈发明", "kind": "individual", "id_code": "11010519491231002X"},
        "application_number": application_number(),
        "lines": [{"fee_code": "application", "amount": "900.00"}],
    }
    data.update(change)
    return data


@pytest.fixture
def gateway(db: None) -> Any:
    fee_office = organisation(OrganisationKind.FEE_OFFICE, "CNIPA", name="收费处")
    return user(Role.COLLECTOR, "gateway", org=fee_office)


def test_api_payment_records_the_paying_agency(gateway: Any, agency: Any) -> None:
    response = api_client(gateway).post(
        "/api/v1/payments", online_body(agency="ag1"), format="json"
    )
    assert response.status_code == 201, response.json()
    payment = Payment.objects.get(pk=response.json()["id"])
    assert payment.agency == agency
    detail = api_client(gateway).get(f"/api/v1/payments/{payment.pk}")
    assert detail.json()["agency"] == "AG1"
    plain = api_client(gateway).post("/api/v1/payments", online_body(), format="json")
    assert Payment.objects.get(pk=plain.json()["id"]).agency is None


@pytest.mark.parametrize("code", ["NOPE", "CNIPA", "HX"])
def test_api_payment_with_a_bad_agency_names_agency(gateway: Any, code: str) -> None:
    organisation(OrganisationKind.ENTERPRISE, "HX", credit_code=UNIT_CODE)
    response = api_client(gateway).post("/api/v1/payments", online_body(agency=code), format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"agency"}
    assert Payment.objects.count() == 0


def test_agency_payer_cannot_name_another_agency(
    gateway: Any, agency: Any, other_agency: Any
) -> None:
    from ipdesk.collection.api import paying_agency
    from ipdesk.core.errors import InvalidInput

    clerk = user(Role.PAYER, "ag1-clerk", org=agency)
    assert paying_agency(clerk, "") == agency
    assert paying_agency(clerk, "ag1") == agency
    with pytest.raises(InvalidInput) as refused:
        paying_agency(clerk, "AG2")
    assert set(refused.value.fields) == {"agency"}
    response = api_client(clerk).post("/api/v1/payments", online_body(agency="AG2"), format="json")
    assert response.status_code == 400 and "agency" in response.json()["error"]["fields"]
