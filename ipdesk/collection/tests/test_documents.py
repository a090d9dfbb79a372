"""Paper receipts and daily reports as documents, read back with poppler and openpyxl."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from ipdesk.collection import selectors, services
from ipdesk.collection.models import Channel, Payment, PaymentLine, VolumeKind
from ipdesk.collection.paper_receipt import render_paper_receipt
from ipdesk.collection.reports import daily_report_pdf, daily_report_xlsx
from ipdesk.testing import api_client, pdf_text

from .conftest import booking

pytestmark = pytest.mark.django_db


def test_paper_receipt_has_four_labelled_parts(
    counter_volume: Any, collector: Any, reviewer: Any, tmp_path: Path
) -> None:
    payment = services.book_payment(
        volume=counter_volume, data=booking(fee="examination", amount="2500"), actor=collector
    )
    data = render_paper_receipt(payment)
    text = pdf_text(data, tmp_path, layout=True)
    pages = text.split("\f")
    assert len([p for p in pages if p.strip()]) == 4
    for page, (part, destination) in zip(
        pages,
        [
            ("第一联（棕色）", "交收费处，按序排列"),
            ("第二联（黑色）", "交缴费人"),
            ("第三联（红色）", "按收据号排序"),
            ("第四联（蓝色）", "与记账凭证合订成帐本"),
        ],
        strict=False,
    ):
        assert part in page and destination in page
        assert "陈发明" in page
        assert "贰仟伍佰元整" in page
        assert "实质审查费" in page


def test_paper_receipt_api_only_for_counter(
    office: Any, collector: Any, counter_volume: Any
) -> None:
    payment = services.book_payment(volume=counter_volume, data=booking(), actor=collector)
    response = api_client(collector).get(f"/api/v1/payments/{payment.pk}/paper-receipt.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    bank = services.open_volume(
        office=office, kind=VolumeKind.BANK, day=timezone.localdate(), actor=collector
    )
    transfer = services.book_payment(
        volume=bank,
        data=booking(channel=Channel.BANK, remitted_on=timezone.localdate()),
        actor=collector,
    )
    response = api_client(collector).get(f"/api/v1/payments/{transfer.pk}/paper-receipt.pdf")
    assert response.status_code == 400 and "channel" in response.json()["error"]["fields"]


def _day_of_bookings(office: Any, collector: Any, reviewer: Any) -> None:
    today = timezone.localdate()
    counter = services.open_volume(
        office=office, kind=VolumeKind.COUNTER, day=today, actor=collector
    )
    bank = services.open_volume(office=office, kind=VolumeKind.BANK, day=today, actor=collector)
    services.book_payment(volume=counter, data=booking(), actor=collector)
    services.book_payment(
        volume=counter, data=booking(fee="examination", amount="2500"), actor=collector
    )
    services.book_payment(
        volume=bank,
        data=booking(channel=Channel.BANK, remitted_on=today, fee="reexamination", amount="1000"),
        actor=collector,
    )
    unreviewed = services.open_volume(
        office=office, kind=VolumeKind.POST, day=today, actor=collector
    )
    services.book_payment(
        volume=unreviewed, data=booking(channel=Channel.POST, postmarked_on=today), actor=collector
    )
    for volume in (counter, bank):
        services.close_volume(volume, actor=collector)
        services.review_volume(volume, actor=reviewer)


def test_daily_report_totals_equal_the_reviewed_entries(
    office: Any, collector: Any, reviewer: Any
) -> None:
    _day_of_bookings(office, collector, reviewer)
    report = selectors.daily_report(office, timezone.localdate())
    entries = Payment.objects.filter(office=office, reviewed_at__isnull=False)
    expected = sum((p.total for p in entries), Decimal("0"))
    assert report.total == expected == Decimal("4400.00")
    assert report.count == 3
    assert sum((r.amount for r in report.closing), Decimal("0")) == expected
    assert sum((r.amount for r in report.by_channel), Decimal("0")) == expected
    assert sum((r.amount for r in report.by_channel_and_date), Decimal("0")) == expected
    line_sum = sum(
        (line.amount for line in PaymentLine.objects.filter(payment__in=entries)), Decimal("0")
    )
    assert sum((r.amount for r in report.by_fee), Decimal("0")) == line_sum == expected


def test_daily_report_pdf_and_excel(
    office: Any, collector: Any, reviewer: Any, tmp_path: Path
) -> None:
    _day_of_bookings(office, collector, reviewer)
    report = selectors.daily_report(office, timezone.localdate())
    text = pdf_text(daily_report_pdf(report), tmp_path, layout=True)
    assert "日结单" in text and "汇总表1" in text and "汇总表2" in text
    assert "4400.00" in text and "北京代办处" in text
    book = load_workbook(io.BytesIO(daily_report_xlsx(report)))
    assert "汇总表1" in book.sheetnames
    sheet = book["汇总表1"]
    totals = [row for row in sheet.iter_rows(values_only=True) if row and row[0] == "合计 total"]
    assert totals and totals[0][2] == "4400.00"


def test_daily_report_api_formats(office: Any, collector: Any, reviewer: Any) -> None:
    _day_of_bookings(office, collector, reviewer)
    day = timezone.localdate().isoformat()
    client = api_client(reviewer)
    assert (
        client.get("/api/v1/offices/BJ/daily-report", {"day": day, "format": "pdf"})["Content-Type"]
        == "application/pdf"
    )
    assert (
        client.get("/api/v1/offices/BJ/daily-report", {"day": day, "format": "xlsx"}).status_code
        == 200
    )
    bad = client.get("/api/v1/offices/BJ/daily-report", {"day": day, "format": "doc"})
    assert bad.status_code == 400 and "format" in bad.json()["error"]["fields"]
    assert "day" in client.get("/api/v1/offices/BJ/daily-report").json()["error"]["fields"]
