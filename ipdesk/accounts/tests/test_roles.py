"""Role checks: a refusal is a 403 in the agreed error shape, logged and audited."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from ipdesk.accounts.models import Role
from ipdesk.audit.models import AuditEvent
from ipdesk.testing import api_client, user

pytestmark = pytest.mark.django_db

AUDIT_ROUTES = ["/api/v1/audit/events", "/api/v1/audit/verify"]


@pytest.mark.parametrize("route", AUDIT_ROUTES)
@pytest.mark.parametrize("role", [Role.PAYER, Role.COLLECTOR, Role.REVIEWER, Role.FEE_CLERK])
def test_audit_api_refuses_other_roles(
    route: str, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    u = user(role, f"u-{role}")
    client = api_client(u, language="en")
    with caplog.at_level(logging.WARNING, logger="ipdesk.security"):
        response = client.get(route)
    assert response.status_code == 403
    assert response.json() == {
        "error": {"code": "forbidden", "message": "You are not allowed to do this.", "fields": {}}
    }
    assert any(
        "access denied" in r.getMessage() and f"u-{role}" in r.getMessage() for r in caplog.records
    )
    denied = AuditEvent.objects.get(action="accounts.access.denied")
    assert denied.actor_id == u.pk
    assert route in denied.payload


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMIN])
def test_audit_api_admits_auditors(role: str) -> None:
    client = api_client(user(role, f"u-{role}"))
    response = client.get("/api/v1/audit/events")
    assert response.status_code == 200
    actions = [e["action"] for e in response.json()["events"]]
    assert "accounts.user.created" in actions
    verify = client.get("/api/v1/audit/verify").json()
    assert verify["ok"] is True


def test_organisations_api_refuses_payers() -> None:
    response = api_client(user(Role.PAYER, "p")).get("/api/v1/organisations")
    assert response.status_code == 403


def test_organisations_scoped_to_own_office() -> None:
    collector = user(Role.COLLECTOR, "c")
    clerk = user(Role.FEE_CLERK, "f")
    assert [o["code"] for o in api_client(collector).get("/api/v1/organisations").json()] == ["BJ"]
    codes = {o["code"] for o in api_client(clerk).get("/api/v1/organisations").json()}
    assert codes == {"BJ", "CNIPA"}


def test_anonymous_api_gets_401_in_chinese_by_default() -> None:
    response = api_client().get("/api/v1/me")
    assert response.status_code == 401
    body = response.json()["error"]
    assert body["code"] == "not_authenticated"
    assert body["message"] == "身份认证信息未提供。"


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_dashboard_for_each_role(client, role: str) -> None:
    client.force_login(user(role, f"d-{role}"))
    response = client.get(reverse("core:dashboard"))
    assert response.status_code == 200
    assert f"core/dashboard_{role}.html" in [t.name for t in response.templates]


def test_dashboard_needs_login(client) -> None:
    response = client.get(reverse("core:dashboard"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_admin_site_refuses_non_staff(client) -> None:
    client.force_login(user(Role.AUDITOR, "a"))
    response = client.get("/admin/")
    assert response.status_code == 302
    client.force_login(user(Role.ADMIN, "root"))
    assert client.get("/admin/").status_code == 200
