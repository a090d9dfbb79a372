"""The receipts API: verification (查验), reading, downloads, keys and reversal (冲红)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from ipdesk.accounts.models import OrganisationKind, Role
from ipdesk.audit.selectors import verify_chain
from ipdesk.collection.models import Payment
from ipdesk.core.canonical import canonical_bytes
from ipdesk.receipts import services
from ipdesk.receipts.api import VerifyThrottle
from ipdesk.receipts.datafile import read_receipt_xml
from ipdesk.receipts.models import Receipt, ReceiptKind
from ipdesk.receipts.signing import public_keys_from_document
from ipdesk.testing import api_client, organisation, user


def _query(receipt: Receipt, **override: str) -> dict[str, str]:
    query = {
        "code": receipt.series.code,
        "number": receipt.number_text,
        "check_code": receipt.check_code,
        "date": receipt.issue_date.isoformat(),
        "amount": str(receipt.total),
    }
    query.update(override)
    return query


@pytest.fixture
def receipt(reviewed_payment: Payment) -> Receipt:
    return services.current_receipt(reviewed_payment)


def test_verify_genuine_reveals_details_only_when_everything_matches(receipt: Receipt) -> None:
    client = api_client()
    full = client.get("/api/v1/verify", _query(receipt)).json()
    assert full["status"] == "genuine"
    assert full["payer"] == "陈发明" and full["amount"] == "900.00"
    assert full["items"] == [{"name": "申请费", "amount": "900.00"}]
    partial = client.get(
        "/api/v1/verify",
        {k: v for k, v in _query(receipt).items() if k in ("code", "number", "check_code")},
    ).json()
    assert partial == {
        "status": "genuine",
        "code": receipt.series.code,
        "number": receipt.number_text,
        "kind": "blue",
    }


@pytest.mark.parametrize(
    "override",
    [
        {"check_code": "zzzzzz"},
        {"amount": "901.00"},
        {"date": "2020-01-01"},
    ],
)
def test_verify_mismatch_reveals_nothing(receipt: Receipt, override: dict[str, str]) -> None:
    answer = api_client().get("/api/v1/verify", _query(receipt, **override)).json()
    assert answer == {"status": "mismatch"}


def test_verify_not_found(receipt: Receipt) -> None:
    answer = api_client().get("/api/v1/verify", _query(receipt, number="9999999")).json()
    assert answer == {"status": "not_found"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code", "1101012"),
        ("number", "12345678901"),
        ("number", "abc"),
        ("check_code", "12345"),
        ("date", "2025-13-01"),
        ("amount", "9.001"),
        ("amount", "NaN"),
    ],
)
def test_verify_bad_input_names_the_field(receipt: Receipt, field: str, value: str) -> None:
    response = api_client(language="en").get("/api/v1/verify", _query(receipt, **{field: value}))
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid" and list(body["fields"]) == [field]


def test_verify_is_rate_limited(receipt: Receipt, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(VerifyThrottle, "THROTTLE_RATES", {"verify": "3/min"})
    cache.clear()
    client = api_client()
    codes = [client.get("/api/v1/verify", _query(receipt)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.get("/api/v1/verify", _query(receipt)).json()["error"]["code"] == "throttled"
    # The page shares the limit of the address.
    assert Client().get("/verify/", _query(receipt)).status_code == 429


def test_verify_page_for_people(receipt: Receipt) -> None:
    page = Client().get("/verify/", _query(receipt))
    assert page.status_code == 200
    assert "陈发明" in page.content.decode()
    bad = Client().get("/verify/", _query(receipt, code="12"))
    assert bad.status_code == 400 and "errorlist" in bad.content.decode()
    wrong = Client().get("/verify/", _query(receipt, check_code="zzzzzz"))
    assert "陈发明" not in wrong.content.decode()


def test_xml_file_verification(receipt: Receipt, reviewer: Any) -> None:
    xml = api_client(reviewer).get(
        f"/api/v1/receipts/{receipt.series.code}/{receipt.number_text}/xml"
    )
    assert xml.status_code == 200 and xml["Content-Type"].startswith("application/xml")
    assert read_receipt_xml(xml.content).signed == receipt.data.encode()
    upload = api_client().post(
        "/api/v1/verify/file", {"file": _file(xml.content)}, format="multipart"
    )
    assert upload.json()["status"] == "genuine" and upload.json()["signature"] == "valid"
    # Someone edits the amount shown in the file: the visible field no longer matches.
    forged = xml.content.replace(b"<TotalAmount>900.00<", b"<TotalAmount>9900.00<")
    refused = api_client(language="en").post(
        "/api/v1/verify/file", {"file": _file(forged)}, format="multipart"
    )
    assert refused.status_code == 400 and "file" in refused.json()["error"]["fields"]
    # ...or changes the signed data and the visible field alike: the signature fails.
    data = json.loads(receipt.data)
    data["total"] = "9900.00"
    resigned = forged.replace(
        base64.b64encode(receipt.data.encode()), base64.b64encode(canonical_bytes(data))
    )
    tampered = api_client().post(
        "/api/v1/verify/file", {"file": _file(resigned)}, format="multipart"
    )
    assert tampered.status_code == 200
    assert tampered.json() == {
        "status": "mismatch",
        "signature": "invalid",
        "format": "xml",
        "document_signature": None,
        "failed": "data_signature",
    }
    missing = api_client(language="en").post("/api/v1/verify/file", {}, format="multipart")
    assert missing.status_code == 400 and list(missing.json()["error"]["fields"]) == ["file"]
    junk = api_client().post("/api/v1/verify/file", {"file": _file(b"hello")}, format="multipart")
    assert junk.status_code == 400


def _file(content: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("receipt.xml", content, content_type="application/octet-stream")


def test_read_access_staff_and_owner_only(receipt: Receipt, collector: Any) -> None:
    url = f"/api/v1/receipts/{receipt.series.code}/{receipt.number_text}"
    owner = user(Role.PAYER, "chen", phone="13800138000")
    stranger = user(Role.PAYER, "zhao", phone="13900139000")
    other_office = user(
        Role.COLLECTOR, "sh", org=organisation(OrganisationKind.AGENCY_OFFICE, "SH")
    )
    auditor = user(Role.AUDITOR, "audit")
    assert api_client(owner).get(url).json()["data"]["payer"]["name"] == "陈发明"
    assert api_client(collector).get(url).status_code == 200
    assert api_client(auditor).get(url).status_code == 200
    assert api_client(stranger).get(url).status_code == 404
    assert api_client(other_office).get(url).status_code == 404
    assert api_client().get(url).status_code == 401
    assert api_client(owner).get("/api/v1/receipts/1234/5").status_code == 404


def test_keys_are_published_and_verify_offline(receipt: Receipt) -> None:
    document = Client().get("/.well-known/ipdesk/keys.json").json()
    assert document["issuer"] == "国家知识产权局"
    [key] = [k for k in document["keys"] if k["active"]]
    assert key["kid"] == receipt.key_id and key["alg"] == "Ed25519" and "d" not in key
    keys = public_keys_from_document(document)
    assert keys[receipt.key_id].verify(receipt.data.encode(), base64.b64decode(receipt.signature))


def test_reversal_end_to_end(receipt: Receipt, clerk: Any, collector: Any) -> None:
    url = f"/api/v1/receipts/{receipt.series.code}/{receipt.number_text}/reverse"
    before = Receipt.objects.filter(pk=receipt.pk).values().get()
    refused = api_client(collector).post(url, {"reason": "refund"}, format="json")
    assert refused.status_code == 403
    bad = api_client(clerk, language="en").post(url, {"reason": "boredom"}, format="json")
    assert bad.status_code == 400 and list(bad.json()["error"]["fields"]) == ["reason"]
    assert not Receipt.objects.filter(kind=ReceiptKind.RED).exists()

    response = api_client(clerk).post(url, {"reason": "refund", "note": "退款"}, format="json")
    assert response.status_code == 201
    red = response.json()["red"]
    assert red["kind"] == "red" and red["total"] == "-900.00"
    assert red["number"] != receipt.number_text
    assert red["data"]["related"] == {
        "code": receipt.series.code,
        "number": receipt.number_text,
        "reason": "refund",
    }
    assert red["data"]["items"][0]["amount"] == "-900.00"
    assert red["data"]["total_in_words"] == "负玖佰元整"
    assert Receipt.objects.filter(pk=receipt.pk).values().get() == before
    answer = api_client().get("/api/v1/verify", _query(receipt)).json()
    assert answer["status"] == "reversed" and answer["reversed_by"]["number"] == red["number"]
    again = api_client(clerk).post(url, {"reason": "refund"}, format="json")
    assert again.status_code == 409
    red_receipt = Receipt.objects.get(kind=ReceiptKind.RED)
    red_url = f"/api/v1/receipts/{red_receipt.series.code}/{red_receipt.number_text}/reverse"
    assert api_client(clerk).post(red_url, {"reason": "refund"}, format="json").status_code == 409
    assert verify_chain().ok


def test_title_correction_is_reversal_plus_reissue(receipt: Receipt, clerk: Any) -> None:
    url = f"/api/v1/receipts/{receipt.series.code}/{receipt.number_text}/reverse"
    missing = api_client(clerk, language="en").post(url, {"reason": "wrong_title"}, format="json")
    assert missing.status_code == 400 and list(missing.json()["error"]["fields"]) == ["title"]
    response = api_client(clerk).post(
        url, {"reason": "wrong_title", "title": "北京某某科技有限公司"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["red"]["data"]["payer"]["name"] == "陈发明"
    assert body["reissued"]["data"]["payer"]["name"] == "北京某某科技有限公司"
    assert body["reissued"]["total"] == "900.00"
    payment = Payment.objects.get(pk=receipt.payment_id)
    assert services.current_receipt(payment).number_text == body["reissued"]["number"]
    assert services.issue_receipt(payment).number_text == body["reissued"]["number"]
    numbers = sorted(Receipt.objects.values_list("number", flat=True))
    assert numbers == list(range(1, 4))


@pytest.mark.parametrize(
    ("fmt", "accept"), [("pdf", "application/pdf"), ("xml", "application/xml")]
)
def test_a_client_asking_for_the_file_type_gets_the_file(
    receipt: Receipt, collector: Any, fmt: str, accept: str
) -> None:
    """A client that sends ``Accept: application/pdf`` for a PDF (as generated clients and
    browsers do) was refused with 406: only JSON was acceptable to DRF's negotiation, though
    the file never goes through a renderer. Errors stay JSON whatever is accepted."""
    url = f"/api/v1/receipts/{receipt.series.code}/{receipt.number_text}/{fmt}"
    response = api_client(collector).get(url, HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(accept)
    missing = api_client(collector, language="en").get(
        f"/api/v1/receipts/{receipt.series.code}/9999999999/{fmt}", HTTP_ACCEPT=accept
    )
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/json"
    assert missing.json()["error"]["code"] == "not_found"
