"""The settlement pages: the fee office's board and penalties, each office's statements."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ipdesk.accounts.models import Organisation, OrganisationKind, Role, User
from ipdesk.audit.models import AuditEvent
from ipdesk.collection import services as collection
from ipdesk.collection.models import VolumeKind
from ipdesk.settlement import selectors, services
from ipdesk.settlement.models import (
    DaySubmission,
    InterestDeclaration,
    MonthlyStatement,
    PenaltyDecision,
    Remittance,
    StatementStatus,
)
from ipdesk.testing import booking, bulk_reviewed_payments, organisation, user

from .test_settlement import on

pytestmark = pytest.mark.django_db

SEPTEMBER = dt.date(2025, 9, 1)
BOOKED = dt.date(2025, 9, 10)
# The first working day after the National Day holiday: September is over.
ISSUED = dt.date(2025, 10, 9)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def client_for(who: Any = None, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if who is not None:
        client.force_login(who)
    return client


def events(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


def book_day(office: Organisation, collector: User, reviewer: User, day: dt.date) -> None:
    """Two counter payments of 900 yuan booked, closed and reviewed through the services."""
    with on(day):
        volume = collection.open_volume(
            office=office, kind=VolumeKind.COUNTER, day=day, actor=collector
        )
        for _n in range(2):
            collection.book_payment(volume=volume, data=booking(), actor=collector)
        collection.close_volume(volume, actor=collector)
        collection.review_volume(volume, actor=reviewer)


@pytest.fixture
def sh_office(db: None) -> Organisation:
    return organisation(OrganisationKind.AGENCY_OFFICE, "SH", name="上海代办处")


@pytest.fixture
def booked(office: Organisation, sh_office: Organisation, collector: User, reviewer: User) -> None:
    """BJ books two payments on September 10th; SH one (inserted in bulk)."""
    book_day(office, collector, reviewer, BOOKED)
    with on(BOOKED):
        bulk_reviewed_payments(1, office_code="SH")


@pytest.fixture
def statement(booked: None, office: Organisation, clerk: User) -> MonthlyStatement:
    """BJ's September statement, issued with every office's on October 9th."""
    with on(ISSUED):
        services.close_month("2025-09", actor=clerk)
    found = selectors.current_statement(office, SEPTEMBER)
    assert found is not None
    return found


def fee_office_user(role: str) -> User:
    fee_office = organisation(OrganisationKind.FEE_OFFICE, "CNIPA", name="收费处")
    return user(role, f"fee-{role}", org=fee_office)


def office_urls(statement: MonthlyStatement) -> list[str]:
    return [
        reverse("settlement:statements"),
        reverse("settlement:statement", args=[statement.pk]),
        reverse("settlement:reports") + "?month=2025-09",
        reverse("settlement:days"),
    ]


def fee_office_urls(statement: MonthlyStatement) -> list[str]:
    return [
        reverse("settlement:board") + "?month=2025-09",
        reverse("settlement:office", args=["BJ"]),
        reverse("settlement:penalties", args=["BJ"]) + "?year=2025",
        reverse("settlement:summary-download") + "?month=2025-09&format=xlsx",
    ]


# --- who may see the pages ----------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.COLLECTOR, Role.REVIEWER])
def test_office_pages_render_for_office_staff(
    statement: MonthlyStatement, office: Organisation, role: str
) -> None:
    client = client_for(user(role, f"staff-{role}", org=office))
    with on(ISSUED):
        for url in office_urls(statement):
            assert client.get(url).status_code == 200, url
        page = client.get(reverse("settlement:statement", args=[statement.pk])).content.decode()
    assert reverse("settlement:confirm", args=[statement.pk]) in page
    assert 'name="differences"' in page
    assert 'name="bank_reference"' not in page  # remitted only once confirmed
    assert reverse("settlement:correct", args=[statement.pk]) not in page


@pytest.mark.parametrize("role", [Role.FEE_CLERK, Role.AUDITOR, Role.ADMIN])
def test_fee_office_pages_render_and_are_read_only_but_for_clerks(
    statement: MonthlyStatement, role: str
) -> None:
    client = client_for(fee_office_user(role))
    with on(ISSUED):
        for url in [
            *fee_office_urls(statement),
            reverse("settlement:statement", args=[statement.pk]),
        ]:
            assert client.get(url).status_code == 200, url
        # Their way in is the board.
        assert client.get(reverse("settlement:statements"))["Location"] == reverse(
            "settlement:board"
        )
        penalties = client.get(reverse("settlement:penalties", args=["BJ"])).content.decode()
        detail = client.get(reverse("settlement:statement", args=[statement.pk])).content.decode()
    assert ('name="base_amount"' in penalties) is (role == Role.FEE_CLERK)
    # Only the office itself answers its statement.
    assert reverse("settlement:confirm", args=[statement.pk]) not in detail


def test_pages_render_in_chinese_by_default(statement: MonthlyStatement, reviewer: User) -> None:
    client = client_for(reviewer, language="zh-hans")
    with on(ISSUED):
        for url in office_urls(statement):
            response = client.get(url)
            assert response.status_code == 200, url
            assert 'lang="zh-hans"' in response.content.decode()


def test_anonymous_users_are_sent_to_sign_in(statement: MonthlyStatement) -> None:
    client = client_for()
    for url in office_urls(statement) + fee_office_urls(statement):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login"))
    assert client.post(reverse("settlement:confirm", args=[statement.pk])).status_code == 302


def test_other_roles_are_refused(statement: MonthlyStatement, collector: User, clerk: User) -> None:
    payer = client_for(user(Role.PAYER, "payer"))
    for url in office_urls(statement) + fee_office_urls(statement):
        assert payer.get(url).status_code == 403, url
    office_staff = client_for(collector)
    for url in fee_office_urls(statement):
        assert office_staff.get(url).status_code == 403, url
    fee_clerk = client_for(clerk)
    for url in office_urls(statement)[2:]:
        assert fee_clerk.get(url).status_code == 403, url
    auditor = client_for(fee_office_user(Role.AUDITOR))
    # Staff of the fee office who are not its clerks or overseers have no settlement pages.
    fee_collector = client_for(fee_office_user(Role.COLLECTOR))
    assert fee_collector.get(reverse("settlement:statements")).status_code == 403
    before = AuditEvent.objects.filter(action__startswith="settlement.").count()
    with on(ISSUED):
        posts = [
            (office_staff, reverse("settlement:close-month"), {"month": "2025-09"}),
            (office_staff, reverse("settlement:correct", args=[statement.pk]), {}),
            (auditor, reverse("settlement:close-month"), {"month": "2025-09"}),
            (auditor, reverse("settlement:correct", args=[statement.pk]), {}),
            (auditor, reverse("settlement:deduction", args=["BJ"]), {"year": "2025"}),
            (fee_clerk, reverse("settlement:confirm", args=[statement.pk]), {}),
            (fee_clerk, reverse("settlement:dispute", args=[statement.pk]), {"differences": "x"}),
            (fee_clerk, reverse("settlement:interest"), {"month": "2025-09"}),
            (fee_clerk, reverse("settlement:days"), {"day": "2025-09-10"}),
        ]
        for client, url, data in posts:
            assert client.post(url, data).status_code == 403, url
    statement.refresh_from_db()
    assert statement.status == StatementStatus.ISSUED
    assert AuditEvent.objects.filter(action__startswith="settlement.").count() == before
    assert not DaySubmission.objects.exists()


@pytest.mark.parametrize("role", [Role.COLLECTOR, Role.REVIEWER])
def test_another_offices_statement_is_not_found(
    statement: MonthlyStatement, sh_office: Organisation, role: str
) -> None:
    client = client_for(user(role, f"sh-{role}", org=sh_office))
    with on(ISSUED):
        assert client.get(reverse("settlement:statement", args=[statement.pk])).status_code == 404
        for name, data in [
            ("settlement:confirm", {}),
            ("settlement:dispute", {"differences": "缺一笔"}),
            ("settlement:remit", {"bank_reference": "X", "remitted_on": "2025-10-09"}),
        ]:
            response = client.post(reverse(name, args=[statement.pk]), data)
            assert response.status_code == 404, name
        download = reverse("settlement:reports-download", args=["BJ"])
        assert client.get(download, {"month": "2025-09", "format": "pdf"}).status_code == 404
        # Their own list shows their own office's statement only.
        page = client.get(reverse("settlement:statements")).content.decode()
    assert reverse("settlement:statement", args=[statement.pk]) not in page
    statement.refresh_from_db()
    assert statement.status == StatementStatus.ISSUED


def test_dashboards_link_to_the_pages(
    office: Organisation, collector: User, reviewer: User, clerk: User
) -> None:
    for who in (collector, reviewer):
        page = client_for(who).get(reverse("core:dashboard")).content.decode()
        assert reverse("settlement:statements") in page and reverse("settlement:days") in page
    for who in (clerk, fee_office_user(Role.AUDITOR), fee_office_user(Role.ADMIN)):
        assert reverse("settlement:board") in client_for(who).get("/").content.decode()


# --- the fee office -----------------------------------------------------------------------


def test_issue_all_statements_from_the_board(booked: None, clerk: User) -> None:
    client = client_for(clerk)
    url = reverse("settlement:close-month")
    with on(ISSUED):
        board = client.get(reverse("settlement:board"))
        assert board.context["month"] == SEPTEMBER  # the previous month by default
        assert url in board.content.decode()
        bad = client.post(url, {"month": "2025-13"})
        assert bad.status_code == 200
        assert list(bad.context["close_form"].errors) == ["month"]
        unfinished = client.post(url, {"month": "2025-10"})
        assert "after its last day" in unfinished.context["close_form"].errors["month"][0]
        assert 'id="close_month_error"' in unfinished.content.decode()
        assert not MonthlyStatement.objects.exists()
        response = client.post(url, {"month": "2025-09"})
        assert response.status_code == 302
        assert response["Location"] == reverse("settlement:board") + "?month=2025-09"
        page = client.get(response["Location"]).content.decode()
    assert "2 statements of 2025-09 issued" in page
    assert MonthlyStatement.objects.filter(month=SEPTEMBER).count() == 2
    assert events("settlement.statement.issued") == 2
    bj = MonthlyStatement.objects.get(office__code="BJ")
    assert bj.amount_due == Decimal("1800.00")
    assert reverse("settlement:statement", args=[bj.pk]) in page
    assert "statement of this month has been issued." in page


def test_board_shows_totals_and_overdue_items(
    statement: MonthlyStatement, reviewer: User, clerk: User
) -> None:
    with on(ISSUED):
        services.confirm_statement(statement, actor=reviewer)  # remit by October 16th
    with on(dt.date(2025, 10, 20)):
        response = client_for(clerk).get(reverse("settlement:board"), {"month": "2025-09"})
        office_page = client_for(reviewer).get(reverse("settlement:statements"))
    html = response.content.decode()
    summary = response.context["summary"]
    assert summary.amount_due == Decimal("2700.00")  # BJ 1800 + SH 900
    assert [item.statement.pk for item in response.context["overdue"]] == [statement.pk]
    assert response.context["overdue"][0].delay_days == 4
    assert "Remittance overdue by 4 days" in html
    assert 'class="overdue"' in html
    assert "Remittance overdue by 4 days" in office_page.content.decode()


def test_dispute_then_corrected_statement(
    statement: MonthlyStatement, reviewer: User, clerk: User
) -> None:
    office_client = client_for(reviewer)
    url = reverse("settlement:dispute", args=[statement.pk])
    with on(ISSUED):
        empty = office_client.post(url, {"differences": "   "})
        assert empty.status_code == 200
        assert list(empty.context["dispute_form"].errors) == ["differences"]
        assert 'id="id_differences_error"' in empty.content.decode()
        statement.refresh_from_db()
        assert statement.status == StatementStatus.ISSUED
        assert events("settlement.statement.disputed") == 0
        response = office_client.post(url, {"differences": "缺少9月10日面交一笔"})
        assert response.status_code == 302
        statement.refresh_from_db()
        assert statement.status == StatementStatus.DISPUTED
        assert events("settlement.statement.disputed") == 1
        correct = reverse("settlement:correct", args=[statement.pk])
        assert correct in client_for(clerk).get(reverse("settlement:board")).content.decode()
        assert client_for(fee_office_user(Role.AUDITOR)).post(correct).status_code == 403
        issued = client_for(clerk).post(correct)
    corrected = MonthlyStatement.objects.get(office=statement.office, revision=2)
    assert issued["Location"] == reverse("settlement:statement", args=[corrected.pk])
    statement.refresh_from_db()
    assert statement.status == StatementStatus.SUPERSEDED
    assert corrected.supersedes == statement and corrected.status == StatementStatus.ISSUED
    assert events("settlement.statement.corrected") == 1
    with on(ISSUED):
        old = office_client.get(reverse("settlement:statement", args=[statement.pk]))
        again = client_for(clerk).post(correct, follow=True)
    assert "replaced by a corrected one" in old.content.decode()
    assert "Only a disputed statement" in again.content.decode()
    assert MonthlyStatement.objects.filter(office=statement.office).count() == 2


# --- an office's statement ----------------------------------------------------------------


def test_confirm_a_statement(statement: MonthlyStatement, reviewer: User) -> None:
    client = client_for(reviewer)
    url = reverse("settlement:confirm", args=[statement.pk])
    with on(ISSUED):
        response = client.post(url, follow=True)
        statement.refresh_from_db()
        assert statement.status == StatementStatus.CONFIRMED
        assert statement.remit_deadline == dt.date(2025, 10, 16)
        assert "Remit the amount due by 2025-10-16" in response.content.decode()
        assert 'name="bank_reference"' in response.content.decode()
        assert events("settlement.statement.confirmed") == 1
        again = client.post(url, follow=True)
        late_dispute = client.post(
            reverse("settlement:dispute", args=[statement.pk]), {"differences": "缺一笔"}
        )
    assert "Only an issued statement can be confirmed" in again.content.decode()
    assert events("settlement.statement.confirmed") == 1
    # Answered already: the dispute sent from a page loaded before says why nothing was done.
    assert late_dispute.status_code == 200
    assert "Only an issued statement" in str(
        late_dispute.context["dispute_form"].non_field_errors()
    )
    statement.refresh_from_db()
    assert statement.status == StatementStatus.CONFIRMED
    assert events("settlement.statement.disputed") == 0


def test_record_remittances(statement: MonthlyStatement, reviewer: User) -> None:
    with on(ISSUED):
        services.confirm_statement(statement, actor=reviewer)
    client = client_for(reviewer)
    url = reverse("settlement:remit", args=[statement.pk])
    with on(dt.date(2025, 10, 10)):
        future = client.post(
            url, {"bank_reference": "B-1", "remitted_on": "2025-10-11", "amount": "500"}
        )
        assert future.status_code == 200
        assert list(future.context["remittance_form"].errors) == ["remitted_on"]
        assert "future" in future.context["remittance_form"].errors["remitted_on"][0]
        words = client.post(
            url, {"bank_reference": "B-1", "remitted_on": "2025-10-10", "amount": "five"}
        )
        assert list(words.context["remittance_form"].errors) == ["amount"]
        assert not Remittance.objects.exists()
        first = client.post(
            url, {"bank_reference": "B-1", "remitted_on": "2025-10-10", "amount": "500.00"}
        )
        assert first.status_code == 302
        statement.refresh_from_db()
        assert statement.status == StatementStatus.REMITTED_PARTIALLY
        duplicate = client.post(
            url, {"bank_reference": "B-1", "remitted_on": "2025-10-10", "amount": "1300.00"}
        )
        assert "already been recorded" in duplicate.content.decode()
        client.post(url, {"bank_reference": "B-2", "remitted_on": "2025-10-10", "amount": "1300"})
        page = client.get(reverse("settlement:statement", args=[statement.pk])).content.decode()
    statement.refresh_from_db()
    assert statement.status == StatementStatus.RECONCILED
    assert statement.remitted_total == Decimal("1800.00")
    assert events("settlement.remittance.recorded") == 2
    assert "B-2" in page and 'name="bank_reference"' not in page


def test_declare_interest(statement: MonthlyStatement, reviewer: User) -> None:
    client = client_for(reviewer)
    url = reverse("settlement:interest")
    form = {
        "month": "2025-09",
        "amount": "0",
        "explanation": "九月活期利息",
        "bank_reference": "I-1010",
        "remitted_on": "2025-10-10",
    }
    with on(dt.date(2025, 10, 10)):
        zero = client.post(url, form)
        assert zero.status_code == 200
        assert list(zero.context["interest_form"].errors) == ["amount"]
        unexplained = client.post(url, {**form, "amount": "3.21", "explanation": ""})
        assert list(unexplained.context["interest_form"].errors) == ["explanation"]
        assert not InterestDeclaration.objects.exists()
        response = client.post(url, {**form, "amount": "3.21"}, follow=True)
    declaration = InterestDeclaration.objects.get()
    assert declaration.amount == Decimal("3.21") and declaration.declared_by == reviewer
    assert events("settlement.interest.declared") == 1
    html = response.content.decode()
    assert "Interest of 2025-09 declared" in html and "I-1010" in html


# --- reports and downloads ----------------------------------------------------------------


def test_monthly_reports_page_and_downloads(
    statement: MonthlyStatement, reviewer: User, clerk: User
) -> None:
    client = client_for(reviewer)
    download = reverse("settlement:reports-download", args=["BJ"])
    with on(ISSUED):
        page = client.get(reverse("settlement:reports"), {"month": "2025-09"})
        assert page.context["reports"].reconciled
        html = page.content.decode()
        for heading in ("科目余额表", "应交局费用明细表", "资产负债表", "mismatch"):
            assert (heading in html) is (heading != "mismatch")
        assert f"{download}?month=2025-09&amp;format=pdf" in html
        bad = client.get(reverse("settlement:reports"), {"month": "September"})
        assert list(bad.context["form"].errors) == ["month"]
        assert bad.context["month"] == SEPTEMBER
        pdf = client.get(download, {"month": "2025-09", "format": "pdf"})
        xlsx = client.get(download, {"month": "2025-09", "format": "xlsx"})
        wrong = client.get(download, {"month": "2025-09", "format": "doc"})
        fee_office = client_for(clerk)
        board = fee_office.get(reverse("settlement:board")).content.decode()
        summary = reverse("settlement:summary-download")
        national_pdf = fee_office.get(summary, {"month": "2025-09", "format": "pdf"})
        national_xlsx = fee_office.get(summary, {"month": "2025-09", "format": "xlsx"})
        office_xlsx = fee_office.get(download, {"month": "2025-09", "format": "xlsx"})
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert xlsx["Content-Type"] == XLSX and xlsx.content.startswith(b"PK")
    assert wrong.status_code == 302 and wrong["Location"] == reverse("settlement:reports")
    assert f"{download}?month=2025-09&amp;format=pdf" in board
    assert f"{summary}?month=2025-09&amp;format=xlsx" in board
    assert national_pdf["Content-Type"] == "application/pdf"
    assert national_xlsx["Content-Type"] == XLSX
    assert office_xlsx["Content-Type"] == XLSX


# --- the day's data and penalties ---------------------------------------------------------


def test_send_the_days_data(office: Organisation, collector: User, reviewer: User) -> None:
    book_day(office, collector, reviewer, BOOKED)
    client = client_for(collector)
    url = reverse("settlement:days")
    with on(BOOKED):
        future = client.post(url, {"day": "2025-09-11"})
        assert future.status_code == 200
        assert list(future.context["form"].errors) == ["day"]
        assert not DaySubmission.objects.exists()
        response = client.post(url, {"day": "2025-09-10"}, follow=True)
        again = client.post(url, {"day": "2025-09-10"})
    sent = DaySubmission.objects.get()
    assert (sent.day, sent.entries, sent.late_working_days) == (BOOKED, 2, 0)
    assert events("collection.day.submitted") == 1
    assert "The data of 2025-09-10 is sent." in response.content.decode()
    assert "already been sent" in str(again.context["form"].non_field_errors())
    assert DaySubmission.objects.count() == 1


def test_penalties_deduction_and_excuse(
    office: Organisation, collector: User, reviewer: User, clerk: User
) -> None:
    book_day(office, collector, reviewer, BOOKED)
    with on(dt.date(2025, 9, 15)):  # due on the 11th: late on the 12th and the 15th
        late = services.submit_day(office=office, day=BOOKED, actor=collector)
    assert late.late_working_days == 2
    client = client_for(clerk)
    page_url = reverse("settlement:penalties", args=["BJ"])
    excuse_url = reverse("settlement:excuse", args=[late.pk])
    deduction_url = reverse("settlement:deduction", args=["BJ"])
    with on(dt.date(2025, 9, 15)):
        page = client.get(page_url, {"year": "2025"})
        assert page.context["penalties"].total == Decimal("400.00")
        assert excuse_url in page.content.decode()
        office_page = client_for(collector).get(reverse("settlement:days"), {"year": "2025"})
        assert office_page.context["penalties"].total == Decimal("400.00")
        blank = client.post(excuse_url, {"reason": " "})
        assert blank.status_code == 200
        assert list(blank.context["late"][0][1].errors) == ["reason"]
        assert f'id="id_excuse_{late.pk}_reason_error"' in blank.content.decode()
        late.refresh_from_db()
        assert late.excuse == ""
        excused = client.post(excuse_url, {"reason": "省网络中断，有电信证明"})
        assert excused["Location"] == f"{page_url}?year=2025"
        deduction = {"year": "2025", "reference": "收费处〔2025〕1号", "reason": "滞留专利费"}
        zero = client.post(deduction_url, {**deduction, "base_amount": "0"})
        assert zero.status_code == 200
        assert list(zero.context["deduction_form"].errors) == ["base_amount"]
        assert not PenaltyDecision.objects.exists()
        decided = client.post(deduction_url, {**deduction, "base_amount": "1000"}, follow=True)
    late.refresh_from_db()
    assert late.excuse == "省网络中断，有电信证明" and late.excused_by == clerk
    assert events("collection.day.delay_excused") == 1
    decision = PenaltyDecision.objects.get()
    assert (decision.amount, decision.decided_by) == (Decimal("200.00"), clerk)
    assert events("settlement.penalty.decided") == 1
    assert decided.context["penalties"].total == Decimal("200.00")  # the late day is excused
    assert "收费处〔2025〕1号" in decided.content.decode()
