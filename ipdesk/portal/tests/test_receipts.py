"""My receipts: filters, keyset pages, ZIP downloads (streamed and in the background)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from ipdesk.accounts.models import Role
from ipdesk.collection.models import Payment
from ipdesk.portal import selectors
from ipdesk.portal.models import ZipJob
from ipdesk.receipts import services as receipts
from ipdesk.receipts.models import Receipt
from ipdesk.testing import bulk_reviewed_payments, user

from .conftest import PHONE_A, pay, signed_in

pytestmark = pytest.mark.django_db


def bulk_receipts(count: int, phone: str = PHONE_A) -> list[Receipt]:
    ids = bulk_reviewed_payments(count)
    Payment.objects.filter(pk__in=ids).update(payer_phone=phone)
    receipts.issue_receipts(ids)
    return list(Receipt.objects.filter(payment__in=ids).order_by("pk"))


def page_ids(html: str) -> list[str]:
    import re

    return re.findall(r"/my/receipts/\d{8}/(\d{10})/", html)


def test_keyset_pages_cover_every_receipt_once(payer_a: Any) -> None:
    made = bulk_receipts(47)
    pay_other = bulk_receipts(5, phone="13700137000")
    client = signed_in(payer_a)
    seen: list[str] = []
    url = "/my/"
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        seen.extend(dict.fromkeys(page_ids(html)))
        pages += 1
        after = response.context["next_query"]
        url = f"/my/?{after}" if after else ""
    assert pages == 3
    assert seen == [r.number_text for r in sorted(made, key=lambda r: -r.pk)]
    assert not {r.number_text for r in pay_other} & set(seen)


def test_pages_merge_every_scope_of_a_payer_without_gaps(payer_a: Any) -> None:
    """A payer with a phone who is also an agency's and an enterprise's user: three scopes,
    interleaved, paged across their seams."""
    from ipdesk.accounts.models import OrganisationKind, User
    from ipdesk.testing import UNIT_CODE, organisation

    agency = organisation(OrganisationKind.PATENT_AGENCY, "AGX", credit_code=UNIT_CODE)
    User.objects.filter(pk=payer_a.pk).update(organisation=agency)
    ids = bulk_reviewed_payments(90)
    for index, pk in enumerate(ids):
        change: dict[str, Any] = {
            0: {"payer_phone": PHONE_A},
            1: {"payer_id_code": UNIT_CODE},
            2: {"agency": agency},
            3: {"payer_phone": PHONE_A, "agency": agency},
            4: {},  # someone else's
        }[index % 5]
        Payment.objects.filter(pk=pk).update(**change)
    receipts.issue_receipts(ids)
    visible = [
        r.pk
        for r in Receipt.objects.filter(payment__in=ids).order_by("-pk")
        if (ids.index(r.payment_id) % 5) != 4
    ]
    payer_a.refresh_from_db()
    seen: list[int] = []
    after = None
    while True:
        page = selectors.receipt_page(payer_a, {}, after=after, size=7)
        seen.extend(r.pk for r in page.rows)
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == visible and len(visible) == 72
    assert [r.pk for r in selectors.iterate_receipts(payer_a, {}, batch=10)] == visible
    assert selectors.selection_exceeds(payer_a, {}, 71)
    assert not selectors.selection_exceeds(payer_a, {}, 72)


def test_a_phone_with_many_payments_pages_the_same(payer_a: Any, monkeypatch: Any) -> None:
    made = bulk_receipts(12)
    expected = [r.pk for r in sorted(made, key=lambda r: -r.pk)]
    for listed in (100, 5):  # through the list of payments, and through the join
        monkeypatch.setattr(selectors, "PAYMENTS_LISTED", listed)
        assert [r.pk for r in selectors.iterate_receipts(payer_a, {}, batch=5)] == expected


def test_a_page_uses_no_offset_and_no_count(payer_a: Any) -> None:
    bulk_receipts(25)
    with CaptureQueriesContext(connection) as queries:
        page = selectors.receipt_page(payer_a, {}, after=None)
        selectors.receipt_page(payer_a, {}, after=page.next_after)
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert "OFFSET" not in sql and "COUNT(" not in sql


def test_filters(collector: Any, reviewer: Any, payer_a: Any) -> None:
    application = pay(collector, reviewer, serial=100, fee="application", amount="900.00")[0]
    examination = pay(collector, reviewer, serial=200, fee="examination", amount="2500.00")[0]
    red = receipts.reverse_receipt(
        examination, reason="refund", actor=user(Role.FEE_CLERK, "clerk")
    )

    def numbers(**filters: Any) -> set[str]:
        response = signed_in(payer_a).get("/my/", filters)
        assert response.status_code == 200, response.content
        return set(page_ids(response.content.decode()))

    everything = {application.number_text, examination.number_text, red.number_text}
    assert numbers() == everything
    assert numbers(fee_code="examination") == {examination.number_text, red.number_text}
    assert numbers(amount="900") == {application.number_text}
    assert numbers(amount="-2500.00") == {red.number_text}
    assert numbers(kind="red") == {red.number_text}
    assert numbers(status="reversed") == {examination.number_text}
    assert numbers(status="genuine") == {application.number_text, red.number_text}
    number = application.payment.application_number
    assert numbers(application_number=f"{number[:12]}.{number[12]}") == {application.number_text}
    today = timezone.localdate().isoformat()
    assert numbers(date_from=today, date_to=today) == everything
    assert numbers(date_from="2000-01-01", date_to="2000-12-31") == set()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("date_from", "2025-13-01"),
        ("date_to", "yesterday"),
        ("application_number", "12345"),
        ("fee_code", "no-such-fee"),
        ("amount", "abc"),
        ("amount", "1.234"),
        ("amount", "0"),
        ("status", "lost"),
        ("kind", "green"),
        ("after", "-3"),
        ("after", "x"),
    ],
)
def test_bad_filter_is_400_naming_the_field(payer_a: Any, field: str, value: str) -> None:
    client = signed_in(payer_a)
    response = client.get("/my/", {field: value})
    assert response.status_code == 400
    assert list(response.context["errors"]) == [field]
    zipped = client.post("/my/zip/", {field: value})
    assert zipped.status_code == 400 and list(zipped.context["errors"]) == [field]
    assert ZipJob.objects.count() == 0


def test_date_range_backwards_names_date_to(payer_a: Any) -> None:
    response = signed_in(payer_a).get("/my/", {"date_from": "2025-02-01", "date_to": "2025-01-01"})
    assert response.status_code == 400 and list(response.context["errors"]) == ["date_to"]


def test_unknown_zip_format_names_formats(payer_a: Any) -> None:
    response = signed_in(payer_a).post("/my/zip/", {"formats": "doc"})
    assert response.status_code == 400 and list(response.context["errors"]) == ["formats"]


def read_zip(content: bytes) -> tuple[zipfile.ZipFile, list[list[Any]]]:
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert archive.testzip() is None
    book = load_workbook(io.BytesIO(archive.read("receipts.xlsx")), read_only=True)
    rows = [list(row) for row in book.active.iter_rows(values_only=True)]
    return archive, rows


def test_zip_streams_exactly_the_filtered_receipts_with_a_matching_list(
    collector: Any, reviewer: Any, payer_a: Any
) -> None:
    wanted = pay(collector, reviewer, serial=300, fee="examination", amount="2500.00", count=2)
    pay(collector, reviewer, serial=400, fee="application", amount="900.00")
    response = signed_in(payer_a).post("/my/zip/", {"fee_code": "examination"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/zip"
    archive, rows = read_zip(b"".join(response.streaming_content))
    expected = sorted(wanted, key=lambda r: -r.pk)
    pdfs = [f"{r.series.code}-{r.number_text}.pdf" for r in expected]
    assert sorted(archive.namelist()) == sorted([*pdfs, "receipts.xlsx"])
    for name in pdfs:
        assert archive.read(name).startswith(b"%PDF")
    body = rows[1:]
    assert [(row[0], row[1], row[2]) for row in body] == [
        (r.series.code, r.number_text, r.check_code) for r in expected
    ]
    assert [row[7] for row in body] == [r.payment.application_number for r in expected]
    assert [f"{row[8]:.2f}" for row in body] == ["2500.00", "2500.00"]
    assert [row[9] for row in body] == pdfs


def test_zip_can_add_ofd_and_xml(collector: Any, reviewer: Any, payer_a: Any) -> None:
    receipt = pay(collector, reviewer)[0]
    response = signed_in(payer_a).post("/my/zip/", {"formats": ["ofd", "xml"]})
    archive, rows = read_zip(b"".join(response.streaming_content))
    stem = f"{receipt.series.code}-{receipt.number_text}"
    assert sorted(archive.namelist()) == sorted(
        [f"{stem}.pdf", f"{stem}.ofd", f"{stem}.xml", "receipts.xlsx"]
    )
    assert len(rows) == 2


def test_a_large_selection_becomes_a_background_job(
    payer_a: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    settings.IPDESK_PORTAL_SYNC_ZIP_LIMIT = 3
    made = bulk_receipts(5)
    client = signed_in(payer_a)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post("/my/zip/", {})
    job = ZipJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/my/zip/{job.pk}/"
    assert (job.status, job.total, job.done) == ("done", 5, 5)
    page = client.get(f"/my/zip/{job.pk}/").content.decode()
    assert f"/my/zip/{job.pk}/download" in page
    download = client.get(f"/my/zip/{job.pk}/download")
    archive, rows = read_zip(b"".join(download.streaming_content))
    assert len(archive.namelist()) == 6 and len(rows) == 6
    assert [row[1] for row in rows[1:]] == [
        r.number_text for r in sorted(made, key=lambda r: -r.pk)
    ]
    from ipdesk.audit.models import AuditEvent

    assert list(
        AuditEvent.objects.filter(action__startswith="portal.zip").values_list("action", flat=True)
    ) == ["portal.zip.requested", "portal.zip.built"]


def test_just_at_the_limit_streams(payer_a: Any, settings: Any) -> None:
    settings.IPDESK_PORTAL_SYNC_ZIP_LIMIT = 3
    bulk_receipts(3)
    response = signed_in(payer_a).post("/my/zip/", {})
    assert response.status_code == 200 and response.streaming
    archive, _rows = read_zip(b"".join(response.streaming_content))
    assert len(archive.namelist()) == 4
    assert ZipJob.objects.count() == 0
