"""The portal's send-to-e-mail and wallet pages: the happy path, bad input, other payers."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, TestCase

from ipdesk.accounts.models import Role
from ipdesk.delivery import services
from ipdesk.delivery.models import Delivery, WalletBinding
from ipdesk.testing import user

from .conftest import issue


def _client(payer: Any) -> Client:
    client = Client()
    client.force_login(payer)
    return client


def test_send_to_email_from_the_receipt_page(
    smtp: Any, payer: Any, collector: Any, reviewer: Any
) -> None:
    [receipt] = issue(collector, reviewer, email="")
    url = f"/my/receipts/{receipt.series.code}/{receipt.number_text}/send"
    client = _client(payer)
    bad = client.post(url, {"email": "not-an-address"}, HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code == 400 and "valid e-mail address" in bad.content.decode()
    assert not Delivery.objects.exists() and not smtp.messages
    with TestCase.captureOnCommitCallbacks(execute=True):
        ok = client.post(url, {"email": "finance@example.com"})
    assert ok.status_code == 200
    assert [m["To"] for m in smtp.messages] == ["finance@example.com"]
    stranger = user(Role.PAYER, "zhao", phone="13900139000")
    assert _client(stranger).post(url, {"email": "x@example.com"}).status_code == 404
    assert len(smtp.messages) == 1


@pytest.mark.django_db
def test_wallet_page_binds_and_revokes(payer: Any) -> None:
    client = _client(payer)
    page = client.post("/my/wallets/", {"new": "1"})
    assert page.status_code == 200
    code = page.context["code"]
    wallet, _token, _secret = services.register_wallet(name="支付宝票夹")
    binding = services.complete_binding(wallet, code=code, phone=payer.phone)
    assert "支付宝票夹" in client.get("/my/wallets/").content.decode()
    stranger = user(Role.PAYER, "zhao", phone="13900139000")
    assert _client(stranger).post("/my/wallets/", {"revoke": binding.pk}).status_code == 404
    assert _client(stranger).post("/my/wallets/", {"revoke": "x"}).status_code == 404
    assert WalletBinding.objects.filter(revoked_at__isnull=True).count() == 1
    assert client.post("/my/wallets/", {"revoke": binding.pk}).status_code == 200
    assert not WalletBinding.objects.filter(revoked_at__isnull=True).exists()
    no_phone = user(Role.PAYER, "nophone")
    refused = _client(no_phone).post("/my/wallets/", {"new": "1"}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400 and "mobile number" in refused.content.decode()
