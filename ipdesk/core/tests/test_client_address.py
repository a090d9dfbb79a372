"""Issue 11 item 1: one client address for the whole project, X-Forwarded-For only from
the configured proxies."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory

from ipdesk.core.clientaddress import client_address
from ipdesk.receipts.throttles import VerifyThrottle

VERIFY = {
    "code": "11010126",
    "number": "1",
    "check_code": "abc123",
    "date": "2026-01-05",
    "amount": "900.00",
}
PICKUP = {"code": "ABCDEFGH", "number": "1"}

ENDPOINTS = [
    ("/api/v1/verify", VERIFY),
    ("/verify/", VERIFY),
    ("/api/v1/pickup", PICKUP),
    ("/pickup/", PICKUP),
]


@pytest.fixture
def low_limits(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(VerifyThrottle, "THROTTLE_RATES", {"verify": "2/min"})
    settings.IPDESK_PICKUP_RATE = "2/min"


def _answers(url: str, params: dict[str, str], headers: list[dict[str, str]]) -> list[int]:
    client = Client()
    return [client.get(url, params, **extra).status_code for extra in headers]


@pytest.mark.parametrize(("url", "params"), ENDPOINTS)
def test_spoofed_forwarded_for_does_not_reset_the_limit(
    db: None, low_limits: None, url: str, params: dict[str, str]
) -> None:
    """Issue 11 item 1: a made-up X-Forwarded-For per request does not buy a new budget."""
    spoofed = [{"HTTP_X_FORWARDED_FOR": f"198.51.100.{i}"} for i in range(1, 5)]
    answers = _answers(url, params, spoofed)
    assert answers[:2] != [429, 429]
    assert answers[2:] == [429, 429]


@pytest.mark.parametrize(("url", "params"), ENDPOINTS)
def test_a_trusted_proxy_header_is_honoured(
    db: None, low_limits: None, settings: Any, url: str, params: dict[str, str]
) -> None:
    """Issue 11 item 1: behind a configured proxy each client has its own budget."""
    settings.IPDESK_TRUSTED_PROXIES = ["10.0.0.0/8"]
    via_proxy = {"REMOTE_ADDR": "10.1.2.3"}
    first = [{**via_proxy, "HTTP_X_FORWARDED_FOR": "203.0.113.5"}] * 3
    assert _answers(url, params, first)[2] == 429
    # Another client through the same proxy is not limited by the first one.
    other = [{**via_proxy, "HTTP_X_FORWARDED_FOR": "203.0.113.6"}]
    assert _answers(url, params, other) != [429]
    # A client that puts its own guess left of what the proxy wrote changes nothing.
    spoofed = [{**via_proxy, "HTTP_X_FORWARDED_FOR": "198.51.100.9, 203.0.113.5"}]
    assert _answers(url, params, spoofed) == [429]


def _request(remote: str, forwarded: str | None = None) -> Any:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_connection_is_the_client(settings: Any) -> None:
    """Issue 11 item 1: the header is the client's own word unless a proxy wrote it."""
    settings.IPDESK_TRUSTED_PROXIES = []
    assert client_address(_request("192.0.2.1", "203.0.113.5")) == "192.0.2.1"
    assert client_address(None) == ""


def test_proxy_count_counts_from_the_right(settings: Any) -> None:
    """Issue 11 item 1: with two proxies (CDN, then nginx) the client is two from the right."""
    settings.IPDESK_TRUSTED_PROXIES = ["10.0.0.1", "2001:db8::/32"]
    settings.IPDESK_PROXY_COUNT = 2
    chain = "198.51.100.1, 203.0.113.5, 192.0.2.77"
    assert client_address(_request("10.0.0.1", chain)) == "203.0.113.5"
    assert client_address(_request("2001:db8::5", "[2001:db8:1::9]:443, 192.0.2.77")) == (
        "2001:db8:1::9"
    )
    # An untrusted connection, or a trusted one without the header, is taken as it is.
    assert client_address(_request("10.0.0.2", chain)) == "10.0.0.2"
    assert client_address(_request("10.0.0.1")) == "10.0.0.1"


def test_a_bad_proxy_setting_is_refused(settings: Any) -> None:
    settings.IPDESK_TRUSTED_PROXIES = ["not-an-address"]
    with pytest.raises(ImproperlyConfigured):
        client_address(_request("10.0.0.1", "203.0.113.5"))


def test_sign_in_code_limits_count_the_real_client(db: None, settings: Any) -> None:
    """Issue 11 item 1: the per-address limit of sign-in codes sees through no spoofing."""
    settings.IPDESK_LOGIN_CODE_PER_IP_HOUR = 2
    client = Client()
    answers = [
        client.post(
            "/api/v1/auth/phone/code",
            {"phone": f"1380013800{i}"},
            content_type="application/json",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        ).status_code
        for i in range(3)
    ]
    assert answers == [202, 202, 429]
