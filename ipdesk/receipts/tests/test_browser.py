"""A verifier in a real browser: types the numbers from a receipt and reads the answer."""

from __future__ import annotations

from typing import Any

import pytest

from ipdesk.receipts import services

from .conftest import book_and_review

pytestmark = pytest.mark.django_db(transaction=True)


def test_verifier_types_the_numbers_and_sees_genuine(
    browser_page: Any, collector: Any, reviewer: Any
) -> None:
    [payment] = book_and_review(collector, reviewer)
    receipt = services.current_receipt(payment)
    page = browser_page
    page.goto("/verify/")
    page.get_by_label("票据代码", exact=False).fill(receipt.series.code)
    page.get_by_label("票据号码", exact=False).fill(receipt.number_text)
    page.get_by_label("校验码", exact=False).fill(receipt.check_code)
    page.get_by_label("开票日期", exact=False).fill(receipt.issue_date.isoformat())
    page.get_by_label("金额", exact=False).fill(str(receipt.total))
    page.locator("form[method=get] button[type=submit]").click()
    verdict = page.locator(".verdict")
    verdict.wait_for()
    assert "verdict-genuine" in (verdict.get_attribute("class") or "")
    assert "陈发明" in verdict.inner_text()

    page.get_by_label("校验码", exact=False).fill("zzzzzz")
    page.locator("form[method=get] button[type=submit]").click()
    page.locator(".verdict-mismatch").wait_for()
    assert "陈发明" not in page.locator(".verdict").inner_text()
