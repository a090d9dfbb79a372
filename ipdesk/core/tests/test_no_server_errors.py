"""Issue 11 items 2, 3 and 7: bad requests get a 400 in the error shape, never a 500 or
Django's HTML pages, with or without signing in."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from ipdesk.accounts.models import OrganisationKind, Role, User
from ipdesk.testing import api_client, organisation, user

# A client that answers with the server's response where a test client would re-raise.
pytestmark = pytest.mark.django_db


def _client(for_user: User | None = None) -> Any:
    client = api_client(for_user, language="en")
    client.raise_request_exception = False
    return client


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    return dict(body["error"])


@pytest.fixture
def collector() -> User:
    return user(Role.COLLECTOR, "collector")


@pytest.fixture
def clerk() -> User:
    organisation(OrganisationKind.AGENCY_OFFICE, "BJ")
    return user(Role.FEE_CLERK, "clerk", org=organisation(OrganisationKind.FEE_OFFICE, "CNIPA"))


@pytest.fixture
def auditor() -> User:
    return user(Role.AUDITOR, "auditor", org=organisation(OrganisationKind.FEE_OFFICE, "CNIPA"))


# --- item 2: 500s without signing in ---------------------------------------------------------


def _xml_signing(signed_data: bytes) -> bytes:
    encoded = base64.b64encode(signed_data).decode()
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><EInvoice><EInvoiceData/>'
        f'<Signature keyId="k" algorithm="Ed25519"><SignedData encoding="base64">{encoded}'
        f"</SignedData><SignatureValue>NQ==</SignatureValue></Signature></EInvoice>"
    ).encode()


NOT_OBJECTS = [b"5", b"[1]", b'"text"', b"null", b"[" * 3000 + b"]" * 3000]


@pytest.mark.parametrize("signed", NOT_OBJECTS, ids=["number", "list", "string", "null", "deep"])
def test_verify_file_whose_signed_data_is_no_object(signed: bytes) -> None:
    """Issue 11 item 2: SignedData that is valid base64 of a non-object is an unreadable file."""
    upload = SimpleUploadedFile("r.xml", _xml_signing(signed), content_type="application/xml")
    error = _error(_client().post("/api/v1/verify/file", {"file": upload}, format="multipart"), 400)
    assert "file" in error["fields"]
    upload.seek(0)
    page = Client(raise_request_exception=False).post("/verify/", {"file": upload})
    assert page.status_code == 400
    assert "&lt;Signature&gt; block is damaged" in page.content.decode()


DEEP = "[" * 3000 + "]" * 3000
DEEP_OBJECT = '{"a":' * 3000 + "1" + "}" * 3000


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["lists", "objects"])
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/auth/phone/code",
        "/api/v1/auth/phone/login",
        "/api/v1/fees/quote",
        "/api/v1/identifiers/check",
    ],
)
def test_json_nested_thousands_deep_is_a_400(url: str, body: str) -> None:
    """Issue 11 item 2: a JSON body nested 3,000 deep is refused, not a RecursionError."""
    error = _error(_client().post(url, body, content_type="application/json"), 400)
    assert error["code"] == "malformed_request" and "32" in error["message"]


def test_json_nested_thousands_deep_is_a_400_for_payments(collector: User) -> None:
    """Issue 11 item 2: the same for a signed-in collector on /api/v1/payments, with or
    without an idempotency key (which hashes the body)."""
    client = _client(collector)
    for headers in ({}, {"HTTP_IDEMPOTENCY_KEY": "deep-1"}):
        response = client.post("/api/v1/payments", DEEP, content_type="application/json", **headers)
        _error(response, 400)


def test_json_just_over_the_depth_limit_is_refused_and_under_it_parsed() -> None:
    """Issue 11 item 2: the limit is a number, not whatever the stack allows."""
    over = '{"kind": "mobile", "value": "13800138000", "x": ' + "[" * 32 + "]" * 32 + "}"
    _error(_client().post("/api/v1/identifiers/check", over, content_type="application/json"), 400)
    under = '{"kind": "mobile", "value": "13800138000", "x": ' + "[" * 30 + "]" * 30 + "}"
    ok = _client().post("/api/v1/identifiers/check", under, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["valid"] is True


@pytest.mark.parametrize(
    "params",
    [
        {"start": "9999-12-31", "months": "1"},
        {"start": "9990-01-01", "years": "30"},
        {"start": "9999-12-01", "days": "3650"},
    ],
)
def test_deadline_past_the_year_9999_names_the_field(params: dict[str, str]) -> None:
    """Issue 11 item 2: a period that ends after 9999-12-31 is a clear error on ``start``."""
    error = _error(_client().get("/api/v1/calendar/deadline", params), 400)
    assert error["code"] == "invalid" and "9999" in error["fields"]["start"][0]


# --- item 3: 500s for staff: NUL bytes and months out of range --------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/settlement/statements?office=%00",
        "/api/v1/offices/B%00J/penalties",
        "/api/v1/offices/B%00J/daily-report?day=2026-01-05",
        "/api/v1/offices/B%00J/day-submissions",
        "/api/v1/offices/B%00J/monthly-reports?month=2026-01",
        "/api/v1/settlement/statements?office=BJ&month=2026-01%00",
    ],
)
def test_nul_in_a_path_or_query_is_a_400_for_the_fee_office(clerk: User, url: str) -> None:
    """Issue 11 item 3: a NUL byte never reaches the database (PostgreSQL refused it: 500)."""
    error = _error(_client(clerk).get(url), 400)
    assert error["code"] == "invalid"
    assert set(error["fields"]) <= {"path", "office", "month", "day"} and error["fields"]


@pytest.mark.parametrize("name", ["action", "object_type", "object_id", "after"])
def test_nul_in_audit_filters_is_a_400(auditor: User, name: str) -> None:
    """Issue 11 item 3: every filter of the audit events."""
    error = _error(_client(auditor).get("/api/v1/audit/events", {name: "x\x00y"}), 400)
    assert list(error["fields"]) == [name]


@pytest.mark.parametrize("character", ["\x01", "\x1b", "\x7f"])
def test_other_control_characters_in_the_path_are_refused(clerk: User, character: str) -> None:
    """Issue 11 item 3: not only NUL."""
    _error(_client(clerk).get(f"/api/v1/offices/B{character}J/penalties"), 400)


@pytest.mark.parametrize(
    "url",
    [
        "/settlement/offices/B%00J/",
        "/settlement/offices/B%00J/penalties/",
        "/settlement/?office=%00",
        "/settlement/board/?month=2026-01%00",
    ],
)
def test_nul_in_a_page_url_is_a_400_page(clerk: User, url: str) -> None:
    """Issue 11 item 3: pages answer with the 400 page, not a 500."""
    client = Client(raise_request_exception=False)
    client.force_login(clerk)
    response = client.get(url)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "1999-12", "2101-01"])
def test_months_out_of_range_name_the_field(clerk: User, month: str) -> None:
    """Issue 11 item 3: a month whose neighbours fall off the calendar is a clear error."""
    for fmt in ("json", "pdf", "xlsx"):
        error = _error(
            _client(clerk).get(
                "/api/v1/offices/BJ/monthly-reports", {"month": month, "format": fmt}
            ),
            400,
        )
        assert "2000-01" in error["fields"]["month"][0]
    _error(_client(clerk).get("/api/v1/settlement/summary", {"month": month}), 400)


@pytest.mark.parametrize("month", ["9999-12", "0001-01"])
def test_months_out_of_range_on_the_report_pages(clerk: User, month: str) -> None:
    """Issue 11 item 3: the download page (``format=pdf``) refuses the month, no 500."""
    client = Client(raise_request_exception=False)
    client.force_login(clerk)
    download = client.get("/settlement/offices/BJ/reports", {"month": month, "format": "pdf"})
    assert download.status_code == 302
    board = client.get("/settlement/board/", {"month": month})
    assert board.status_code == 200


# --- item 7: every error under /api/ keeps the error shape ------------------------------------


def test_a_body_over_the_size_limit_is_a_413_in_the_error_shape(settings: Any) -> None:
    """Issue 11 item 7: RequestDataTooBig answered Django's HTML 400 page."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"phone": "' + "1" * 2000 + '"}'
    error = _error(
        _client().post("/api/v1/auth/phone/code", body, content_type="application/json"), 413
    )
    assert error["code"] == "payload_too_large" and "1000" in error["message"]


def test_an_unknown_api_url_is_a_404_in_the_error_shape() -> None:
    """Issue 11 item 7: Django's own 404 under /api/."""
    assert _error(_client().get("/api/v1/no-such-thing"), 404)["code"] == "not_found"
    assert _error(_client().get("/api/v2/"), 404)["code"] == "not_found"


def test_pages_keep_their_html_404() -> None:
    response = Client().get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_a_method_a_plain_view_refuses_is_a_405_in_the_error_shape() -> None:
    """Issue 11 item 7: /api/ also holds plain Django views (the schema)."""
    response = _client().delete("/api/schema/")
    assert _error(response, 405)["code"] == "method_not_allowed"


def test_a_csrf_failure_under_api_is_a_403_in_the_error_shape(clerk: User) -> None:
    """Issue 11 item 7: a session-authenticated write without its CSRF token."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(clerk)
    response = client.post(
        "/api/v1/identifiers/check", {"kind": "mobile"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] in {"forbidden", "csrf_failed"}


def test_django_handlers_answer_json_under_api() -> None:
    """Issue 11 item 7: handler400/403/404/500 and the CSRF failure view, called as Django
    calls them, answer the error shape under /api/ and pages elsewhere."""
    from django.core.exceptions import RequestDataTooBig
    from django.test import RequestFactory

    from ipdesk.core import middleware

    api = RequestFactory().get("/api/v1/anything")
    page = RequestFactory().get("/anything/")
    cases = [
        (middleware.bad_request(api, ValueError()), 400),
        (middleware.bad_request(api, RequestDataTooBig()), 413),
        (middleware.permission_denied(api, PermissionError()), 403),
        (middleware.page_not_found(api, LookupError()), 404),
        (middleware.server_error(api), 500),
        (middleware.csrf_failure(api, "no token"), 403),
    ]
    for response, status in cases:
        _error(response, status)
    assert middleware.server_error(page)["Content-Type"].startswith("text/html")
    assert middleware.csrf_failure(page, "no token")["Content-Type"].startswith("text/html")


def test_a_crash_under_api_is_a_500_in_the_error_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 11 item 7: an unexpected exception in an API view."""
    from ipdesk.core import api as core_api

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(core_api, "validate_mobile", crash)
    response = _client().post(
        "/api/v1/identifiers/check",
        {"kind": "mobile", "value": "13800138000"},
        format="json",
    )
    error = _error(response, 500)
    assert error["code"] == "server_error" and "boom" not in error["message"]
