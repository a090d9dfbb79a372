"""A month booked through the real services: statements, monthly reports, late data, penalties."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Sum
from openpyxl import load_workbook

from ipdesk.accounts.models import OrganisationKind, Role, User
from ipdesk.audit.models import AuditEvent
from ipdesk.audit.selectors import verify_chain
from ipdesk.collection import selectors as collection_selectors
from ipdesk.collection import services as collection
from ipdesk.collection.models import Channel, Payment, VolumeKind
from ipdesk.core.errors import Conflict, InvalidInput, NotAllowed
from ipdesk.settlement import reports, selectors, services
from ipdesk.settlement.models import DaySubmission, StatementStatus
from ipdesk.testing import application_number, booking, organisation, pdf_text, user

from .test_settlement import on

OFFICES = ("BJ", "SH", "GZ")
SEPTEMBER = dt.date(2025, 9, 1)
# Working days of September 2025 on which every office books (the 28th is a make-up Sunday).
BOOKING_DAYS = (dt.date(2025, 9, 1), dt.date(2025, 9, 12), dt.date(2025, 9, 26))
FEES = (("application", "900.00"), ("examination", "2500.00"), ("reexamination", "1000.00"))


def people(code: str) -> tuple[User, User]:
    office = organisation(OrganisationKind.AGENCY_OFFICE, code)
    found = User.objects.filter(username=f"c-{code}").first()
    if found:
        return found, User.objects.get(username=f"r-{code}")
    return user(Role.COLLECTOR, f"c-{code}", org=office), user(
        Role.REVIEWER, f"r-{code}", org=office
    )


def book_day(code: str, day: dt.date, count: int) -> list[Payment]:
    """``count`` counter payments and one bank transfer, closed and reviewed on ``day``."""
    office = organisation(OrganisationKind.AGENCY_OFFICE, code)
    collector, reviewer = people(code)
    booked = []
    with on(day):
        counter = collection.open_volume(
            office=office, kind=VolumeKind.COUNTER, day=day, actor=collector
        )
        bank = collection.open_volume(office=office, kind=VolumeKind.BANK, day=day, actor=collector)
        for n in range(count):
            fee, amount = FEES[n % len(FEES)]
            booked.append(
                collection.book_payment(
                    volume=counter, data=booking(fee=fee, amount=amount), actor=collector
                )
            )
        booked.append(
            collection.book_payment(
                volume=bank,
                data=booking(
                    channel=Channel.BANK, remitted_on=day, fee="examination", amount="2500.00"
                ),
                actor=collector,
            )
        )
        for volume in (counter, bank):
            collection.close_volume(volume, actor=collector)
            collection.review_volume(volume, actor=reviewer)
    return [Payment.objects.get(pk=payment.pk) for payment in booked]


def review_correction_volume(code: str, day: dt.date) -> None:
    collector, reviewer = people(code)
    office = organisation(OrganisationKind.AGENCY_OFFICE, code)
    with on(day):
        volume = collection.open_volume(
            office=office, kind=VolumeKind.CORRECTION, day=day, actor=collector
        )
        collection.close_volume(volume, actor=collector)
        collection.review_volume(volume, actor=reviewer)


@pytest.fixture
def september(clerk: Any) -> dict[str, Any]:
    """Three offices' September: bookings, an office-error correction, refunds, a return."""
    booked: dict[str, list[Payment]] = {code: [] for code in OFFICES}
    for index, code in enumerate(OFFICES):
        for day in BOOKING_DAYS:
            booked[code] += book_day(code, day, count=index + 2)
    # BJ typed a wrong application number on the 1st: reversed and replaced on the 15th.
    bj_collector, _bj_reviewer = people("BJ")
    wrong = booked["BJ"][0]
    with on(dt.date(2025, 9, 15)):
        collection.correct_payment(
            wrong,
            data=booking(
                number=application_number(serial=4242), fee="application", amount="900.00"
            ),
            reason="申请号录入错误",
            cause="office_error",
            actor=bj_collector,
        )
    review_correction_volume("BJ", dt.date(2025, 9, 15))
    # SH pays back a duplicate on the 20th.
    sh_collector, sh_reviewer = people("SH")
    with on(dt.date(2025, 9, 22)):
        refund = collection.request_refund(
            payment=booked["SH"][1], amount="2500.00", reason="duplicate", actor=sh_collector
        )
        collection.decide_refund(refund, approve=True, actor=sh_reviewer)
    # GZ returns a post remittance without an application number: no fee, no refund of fees.
    gz_collector, gz_reviewer = people("GZ")
    with on(dt.date(2025, 9, 23)):
        returned = collection.return_remittance(
            office=organisation(OrganisationKind.AGENCY_OFFICE, "GZ"),
            channel=Channel.POST,
            payer_name="无名汇款",
            amount="450.00",
            remitted_on=dt.date(2025, 9, 19),
            reference="P-0919",
            actor=gz_collector,
        )
        collection.decide_refund(returned, approve=True, actor=gz_reviewer)
    return booked


def reviewed_sum(code: str) -> Decimal:
    return Payment.objects.filter(
        office__code=code,
        reviewed_at__isnull=False,
        booked_on__range=(SEPTEMBER, dt.date(2025, 9, 30)),
    ).aggregate(s=Sum("total"))["s"]


def test_statements_equal_reviewed_entries_and_reports_reconcile(
    september: Any, clerk: Any, tmp_path: Path
) -> None:
    with on(dt.date(2025, 10, 9)):
        results = dict(
            (office.code, statement) for office, statement in services.close_month("2025-09")
        )
    for code in OFFICES:
        statement = results[code]
        assert statement is not None
        assert statement.fees_total == reviewed_sum(code)
        assert sum(Decimal(line["amount"]) for line in statement.fee_lines) == reviewed_sum(code)
    # BJ: 3 days × (2 counter + 1 bank); the correction nets out (900 reversed, 900 replaced).
    assert results["BJ"].fees_total == Decimal("3") * (Decimal("900") + Decimal("2500") * 2)
    assert results["SH"].refunds_total == Decimal("2500.00")
    assert results["GZ"].refunds_total == Decimal("0.00")  # the returned remittance is no fee
    for code in OFFICES:
        office = organisation(OrganisationKind.AGENCY_OFFICE, code)
        with on(dt.date(2025, 10, 9)):
            monthly = selectors.monthly_reports(office, SEPTEMBER)
        assert monthly.reconciled, [(c.label, c.left, c.right) for c in monthly.checks if not c.ok]
        assert monthly.trial_balance.balances
        assert monthly.balance_sheet.balances
        assert monthly.payable.opening == Decimal("0.00")
        assert monthly.payable.fees == results[code].fees_total
        assert monthly.payable.closing == results[code].amount_due
        # Fifth working day of October: 9, 10, the make-up Saturday 11, 13, 14.
        assert monthly.due_on == dt.date(2025, 10, 14)
    sh = selectors.monthly_reports(organisation(OrganisationKind.AGENCY_OFFICE, "SH"), SEPTEMBER)
    # SH: 3 days × (900 + 2500 + 1000 + 2500) = 20700 of fees, and a 2500 refund.
    assert sh.trial_balance.total("period") == (Decimal("23200.00"), Decimal("23200.00"))
    gz = selectors.monthly_reports(organisation(OrganisationKind.AGENCY_OFFICE, "GZ"), SEPTEMBER)
    refunds_row = next(row for row in gz.trial_balance.rows if row.account == "refunds_payable")
    assert refunds_row.period == (Decimal("450.00"), Decimal("450.00"))
    text = pdf_text(reports.monthly_reports_pdf(sh), tmp_path)
    for heading in ("科目余额表", "应交局费用明细表", "资产负债表", "(SH)"):
        assert heading in text
    assert "不符" not in text and "一致" in text
    book = load_workbook(io.BytesIO(reports.monthly_reports_xlsx(sh)))
    assert {"科目余额表", "应交局费用明细表", "资产负债表", "核对"} <= set(book.sheetnames)
    totals = [r for r in book["科目余额表"].iter_rows(values_only=True) if r[0] == "合计 total"]
    assert totals[0][3] == totals[0][4] == "23200.00"
    summary = selectors.national_summary(SEPTEMBER, dt.date(2025, 10, 9))
    assert summary.amount_due == sum((s.amount_due for s in results.values() if s), Decimal(0))
    assert summary.fees == sum((reviewed_sum(code) for code in OFFICES), Decimal(0))
    assert "全国代办处月度汇总" in pdf_text(reports.national_summary_pdf(summary), tmp_path)
    assert verify_chain().ok


def test_remittance_and_interest_roll_into_the_next_month(september: Any, clerk: Any) -> None:
    bj = organisation(OrganisationKind.AGENCY_OFFICE, "BJ")
    _collector, reviewer = people("BJ")
    with on(dt.date(2025, 10, 9)):
        statement = services.issue_statement(bj, "2025-09", clerk)
        services.confirm_statement(statement, actor=reviewer)
        with pytest.raises(InvalidInput) as caught:
            services.record_remittance(
                statement,
                bank_reference="EARLY",
                remitted_on=dt.date(2025, 10, 8),
                amount="100",
                actor=reviewer,
            )
        assert "remitted_on" in caught.value.fields
    with on(dt.date(2025, 10, 10)):
        services.record_remittance(
            statement,
            bank_reference="B-1010",
            remitted_on=dt.date(2025, 10, 10),
            amount="10000.00",
            actor=reviewer,
        )
        services.declare_interest(
            bj,
            "2025-09",
            amount="3.21",
            explanation="九月活期利息",
            bank_reference="I-1010",
            remitted_on=dt.date(2025, 10, 10),
            actor=reviewer,
        )
    september_reports = selectors.monthly_reports(bj, SEPTEMBER)
    assert september_reports.reconciled
    interest = next(
        r for r in september_reports.trial_balance.rows if r.account == "interest_payable"
    )
    assert interest.closing == (Decimal("0.00"), Decimal("3.21"))  # earned, not yet handed over
    assert september_reports.balance_sheet.balances
    with on(dt.date(2025, 11, 3)):
        october = selectors.monthly_reports(bj, dt.date(2025, 10, 1))
    assert october.reconciled, [(c.label, c.left, c.right) for c in october.checks if not c.ok]
    assert october.payable.opening == september_reports.payable.closing
    assert october.payable.remitted == Decimal("10000.00")
    assert october.payable.closing == statement.amount_due - Decimal("10000.00")
    interest = next(r for r in october.trial_balance.rows if r.account == "interest_payable")
    assert interest.closing == (Decimal("0.00"), Decimal("0.00"))


def test_late_data_fined_per_working_day_unless_excused(september: Any, clerk: Any) -> None:
    gz = organisation(OrganisationKind.AGENCY_OFFICE, "GZ")
    collector, _reviewer = people("GZ")
    with on(dt.date(2025, 9, 1)):
        on_time = services.submit_day(office=gz, day=dt.date(2025, 9, 1), actor=collector)
    assert on_time.due_on == dt.date(2025, 9, 2) and on_time.late_working_days == 0
    assert on_time.total == collection_selectors.daily_report(gz, dt.date(2025, 9, 1)).total
    with on(dt.date(2025, 9, 15)):
        services.submit_day(office=gz, day=dt.date(2025, 9, 12), actor=collector)
    # Due the next working day, Sunday 28 (make-up day); sent Oct 9 after the holiday:
    # late on Sep 29, Sep 30 and Oct 9 = 3 working days.
    with on(dt.date(2025, 10, 9)):
        late = services.submit_day(office=gz, day=dt.date(2025, 9, 26), actor=collector)
    assert late.due_on == dt.date(2025, 9, 28)
    assert late.late_working_days == 3
    fines = selectors.penalties(gz, 2025, dt.date(2025, 10, 9))
    assert [(i.kind, i.count, i.amount) for i in fines.items] == [
        ("late_data", 3, Decimal("600.00"))
    ]
    # The fee office accepts a reason: nothing left to fine.
    with pytest.raises(NotAllowed):
        services.excuse_late_submission(late, reason="断网", actor=collector)
    with pytest.raises(InvalidInput) as caught:
        services.excuse_late_submission(late, reason=" ", actor=clerk)
    assert "reason" in caught.value.fields
    services.excuse_late_submission(late, reason="省网络中断，有电信证明", actor=clerk)
    assert selectors.penalties(gz, 2025, dt.date(2025, 10, 9)).items == []
    with pytest.raises(Conflict):
        services.excuse_late_submission(on_time, reason="x", actor=clerk)


def test_day_never_sent_counts_until_today(september: Any, clerk: Any) -> None:
    sh = organisation(OrganisationKind.AGENCY_OFFICE, "SH")
    collector, _reviewer = people("SH")
    for day in BOOKING_DAYS[:2]:
        with on(day):
            services.submit_day(office=sh, day=day, actor=collector)
    # Sep 22 (the refund day) has no entries; Sep 26 was never sent: due Sunday Sep 28.
    fines = selectors.penalties(sh, 2025, dt.date(2025, 10, 11))
    # Late on Sep 29, Sep 30, Oct 9, Oct 10 and the make-up Saturday Oct 11.
    assert [(i.kind, i.count, i.amount) for i in fines.items] == [
        ("late_data_running", 5, Decimal("1000.00"))
    ]


def test_submitting_a_day_refuses_what_is_not_ready(clerk: Any) -> None:
    bj = organisation(OrganisationKind.AGENCY_OFFICE, "BJ")
    collector, reviewer = people("BJ")
    day = dt.date(2025, 9, 10)
    with on(day):
        volume = collection.open_volume(
            office=bj, kind=VolumeKind.COUNTER, day=day, actor=collector
        )
        collection.book_payment(volume=volume, data=booking(), actor=collector)
        events = AuditEvent.objects.count()
        with pytest.raises(Conflict) as caught:
            services.submit_day(office=bj, day=day, actor=collector)
        assert caught.value.code == "open_volumes"
        collection.close_volume(volume, actor=collector)
        events = AuditEvent.objects.count()
        with pytest.raises(Conflict) as caught:
            services.submit_day(office=bj, day=day, actor=collector)
        assert caught.value.code == "unreviewed_entries"
        with pytest.raises(InvalidInput) as bad:
            services.submit_day(office=bj, day=dt.date(2025, 9, 11), actor=collector)
        assert "day" in bad.value.fields
        with pytest.raises(NotAllowed):
            services.submit_day(office=bj, day=day, actor=clerk)
        assert AuditEvent.objects.count() == events and not DaySubmission.objects.exists()
        collection.review_volume(volume, actor=reviewer)
        sent = services.submit_day(office=bj, day=day, actor=collector)
        assert sent.entries == 1 and sent.total == Decimal("900.00")
        with pytest.raises(Conflict) as caught:
            services.submit_day(office=bj, day=day, actor=collector)
        assert caught.value.code == "already_sent"


def test_office_error_correction_costs_six_yuan_per_application_number(
    september: Any, clerk: Any
) -> None:
    bj = organisation(OrganisationKind.AGENCY_OFFICE, "BJ")
    sh = organisation(OrganisationKind.AGENCY_OFFICE, "SH")
    fines = selectors.penalties(bj, 2025, dt.date(2025, 9, 16))
    corrected = september["BJ"][0].application_number
    correction = next(item for item in fines.items if item.kind == "correction")
    assert (correction.count, correction.amount) == (1, Decimal("6.00"))
    assert corrected in correction.explanation
    # A payer's own error costs the office nothing.
    sh_collector, _ = people("SH")
    with on(dt.date(2025, 9, 16)):
        collection.correct_payment(
            Payment.objects.get(pk=september["SH"][0].pk),
            data=booking(fee="application", amount="900.00"),
            reason="缴费人填错申请号",
            cause="payer_error",
            actor=sh_collector,
        )
    assert not [
        i
        for i in selectors.penalties(sh, 2025, dt.date(2025, 9, 16)).items
        if i.kind == "correction"
    ]


def test_month_of_refunds_only_leaves_the_fee_office_owing(clerk: Any) -> None:
    paid = book_day("BJ", dt.date(2025, 8, 29), count=1)[0]
    collector, reviewer = people("BJ")
    with on(dt.date(2025, 9, 3)):
        refund = collection.request_refund(
            payment=paid, amount="900.00", reason="duplicate", actor=collector
        )
        collection.decide_refund(refund, approve=True, actor=reviewer)
    bj = organisation(OrganisationKind.AGENCY_OFFICE, "BJ")
    with on(dt.date(2025, 10, 9)):
        statement = services.issue_statement(bj, "2025-09", clerk)
        assert statement.amount_due == Decimal("-900.00")
        accepted = services.confirm_statement(statement, actor=reviewer)
    assert accepted.status == StatementStatus.OVERPAID
    assert accepted.excess_amount == Decimal("900.00")
    assert not selectors.is_remittance_overdue(accepted, dt.date(2025, 12, 1))
    monthly = selectors.monthly_reports(bj, SEPTEMBER)
    assert monthly.reconciled
    assert monthly.payable.opening == Decimal("3400.00")  # August's fees, not yet remitted
    assert monthly.payable.closing == Decimal("2500.00")
