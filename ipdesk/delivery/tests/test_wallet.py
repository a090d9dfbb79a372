"""Wallet apps (电子票夹): registration, binding, listing, downloads, revocation, webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import TestCase
from django.utils import timezone
from rest_framework.test import APIClient

from ipdesk.accounts.models import ApiToken, Role, User
from ipdesk.core.errors import InvalidInput, NotAllowed
from ipdesk.delivery import services
from ipdesk.delivery.models import (
    BindingCode,
    Channel,
    Delivery,
    Status,
    WalletBinding,
    WalletClient,
)
from ipdesk.receipts import documents
from ipdesk.receipts import services as receipts
from ipdesk.receipts.models import ReversalReason
from ipdesk.testing import api_client, user

from .conftest import PAYER_PHONE, issue


def wallet_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def wallet(db: None) -> tuple[WalletClient, APIClient]:
    app, token, _secret = services.register_wallet(name="支付宝电子票夹")
    return app, wallet_client(token)


def bind(payer: Any, client: APIClient, phone: str = PAYER_PHONE) -> Any:
    code = api_client(payer).post("/api/v1/wallet/my-bindings/code").json()["code"]
    return client.post("/api/v1/wallet/bindings", {"code": code, "phone": phone}, format="json")


# --- registration --------------------------------------------------------------------------


def test_register_wallet_makes_a_service_user_that_reads_no_receipt(
    collector: Any, reviewer: Any
) -> None:
    [receipt] = issue(collector, reviewer, email="")
    app, token, secret = services.register_wallet(
        name="微信电子票夹", webhook_url="https://wallet.example/hooks"
    )
    assert app.user.role == Role.PAYER and not app.user.phone and app.user.organisation is None
    assert len(secret) >= 32
    assert ApiToken.objects.filter(user=app.user).count() == 1
    client = wallet_client(token)
    url = f"/api/v1/receipts/{receipt.series.code}/{receipt.number_text}"
    assert client.get(url).status_code == 404


def test_register_wallet_bad_input_names_fields_and_creates_nothing(db: None) -> None:
    services.register_wallet(name="taken")
    users = User.objects.count()
    for name, url, field in [
        ("  ", "", "name"),
        ("x" * 101, "", "name"),
        ("taken", "", "name"),
        ("ok", "ftp://wallet.example/", "webhook_url"),
        ("ok", "not a url", "webhook_url"),
        ("ok", "https://w.example/" + "x" * 500, "webhook_url"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            services.register_wallet(name=name, webhook_url=url)
        assert field in refused.value.fields, (name, url)
    assert WalletClient.objects.count() == 1 and User.objects.count() == users


# --- binding -------------------------------------------------------------------------------


def test_binding_flow_end_to_end(wallet: Any, payer: Any, collector: Any, reviewer: Any) -> None:
    _app, client = wallet
    first, second = issue(collector, reviewer, count=2, email="")
    issue(collector, reviewer, email="", phone="13900139000")  # someone else's

    # Before binding the wallet sees nothing.
    assert client.get("/api/v1/wallet/receipts", {"phone": PAYER_PHONE}).status_code == 404

    started = api_client(payer).post("/api/v1/wallet/my-bindings/code")
    assert started.status_code == 201
    code = started.json()["code"]
    assert not BindingCode.objects.filter(code_hash__contains=code).exists()
    bound = client.post(
        "/api/v1/wallet/bindings", {"code": code, "phone": PAYER_PHONE}, format="json"
    )
    assert bound.status_code == 201, bound.content

    page = client.get("/api/v1/wallet/receipts", {"phone": PAYER_PHONE, "limit": "1"})
    assert page.status_code == 200, page.content
    body = page.json()
    assert [i["number"] for i in body["items"]] == [first.number_text]
    item = body["items"][0]
    assert set(item) >= {"code", "number", "date", "total", "payer", "status"}
    assert (item["total"], item["payer"], item["status"]) == ("900.00", "陈发明", "valid")
    rest = client.get(
        "/api/v1/wallet/receipts", {"phone": PAYER_PHONE, "after": str(body["next_after"])}
    ).json()
    assert [i["number"] for i in rest["items"]] == [second.number_text]
    assert rest["next_after"] is None

    for fmt in ("pdf", "ofd", "xml"):
        url = f"/api/v1/wallet/receipts/{first.series.code}/{first.number_text}/{fmt}"
        response = client.get(url)
        assert response.status_code == 200, fmt
        assert response.content == documents.render(first, fmt)

    mine = api_client(payer).get("/api/v1/wallet/my-bindings").json()["items"]
    assert [b["wallet"] for b in mine] == ["支付宝电子票夹"]

    # Revoking stops all access at once.
    revoked = api_client(payer).delete(f"/api/v1/wallet/my-bindings/{mine[0]['id']}")
    assert revoked.status_code == 204
    assert client.get("/api/v1/wallet/receipts", {"phone": PAYER_PHONE}).status_code == 404
    url = f"/api/v1/wallet/receipts/{first.series.code}/{first.number_text}/pdf"
    assert client.get(url).status_code == 404
    assert api_client(payer).get("/api/v1/wallet/my-bindings").json()["items"] == []


def test_reversed_receipt_shows_as_reversed(
    wallet: Any, payer: Any, collector: Any, reviewer: Any
) -> None:
    _app, client = wallet
    [blue] = issue(collector, reviewer, email="")
    with TestCase.captureOnCommitCallbacks(execute=True):
        receipts.reverse_receipt(
            blue, reason=ReversalReason.REFUND, actor=user(Role.FEE_CLERK, "wang")
        )
    assert bind(payer, client).status_code == 201
    items = client.get("/api/v1/wallet/receipts", {"phone": PAYER_PHONE}).json()["items"]
    assert [(i["kind"], i["status"]) for i in items] == [("blue", "reversed"), ("red", "valid")]


def test_a_wallet_without_binding_sees_nothing(
    wallet: Any, payer: Any, collector: Any, reviewer: Any
) -> None:
    _app, client = wallet
    [receipt] = issue(collector, reviewer, email="")
    _other, other_token, _ = services.register_wallet(name="other wallet")
    assert bind(payer, wallet_client(other_token)).status_code == 201  # bound elsewhere only
    assert client.get("/api/v1/wallet/receipts", {"phone": PAYER_PHONE}).status_code == 404
    for fmt in ("pdf", "ofd", "xml"):
        url = f"/api/v1/wallet/receipts/{receipt.series.code}/{receipt.number_text}/{fmt}"
        assert client.get(url).status_code == 404
    assert client.get("/api/v1/wallet/receipts/1/x/pdf").status_code == 404


def test_only_wallet_apps_use_the_wallet_api(payer: Any) -> None:
    client = api_client(payer)
    assert client.get("/api/v1/wallet/receipts", {"phone": PAYER_PHONE}).status_code == 403
    assert client.post("/api/v1/wallet/bindings", {}, format="json").status_code == 403
    assert APIClient().get("/api/v1/wallet/receipts").status_code in (401, 403)


def test_binding_bad_input_names_the_field_and_binds_nothing(wallet: Any, payer: Any) -> None:
    _app, client = wallet
    _code, code = services.start_binding(payer)
    cases = [
        ({"code": code}, "phone"),
        ({"code": code, "phone": "12345"}, "phone"),
        ({"phone": PAYER_PHONE}, "code"),
        ({"code": "short", "phone": PAYER_PHONE}, "code"),
        ({"code": "ZZZZZZZZ" if code != "ZZZZZZZZ" else "YYYYYYYY", "phone": PAYER_PHONE}, "code"),
        ({"code": code, "phone": "13900139000"}, "code"),  # not this payer's phone
    ]
    for data, field in cases:
        response = client.post("/api/v1/wallet/bindings", data, format="json")
        assert response.status_code == 400, data
        assert field in response.json()["error"]["fields"], (data, response.json())
    assert not WalletBinding.objects.exists()
    # The code is still good after all that, once; then it is spent.
    ok = client.post("/api/v1/wallet/bindings", {"code": code, "phone": PAYER_PHONE}, format="json")
    assert ok.status_code == 201
    again = client.post(
        "/api/v1/wallet/bindings", {"code": code, "phone": PAYER_PHONE}, format="json"
    )
    assert again.status_code == 400 and "code" in again.json()["error"]["fields"]
    assert WalletBinding.objects.count() == 1


def test_expired_binding_code_is_refused(wallet: Any, payer: Any) -> None:
    _app, client = wallet
    binding_code, code = services.start_binding(payer)
    BindingCode.objects.filter(pk=binding_code.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = client.post(
        "/api/v1/wallet/bindings", {"code": code, "phone": PAYER_PHONE}, format="json"
    )
    assert response.status_code == 400 and "code" in response.json()["error"]["fields"]
    assert not WalletBinding.objects.exists()


def test_start_binding_needs_a_payer_with_a_phone(db: None) -> None:
    no_phone = user(Role.PAYER, "nophone")
    with pytest.raises(InvalidInput) as refused:
        services.start_binding(no_phone)
    assert "phone" in refused.value.fields
    response = api_client(no_phone).post("/api/v1/wallet/my-bindings/code")
    assert response.status_code == 400 and "phone" in response.json()["error"]["fields"]
    with pytest.raises(NotAllowed):
        services.start_binding(user(Role.COLLECTOR, "zhang"))
    assert not BindingCode.objects.exists()


def test_wallet_list_bad_input_names_the_field(wallet: Any, payer: Any) -> None:
    _app, client = wallet
    assert bind(payer, client).status_code == 201
    for params, field in [
        ({}, "phone"),
        ({"phone": "123"}, "phone"),
        ({"phone": PAYER_PHONE, "after": "x"}, "after"),
        ({"phone": PAYER_PHONE, "after": "-1"}, "after"),
        ({"phone": PAYER_PHONE, "limit": "501"}, "limit"),
    ]:
        response = client.get("/api/v1/wallet/receipts", params)
        assert response.status_code == 400, params
        assert field in response.json()["error"]["fields"], params


def test_payer_cannot_revoke_anothers_binding(wallet: Any, payer: Any) -> None:
    _app, client = wallet
    assert bind(payer, client).status_code == 201
    binding = WalletBinding.objects.get()
    stranger = user(Role.PAYER, "stranger", phone="13900139000")
    assert (
        api_client(stranger).delete(f"/api/v1/wallet/my-bindings/{binding.pk}").status_code == 404
    )
    binding.refresh_from_db()
    assert binding.revoked_at is None
    with pytest.raises(NotAllowed):
        services.revoke_binding(binding, actor=stranger)


# --- webhooks ------------------------------------------------------------------------------


def hooked_wallet(url: str) -> tuple[WalletClient, APIClient, str]:
    app, token, secret = services.register_wallet(name="hooked", webhook_url=url)
    return app, wallet_client(token), secret


def test_new_receipt_of_a_bound_payer_is_pushed_signed(
    webhook_server: Any, payer: Any, collector: Any, reviewer: Any
) -> None:
    app, client, secret = hooked_wallet(webhook_server.url)
    assert bind(payer, client).status_code == 201
    [receipt] = issue(collector, reviewer, email="")
    issue(collector, reviewer, email="", phone="13900139000")  # not bound: not pushed

    [hook] = webhook_server.received
    assert hook.path == "/hooks/ipdesk"
    timestamp = hook.headers["X-Ipdesk-Timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + hook.body, hashlib.sha256
    ).hexdigest()
    assert hook.headers["X-Ipdesk-Signature"] == f"sha256={expected}"
    assert hook.headers["Content-Type"] == "application/json"
    payload = json.loads(hook.body)
    assert payload["event"] == "receipt.issued"
    assert payload["phone"] == PAYER_PHONE
    assert (payload["receipt"]["code"], payload["receipt"]["number"]) == (
        receipt.series.code,
        receipt.number_text,
    )
    delivery = Delivery.objects.get(channel=Channel.WEBHOOK)
    assert (delivery.status, delivery.attempts, delivery.wallet) == (Status.SENT, 1, app)
    assert hook.headers["X-Ipdesk-Delivery"] == str(delivery.pk)
    assert payload["delivery"] == delivery.pk


def test_webhook_is_retried_after_a_500(
    webhook_server: Any, payer: Any, collector: Any, reviewer: Any
) -> None:
    _app, client, _secret = hooked_wallet(webhook_server.url)
    assert bind(payer, client).status_code == 201
    webhook_server.statuses = [500, 503]
    issue(collector, reviewer, email="")
    assert len(webhook_server.received) == 3
    assert len({h.body for h in webhook_server.received}) == 1  # the same event each time
    delivery = Delivery.objects.get(channel=Channel.WEBHOOK)
    assert (delivery.status, delivery.attempts) == (Status.SENT, 3)
    assert delivery.last_error == "HTTP 503"


def test_webhook_gives_up_after_five_retries(
    webhook_server: Any, payer: Any, collector: Any, reviewer: Any
) -> None:
    _app, client, _secret = hooked_wallet(webhook_server.url)
    assert bind(payer, client).status_code == 201
    webhook_server.statuses = [500] * 10
    issue(collector, reviewer, email="")
    assert len(webhook_server.received) == 6
    delivery = Delivery.objects.get(channel=Channel.WEBHOOK)
    assert (delivery.status, delivery.attempts) == (Status.FAILED, 6)


def test_webhook_client_error_is_final(
    webhook_server: Any, payer: Any, collector: Any, reviewer: Any
) -> None:
    _app, client, _secret = hooked_wallet(webhook_server.url)
    assert bind(payer, client).status_code == 201
    webhook_server.statuses = [410]
    issue(collector, reviewer, email="")
    assert len(webhook_server.received) == 1
    delivery = Delivery.objects.get(channel=Channel.WEBHOOK)
    assert (delivery.status, delivery.last_error) == (Status.FAILED, "HTTP 410")


def test_revoked_binding_gets_no_more_webhooks(
    webhook_server: Any, payer: Any, collector: Any, reviewer: Any
) -> None:
    _app, client, _secret = hooked_wallet(webhook_server.url)
    assert bind(payer, client).status_code == 201
    services.revoke_binding(WalletBinding.objects.get(), actor=payer)
    issue(collector, reviewer, email="")
    assert webhook_server.received == []
    assert not Delivery.objects.filter(channel=Channel.WEBHOOK).exists()


def test_register_command(db: None) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command(
        "wallet", "register", "cli wallet", "--webhook-url", "https://w.example/h", stdout=out
    )
    text = out.getvalue()
    assert "api token: ipd_" in text and "webhook secret: " in text
    assert WalletClient.objects.get().webhook_url == "https://w.example/h"
    with pytest.raises(CommandError, match="webhook_url"):
        call_command("wallet", "register", "other", "--webhook-url", "nope", stdout=StringIO())
    assert WalletClient.objects.count() == 1


def test_binding_revoked_before_sending_is_not_pushed(
    webhook_server: Any, payer: Any, collector: Any, reviewer: Any
) -> None:
    _app, client, _secret = hooked_wallet(webhook_server.url)
    assert bind(payer, client).status_code == 201
    issue(collector, reviewer, email="")
    assert len(webhook_server.received) == 1
    services.revoke_binding(WalletBinding.objects.get(), actor=payer)
    delivery = Delivery.objects.get(channel=Channel.WEBHOOK)
    Delivery.objects.filter(pk=delivery.pk).update(status=Status.QUEUED)  # as if still queued
    assert services.attempt_webhook(delivery.pk) == Status.FAILED
    assert len(webhook_server.received) == 1
