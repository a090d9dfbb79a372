"""The payer's day in a real browser (Debian Chromium via Playwright): log in with a phone
code, filter the receipts, download a PDF, send it to an e-mail, bind a wallet app."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ipdesk.accounts.sms import MemorySmsBackend
from ipdesk.delivery import services
from ipdesk.delivery.models import WalletBinding
from ipdesk.receipts import documents

from .conftest import PAYER_PHONE, issue

pytestmark = pytest.mark.django_db(transaction=True)


def test_payer_logs_in_by_phone_finds_downloads_sends_and_binds(
    browser_page: Any, smtp: Any, collector: Any, reviewer: Any, settings: Any
) -> None:
    settings.IPDESK_SMS_BACKEND = "ipdesk.accounts.sms.MemorySmsBackend"
    MemorySmsBackend.outbox.clear()
    receipts = issue(collector, reviewer, count=3, email="")
    wanted = receipts[1]
    page = browser_page

    page.goto("/accounts/phone/")
    page.locator("input[name=phone]").fill(PAYER_PHONE)
    page.locator("input[name=phone]").press("Enter")
    page.locator("input[name=code]").wait_for()
    [sms] = MemorySmsBackend.outbox
    found = re.search(r"\b(\d{6})\b", sms.text)
    assert found is not None
    code = found.group(1)
    page.locator("input[name=code]").fill(code)
    page.locator("input[name=code]").press("Enter")
    page.wait_for_url(re.compile(r"/my/"))
    rows = page.locator("table tbody tr, .receipt-card")
    assert rows.count() >= 3
    page.screenshot(path=str(_artifact("portal-receipts.png")), full_page=True)

    page.locator("input[name=application_number]").fill(wanted.payment.application_number)
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_load_state()
    assert wanted.number_text in page.content()
    assert receipts[0].number_text not in page.content()

    page.get_by_role("link", name=re.compile(wanted.number_text)).first.click()
    page.wait_for_url(re.compile(rf"/my/receipts/{wanted.series.code}/{wanted.number_text}/"))
    with page.expect_download() as download_info:
        page.locator("a[href$='/pdf']").first.click()
    downloaded = download_info.value.path()
    assert Path(downloaded).read_bytes() == documents.render(wanted, "pdf")
    page.screenshot(path=str(_artifact("portal-receipt.png")), full_page=True)

    page.locator("input[name=email]").fill("finance@example.com")
    page.locator("form[action$='/send'] button[type=submit]").click()
    page.locator("[role=status]").wait_for()
    assert [m["To"] for m in smtp.messages] == ["finance@example.com"]

    page.goto("/my/wallets/")
    page.locator("button[name=new]").click()
    binding_code = page.locator(".binding-code").inner_text()
    wallet, _token, _secret = services.register_wallet(name="微信电子票夹")
    services.complete_binding(wallet, code=binding_code, phone=PAYER_PHONE)
    page.goto("/my/wallets/")
    assert "微信电子票夹" in page.locator(".bindings").inner_text()
    page.screenshot(path=str(_artifact("portal-wallets.png")), full_page=True)
    page.locator("button[name=revoke]").click()
    page.locator("[role=status]").wait_for()
    assert not WalletBinding.objects.filter(revoked_at__isnull=True).exists()


def _artifact(name: str) -> Any:
    from ipdesk.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
