"""The public core endpoints and the shape of API errors, in both languages."""

from __future__ import annotations

import pytest

from ipdesk.core.identifiers import application_check_digit
from ipdesk.testing import api_client

pytestmark = pytest.mark.django_db


def test_deadline_endpoint_uses_the_calendar() -> None:
    response = api_client().get("/api/v1/calendar/deadline", {"start": "2007-12-06", "months": 2})
    assert response.status_code == 200
    assert response.json() == {
        "start": "2007-12-06",
        "period_end": "2008-02-06",
        "deadline": "2008-02-13",
        "moved": True,
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "start"),
        ({"start": "2025-13-01"}, "start"),
        ({"start": "2025-01-01", "months": "two"}, "months"),
        ({"start": "2025-01-01", "months": "-1"}, "months"),
    ],
)
def test_deadline_endpoint_names_the_bad_field(params: dict, field: str) -> None:
    response = api_client(language="en").get("/api/v1/calendar/deadline", params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == "The request contains invalid data."
    assert list(error["fields"]) == [field]


def test_unknown_calendar_year_is_a_clear_error() -> None:
    response = api_client(language="en").get(
        "/api/v1/calendar/deadline", {"start": "2026-12-20", "months": 1}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "calendar_year_unknown"
    assert "2027" in error["message"]


def test_working_days_endpoint() -> None:
    response = api_client().get("/api/v1/calendar/days", {"from": "2025-01-25", "to": "2025-01-28"})
    assert [d["working_day"] for d in response.json()["days"]] == [False, True, True, False]
    response = api_client().get("/api/v1/calendar/days", {"from": "2025-01-28", "to": "2025-01-25"})
    assert response.status_code == 400 and "to" in response.json()["error"]["fields"]


def test_identifier_check_parses_application_numbers() -> None:
    check = application_check_digit("202310123456")
    response = api_client().post(
        "/api/v1/identifiers/check",
        {"kind": "application_number", "value": f"ZL202310123456.{check}"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {
        "valid": True,
        "value": f"202310123456{check}",
        "display": f"202310123456.{check}",
        "year": 2023,
        "patent_kind": "invention",
        "pct": False,
        "serial": 123456,
    }


def test_identifier_check_error_in_chinese_and_english() -> None:
    body = {"kind": "mobile", "value": "12345"}
    zh = api_client().post("/api/v1/identifiers/check", body, format="json").json()["error"]
    en = (
        api_client(language="en")
        .post("/api/v1/identifiers/check", body, format="json")
        .json()["error"]
    )
    assert zh["code"] == en["code"] == "invalid"
    assert zh["message"] == "请求中含有无效的数据。"
    assert en["message"] == "The request contains invalid data."
    assert list(zh["fields"]) == list(en["fields"]) == ["value"]
    assert zh["fields"]["value"] != en["fields"]["value"]


def test_identifier_check_refuses_unknown_kind_and_bad_json() -> None:
    response = api_client().post(
        "/api/v1/identifiers/check", {"kind": "passport", "value": "x"}, format="json"
    )
    assert response.status_code == 400 and "kind" in response.json()["error"]["fields"]
    response = api_client().post(
        "/api/v1/identifiers/check", "{bad", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_schema_and_docs_are_served(client) -> None:
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/calendar/deadline" in schema.content
    assert client.get("/api/docs/").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/payments/not-a-number", "/api/v1/no-such-thing"])
def test_an_unknown_api_path_answers_the_error_shape_not_a_page(path: str) -> None:
    """Found by Schemathesis: a path whose parameter is not of its type matched no URL
    pattern and got Django's HTML 404 page, which no API client can parse."""
    for method in ("get", "post", "delete"):
        client = api_client(language="en")
        client.handler.enforce_csrf_checks = True
        response = getattr(client, method)(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {
            "error": {"code": "not_found", "message": "Not found.", "fields": {}}
        }
