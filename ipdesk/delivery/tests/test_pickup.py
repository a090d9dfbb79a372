"""Pickup by code (取票码): the API and the anonymous page."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from ipdesk.delivery import selectors
from ipdesk.receipts import documents
from ipdesk.testing import api_client

from .conftest import issue
from .test_email import pickup_code_in


def mailed(smtp: Any, collector: Any, reviewer: Any) -> tuple[Any, str]:
    [receipt] = issue(collector, reviewer)
    body = smtp.messages[-1].get_body(preferencelist=("plain",)).get_content()
    return receipt, pickup_code_in(body)


def test_pickup_api_with_the_right_code(smtp: Any, collector: Any, reviewer: Any) -> None:
    receipt, code = mailed(smtp, collector, reviewer)
    client = api_client()
    # Lower case, spaces and a hyphen are forgiven.
    typed = f"{code[:4].lower()}-{code[4:]} "
    response = client.get("/api/v1/pickup", {"code": typed, "number": receipt.number_text})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["code"], body["number"], body["total"]) == (
        receipt.series.code,
        receipt.number_text,
        "900.00",
    )
    assert set(body["documents"]) == {"pdf", "ofd", "xml"}
    for fmt, link in body["documents"].items():
        download = Client().get(link)
        assert download.status_code == 200, link
        assert download.content == documents.render(receipt, fmt)
    as_file = client.get(
        "/api/v1/pickup", {"code": code, "number": str(receipt.number), "format": "pdf"}
    )
    assert as_file.status_code == 200
    assert as_file.content == documents.render(receipt, "pdf")
    assert as_file["Content-Type"] == "application/pdf"


def test_wrong_code_answers_like_an_unknown_receipt(
    smtp: Any, collector: Any, reviewer: Any
) -> None:
    receipt, code = mailed(smtp, collector, reviewer)
    client = api_client()
    wrong = ("2" if code[0] != "2" else "3") + code[1:]
    wrong_code = client.get("/api/v1/pickup", {"code": wrong, "number": receipt.number_text})
    unknown = client.get("/api/v1/pickup", {"code": code, "number": "9999999999"})
    assert wrong_code.status_code == unknown.status_code == 404
    assert wrong_code.json() == unknown.json()
    download = client.get(
        "/api/v1/pickup", {"code": wrong, "number": receipt.number_text, "format": "pdf"}
    )
    assert download.status_code == 404
    assert selectors.pickup_receipt(wrong, receipt.number) is None


def test_pickup_bad_input_names_the_field(db: None) -> None:
    client = api_client()
    cases = [
        ({"number": "1"}, "code"),
        ({"code": "ABC", "number": "1"}, "code"),
        ({"code": "ABCDEFG0", "number": "1"}, "code"),  # 0 is not in the alphabet
        ({"code": "ABCDEFGH"}, "number"),
        ({"code": "ABCDEFGH", "number": "12345678901"}, "number"),
        ({"code": "ABCDEFGH", "number": "0"}, "number"),
        ({"code": "ABCDEFGH", "number": "1", "format": "docx"}, "format"),
    ]
    for params, field in cases:
        response = client.get("/api/v1/pickup", params)
        assert response.status_code == 400, params
        assert field in response.json()["error"]["fields"], params


def test_pickup_is_rate_limited_per_address(
    smtp: Any, settings: Any, collector: Any, reviewer: Any
) -> None:
    receipt, code = mailed(smtp, collector, reviewer)
    settings.IPDESK_PICKUP_RATE = "2/min"
    client = api_client()
    params = {"code": code, "number": receipt.number_text}
    answers = [client.get("/api/v1/pickup", params).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    # The page and the downloads share the budget of the address.
    assert Client().get("/pickup/", params).status_code == 429
    assert Client().get("/pickup/download", {**params, "format": "pdf"}).status_code == 429
    elsewhere = api_client().get("/api/v1/pickup", params, REMOTE_ADDR="10.0.0.7")
    assert elsewhere.status_code == 200


def test_pickup_page(smtp: Any, collector: Any, reviewer: Any) -> None:
    receipt, code = mailed(smtp, collector, reviewer)
    page = Client()
    empty = page.get("/pickup/")
    assert empty.status_code == 200
    assert 'name="code"' in empty.content.decode()
    found = page.get("/pickup/", {"code": code, "number": receipt.number_text})
    assert found.status_code == 200
    html = found.content.decode()
    links = re.findall(r'href="(/pickup/download\?[^"]+)"', html)
    assert len(links) == 3
    pdf = page.get(links[0].replace("&amp;", "&"))
    assert pdf.status_code == 200 and pdf.content == documents.render(receipt, "pdf")

    wrong = ("2" if code[0] != "2" else "3") + code[1:]
    missing = page.get("/pickup/", {"code": wrong, "number": receipt.number_text})
    assert missing.status_code == 404
    assert receipt.series.code not in missing.content.decode()
    bad = page.get("/pickup/", {"code": "x", "number": "y"})
    assert bad.status_code == 400
    assert bad.content.decode().count('class="errorlist"') == 2
