from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.urls import reverse

from ipdesk.accounts.models import ApiToken, Organisation, OrganisationKind, Role, User
from ipdesk.accounts.services import (
    AccountLocked,
    check_password_login,
    create_organisation,
    create_user,
    issue_api_token,
    revoke_api_token,
)
from ipdesk.audit.models import AuditEvent
from ipdesk.audit.selectors import verify_chain
from ipdesk.core.errors import InvalidInput
from ipdesk.testing import PASSWORD, api_client, organisation, user

pytestmark = pytest.mark.django_db


def test_create_organisation_and_user_are_audited() -> None:
    office = organisation(OrganisationKind.AGENCY_OFFICE, "SH", name="上海代办处")
    collector = user(Role.COLLECTOR, "zhang", org=office, phone="+86 138-0013-8000")
    assert collector.phone == "13800138000"
    assert collector.check_password(PASSWORD)
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["accounts.organisation.created", "accounts.user.created"]
    assert verify_chain().ok


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "bank"}, "kind"),
        ({"code": " "}, "code"),
        ({"name": ""}, "name"),
        ({"credit_code": "91350100M000100Y44"}, "credit_code"),
        ({"kind": OrganisationKind.AGENCY_OFFICE, "bank_account": ""}, "bank_account"),
    ],
)
def test_bad_organisation_is_refused(kwargs: dict, field: str) -> None:
    data = {"kind": OrganisationKind.ENTERPRISE, "code": "E1", "name": "企业", **kwargs}
    with pytest.raises(InvalidInput) as caught:
        create_organisation(**data)
    assert field in caught.value.fields
    assert not Organisation.objects.exists()
    assert not AuditEvent.objects.exists()


def test_duplicate_organisation_code_is_refused() -> None:
    organisation(OrganisationKind.ENTERPRISE, "E1")
    with pytest.raises(InvalidInput) as caught:
        create_organisation(kind=OrganisationKind.ENTERPRISE, code="e1", name="other")
    assert "code" in caught.value.fields


def test_agency_office_needs_bank_account_in_the_database_too() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.create(kind=OrganisationKind.AGENCY_OFFICE, code="X", name="x")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"role": "boss"}, "role"),
        ({"role": Role.COLLECTOR, "organisation": None}, "organisation"),
        ({"role": Role.FEE_CLERK}, "organisation"),  # an agency office is no place for a fee clerk
        ({"phone": "12345"}, "phone"),
        ({"password": "123"}, "password"),
        ({"username": ""}, "username"),
    ],
)
def test_bad_user_is_refused(kwargs: dict, field: str) -> None:
    office = organisation()
    before = AuditEvent.objects.count()
    data = {
        "username": "li",
        "password": PASSWORD,
        "role": Role.COLLECTOR,
        "organisation": office,
        **kwargs,
    }
    with pytest.raises(InvalidInput) as caught:
        create_user(**data)
    assert field in caught.value.fields
    assert not User.objects.filter(username="li").exists()
    assert AuditEvent.objects.count() == before


def test_phone_belongs_to_one_account() -> None:
    user(Role.PAYER, "a", phone="13800138000")
    with pytest.raises(InvalidInput) as caught:
        user(Role.PAYER, "b", phone="138 0013 8000")
    assert "phone" in caught.value.fields


def test_lockout_after_repeated_failures(settings) -> None:
    settings.IPDESK_LOGIN_MAX_FAILURES = 3
    u = user(Role.COLLECTOR, "wang")
    for _ in range(2):
        with pytest.raises(InvalidInput):
            check_password_login("wang", "wrong")
    with pytest.raises(AccountLocked):
        check_password_login("wang", "wrong")
    # Even the right password is refused while locked.
    with pytest.raises(AccountLocked):
        check_password_login("wang", PASSWORD)
    u.refresh_from_db()
    assert u.locked_until is not None
    assert AuditEvent.objects.filter(action="accounts.user.locked").count() == 1


def test_lock_expires_and_success_resets_count(settings) -> None:
    settings.IPDESK_LOGIN_MAX_FAILURES = 3
    u = user(Role.COLLECTOR, "wang")
    with pytest.raises(InvalidInput):
        check_password_login("wang", "wrong")
    assert check_password_login("wang", PASSWORD) == u
    u.refresh_from_db()
    assert u.failed_logins == 0
    User.objects.filter(pk=u.pk).update(locked_until="2000-01-01T00:00:00Z")
    assert check_password_login("wang", PASSWORD) == u


def test_login_page_signs_in_and_shows_lock(client, settings) -> None:
    settings.IPDESK_LOGIN_MAX_FAILURES = 2
    user(Role.REVIEWER, "li")
    url = reverse("accounts:login")
    response = client.post(url, {"username": "li", "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("core:dashboard")
    client.post(reverse("accounts:logout"))
    client.post(url, {"username": "li", "password": "x"})
    response = client.post(url, {"username": "li", "password": "y"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "locked" in response.content.decode()
    response = client.post(url, {"username": "li", "password": PASSWORD})
    assert response.status_code == 200  # still locked


def test_api_token_authenticates_and_can_be_revoked() -> None:
    u = user(Role.AUDITOR, "zhao")
    token, plaintext = issue_api_token(u, name="script")
    assert plaintext.startswith("ipd_") and token.key_hash not in plaintext
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["username"] == "zhao"
    assert response.json()["organisation"]["code"] == "CNIPA"
    revoke_api_token(token)
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_malformed_and_unknown_tokens_are_refused() -> None:
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION="Bearer nonsense")
    assert client.get("/api/v1/me").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Bearer ipd_00000000_unknown")
    assert client.get("/api/v1/me").status_code == 401


def test_token_command_prints_a_working_token(capsys: pytest.CaptureFixture[str]) -> None:
    user(Role.FEE_CLERK, "clerk")
    call_command("token", "clerk")
    plaintext = capsys.readouterr().out.strip()
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert client.get("/api/v1/me").json()["role"] == "fee_clerk"
    assert ApiToken.objects.count() == 1
    with pytest.raises(CommandError, match="username: no user named 'nobody'"):
        call_command("token", "nobody")
