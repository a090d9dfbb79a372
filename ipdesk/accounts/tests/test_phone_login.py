"""Phone + one-time code sign-in: service, pages and API."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ipdesk.accounts import services
from ipdesk.accounts.models import LoginCode, Role, User
from ipdesk.audit.models import AuditEvent
from ipdesk.core.errors import InvalidInput
from ipdesk.testing import api_client, user

pytestmark = pytest.mark.django_db

PHONE = "13912345678"


def last_code(outbox: list[Any]) -> str:
    match = re.search(r"\b(\d{6})\b", outbox[-1].text)
    assert match, outbox[-1].text
    return match.group(1)


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))


def age_codes(phone: str, **delta: Any) -> None:
    """Make the number's codes look older (instead of waiting)."""
    for row in LoginCode.objects.filter(phone=phone):
        LoginCode.objects.filter(pk=row.pk).update(created_at=row.created_at - timedelta(**delta))


# --- service --------------------------------------------------------------------------------


def test_code_is_sent_hashed_and_signs_in_a_new_payer(sms_outbox: list[Any]) -> None:
    row = services.request_login_code("139 1234 5678", ip="10.0.0.1")
    assert len(sms_outbox) == 1 and sms_outbox[0].phone == PHONE
    code = last_code(sms_outbox)
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert row.expires_at - row.created_at == timedelta(minutes=5)
    payer = services.login_with_code(PHONE, code, ip="10.0.0.1")
    assert payer.role == Role.PAYER and payer.phone == PHONE
    assert not payer.has_usable_password() and payer.organisation is None
    assert actions()[-3:] == [
        "accounts.login_code.issued",
        "accounts.user.created",
        "accounts.login_code.succeeded",
    ]


def test_existing_payer_with_the_number_is_signed_in(sms_outbox: list[Any]) -> None:
    existing = user(Role.PAYER, "chen", phone=PHONE)
    services.request_login_code(PHONE)
    assert services.login_with_code(PHONE, last_code(sms_outbox)) == existing
    assert User.objects.filter(phone=PHONE).count() == 1


def test_a_code_works_once(sms_outbox: list[Any]) -> None:
    services.request_login_code(PHONE)
    code = last_code(sms_outbox)
    services.login_with_code(PHONE, code)
    with pytest.raises(InvalidInput) as refused:
        services.login_with_code(PHONE, code)
    assert "code" in refused.value.fields


def test_an_expired_code_is_refused(sms_outbox: list[Any]) -> None:
    row = services.request_login_code(PHONE)
    LoginCode.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvalidInput) as refused:
        services.login_with_code(PHONE, last_code(sms_outbox))
    assert "code" in refused.value.fields
    assert not User.objects.filter(phone=PHONE).exists()
    assert actions()[-1] == "accounts.login_code.failed"


def test_a_new_code_replaces_the_old_one(sms_outbox: list[Any]) -> None:
    services.request_login_code(PHONE)
    old = last_code(sms_outbox)
    age_codes(PHONE, minutes=2)
    services.request_login_code(PHONE)
    new = last_code(sms_outbox)
    if old != new:
        with pytest.raises(InvalidInput):
            services.login_with_code(PHONE, old)
    assert services.login_with_code(PHONE, new).phone == PHONE


def test_five_wrong_codes_lock_the_number(sms_outbox: list[Any]) -> None:
    services.request_login_code(PHONE)
    code = last_code(sms_outbox)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        with pytest.raises(InvalidInput) as refused:
            services.login_with_code(PHONE, wrong)
        assert "code" in refused.value.fields
    with pytest.raises(services.PhoneLocked):
        services.login_with_code(PHONE, wrong)
    assert actions()[-1] == "accounts.login_code.locked"
    # Locked: even the right code is refused now, and no new code is sent.
    with pytest.raises(services.PhoneLocked):
        services.login_with_code(PHONE, code)
    with pytest.raises(services.PhoneLocked):
        services.request_login_code(PHONE)
    assert len(sms_outbox) == 1
    assert not User.objects.filter(phone=PHONE).exists()


def test_one_code_a_minute_per_number(sms_outbox: list[Any]) -> None:
    services.request_login_code(PHONE)
    with pytest.raises(services.TooManyCodes) as refused:
        services.request_login_code(PHONE)
    assert "phone" in refused.value.fields and refused.value.status == 429
    assert len(sms_outbox) == 1 and LoginCode.objects.count() == 1


def test_five_codes_an_hour_per_number(sms_outbox: list[Any]) -> None:
    for _ in range(5):
        services.request_login_code(PHONE)
        age_codes(PHONE, minutes=2)
    with pytest.raises(services.TooManyCodes) as refused:
        services.request_login_code(PHONE)
    assert "phone" in refused.value.fields
    assert len(sms_outbox) == 5
    age_codes(PHONE, hours=1)
    services.request_login_code(PHONE)
    assert len(sms_outbox) == 6


def test_codes_per_client_address_are_limited(sms_outbox: list[Any], settings: Any) -> None:
    settings.IPDESK_LOGIN_CODE_PER_IP_HOUR = 3
    for n in range(3):
        services.request_login_code(f"1390000000{n}", ip="10.9.9.9")
    with pytest.raises(services.TooManyCodes):
        services.request_login_code("13900000009", ip="10.9.9.9")
    services.request_login_code("13900000009", ip="10.9.9.8")
    assert len(sms_outbox) == 4


@pytest.mark.parametrize("phone", ["", "12345", "23912345678", "1391234567x", "139123456789"])
def test_a_bad_number_is_refused_naming_phone(sms_outbox: list[Any], phone: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        services.request_login_code(phone)
    assert set(refused.value.fields) == {"phone"}
    with pytest.raises(InvalidInput) as refused:
        services.login_with_code(phone, "123456")
    assert set(refused.value.fields) == {"phone"}
    assert LoginCode.objects.count() == 0 and sms_outbox == []
    assert AuditEvent.objects.filter(action__startswith="accounts.login_code").count() == 0


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "１２３４５６"])
def test_a_malformed_code_is_refused_naming_code(sms_outbox: list[Any], code: str) -> None:
    row = services.request_login_code(PHONE)
    with pytest.raises(InvalidInput) as refused:
        services.login_with_code(PHONE, code)
    assert set(refused.value.fields) == {"code"}
    assert LoginCode.objects.get(pk=row.pk).attempts == 0


def test_staff_numbers_get_no_code_and_cannot_sign_in(sms_outbox: list[Any]) -> None:
    user(Role.COLLECTOR, "zhang", phone=PHONE)
    services.request_login_code(PHONE)
    assert sms_outbox == []
    with pytest.raises(InvalidInput):
        services.login_with_code(PHONE, "000000")


# --- pages ----------------------------------------------------------------------------------


def test_phone_page_flow_signs_in_and_goes_to_my_receipts(sms_outbox: list[Any]) -> None:
    client = Client()
    assert "/accounts/phone/" in client.get("/accounts/login/").content.decode()
    assert client.get("/accounts/phone/").status_code == 200
    sent = client.post("/accounts/phone/", {"step": "send", "phone": PHONE})
    assert sent.status_code == 200
    assert 'name="code"' in sent.content.decode()
    done = client.post(
        "/accounts/phone/", {"step": "login", "phone": PHONE, "code": last_code(sms_outbox)}
    )
    assert done.status_code == 302 and done["Location"] == "/my/"
    assert client.get("/my/").status_code == 200


def test_phone_page_names_the_field_on_bad_input(sms_outbox: list[Any]) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    bad = client.post("/accounts/phone/", {"step": "send", "phone": "123"})
    assert bad.status_code == 400
    assert 'id="phone-errors"' in bad.content.decode()
    assert LoginCode.objects.count() == 0
    client.post("/accounts/phone/", {"step": "send", "phone": PHONE})
    wrong = client.post("/accounts/phone/", {"step": "login", "phone": PHONE, "code": "12"})
    assert wrong.status_code == 400 and 'id="code-errors"' in wrong.content.decode()
    assert "_auth_user_id" not in client.session


def test_phone_page_refuses_an_outside_next(sms_outbox: list[Any]) -> None:
    client = Client()
    client.post("/accounts/phone/", {"step": "send", "phone": PHONE})
    done = client.post(
        "/accounts/phone/",
        {
            "step": "login",
            "phone": PHONE,
            "code": last_code(sms_outbox),
            "next": "https://evil.example/",
        },
    )
    assert done["Location"] == "/my/"


# --- API ------------------------------------------------------------------------------------


def test_api_code_then_login_gives_a_working_token(sms_outbox: list[Any]) -> None:
    client = api_client()
    sent = client.post("/api/v1/auth/phone/code", {"phone": PHONE}, format="json")
    assert sent.status_code == 202 and sent.json() == {"sent": True, "expires_in": 300}
    answer = client.post(
        "/api/v1/auth/phone/login",
        {"phone": PHONE, "code": last_code(sms_outbox)},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    token = answer.json()["token"]
    me = api_client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert me.status_code == 200 and me.json()["role"] == "payer"


def test_api_errors_name_the_field(sms_outbox: list[Any]) -> None:
    client = api_client()
    bad = client.post("/api/v1/auth/phone/code", {"phone": "1"}, format="json")
    assert bad.status_code == 400 and "phone" in bad.json()["error"]["fields"]
    missing = client.post("/api/v1/auth/phone/code", {}, format="json")
    assert missing.status_code == 400 and "phone" in missing.json()["error"]["fields"]
    client.post("/api/v1/auth/phone/code", {"phone": PHONE}, format="json")
    again = client.post("/api/v1/auth/phone/code", {"phone": PHONE}, format="json")
    assert again.status_code == 429 and "phone" in again.json()["error"]["fields"]
    wrong = client.post("/api/v1/auth/phone/login", {"phone": PHONE, "code": "abc"}, format="json")
    assert wrong.status_code == 400 and "code" in wrong.json()["error"]["fields"]
    assert len(sms_outbox) == 1
