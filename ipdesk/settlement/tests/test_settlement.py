"""Monthly settlement: statements, disputes, remittances, penalties and close-month."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone

from ipdesk.accounts.models import OrganisationKind, Role, User
from ipdesk.audit.models import AuditEvent
from ipdesk.collection import services as collection_services
from ipdesk.collection.models import Payment
from ipdesk.core.errors import Conflict, InvalidInput, NotAllowed
from ipdesk.settlement import selectors, services
from ipdesk.settlement.models import MonthlyStatement, Remittance, StatementStatus
from ipdesk.testing import bulk_reviewed_payments, organisation, user


@contextmanager
def on(day: dt.date) -> Iterator[None]:
    """The clock stands at 10:00 (Beijing) on ``day``."""
    moment = timezone.make_aware(dt.datetime(day.year, day.month, day.day, 10, 0))
    with mock.patch.object(timezone, "now", lambda: moment):
        yield


def staff(code: str) -> Any:
    office = organisation(OrganisationKind.AGENCY_OFFICE, code)
    existing = User.objects.filter(username=f"rev-{code}").first()
    return existing or user(Role.REVIEWER, f"rev-{code}", org=office)


def september_bookings() -> None:
    """Three offices, reviewed entries in September 2025 and one booked in October."""
    with on(dt.date(2025, 9, 10)):
        bulk_reviewed_payments(3, office_code="BJ")
        bulk_reviewed_payments(2, office_code="SH")
    with on(dt.date(2025, 9, 30)):
        bulk_reviewed_payments(5, office_code="GZ")
        bulk_reviewed_payments(1, office_code="BJ")
    with on(dt.date(2025, 10, 9)):
        bulk_reviewed_payments(4, office_code="BJ")  # October: not in September's statement


def confirmed_statement(clerk: Any, code: str = "BJ") -> MonthlyStatement:
    september_bookings()
    office = organisation(OrganisationKind.AGENCY_OFFICE, code)
    with on(dt.date(2025, 10, 9)):
        statement = services.issue_statement(office, "2025-09", clerk)
        return services.confirm_statement(statement, actor=staff(code))


def test_statement_totals_equal_reviewed_entries_to_the_fen(clerk: Any) -> None:
    september_bookings()
    bj = organisation(OrganisationKind.AGENCY_OFFICE, "BJ")
    first = Payment.objects.filter(office=bj).order_by("pk").first()
    assert first is not None
    # An approved refund of September counts against BJ's amount due.
    with on(dt.date(2025, 9, 20)):
        refund = collection_services.request_refund(
            payment=first,
            amount="100.50",
            reason="overpayment",
            actor=user(Role.COLLECTOR, "bj-c2", org=bj),
        )
        collection_services.decide_refund(refund, approve=True, actor=staff("BJ"))
    with on(dt.date(2025, 10, 9)):
        statements = {
            code: services.issue_statement(
                organisation(OrganisationKind.AGENCY_OFFICE, code), "2025-09", clerk
            )
            for code in ("BJ", "SH", "GZ")
        }
    for code, statement in statements.items():
        expected = Payment.objects.filter(
            office__code=code,
            reviewed_at__isnull=False,
            booked_on__range=(dt.date(2025, 9, 1), dt.date(2025, 9, 30)),
        ).aggregate(s=Sum("total"))["s"]
        assert statement.fees_total == expected
        assert sum(Decimal(line["amount"]) for line in statement.fee_lines) == expected
        assert sum(Decimal(line["amount"]) for line in statement.channel_lines) == expected
    assert statements["BJ"].fees_total == Decimal("3600.00")  # 4 × 900, October left out
    assert statements["BJ"].refunds_total == Decimal("100.50")
    assert statements["BJ"].amount_due == Decimal("3499.50")
    assert statements["GZ"].amount_due == Decimal("4500.00")
    assert statements["SH"].entries == 2
    assert AuditEvent.objects.filter(action="settlement.statement.issued").count() == 3
    with on(dt.date(2025, 10, 9)), pytest.raises(Conflict):
        services.issue_statement(bj, "2025-09", clerk)


def test_month_not_finished_is_refused(clerk: Any) -> None:
    office = organisation(OrganisationKind.AGENCY_OFFICE, "BJ")
    with on(dt.date(2025, 9, 30)), pytest.raises(InvalidInput) as caught:
        services.issue_statement(office, "2025-09", clerk)
    assert "month" in caught.value.fields
    with pytest.raises(InvalidInput) as caught:
        services.issue_statement(office, "2025-13", clerk)
    assert "month" in caught.value.fields
    assert not MonthlyStatement.objects.exists()


def test_role_refusals_change_nothing(clerk: Any, office: Any, collector: Any) -> None:
    september_bookings()
    events = AuditEvent.objects.count()
    with on(dt.date(2025, 10, 9)):
        with pytest.raises(NotAllowed):
            services.issue_statement(office, "2025-09", collector)
        assert not MonthlyStatement.objects.exists()
        statement = services.issue_statement(office, "2025-09", clerk)
        staff("SH")  # created (and audited) before counting
        events = AuditEvent.objects.count()
        with pytest.raises(NotAllowed):
            services.confirm_statement(statement, actor=staff("SH"))
        with pytest.raises(NotAllowed):
            services.dispute_statement(statement, differences="x", actor=staff("SH"))
        with pytest.raises(NotAllowed):
            services.confirm_statement(statement, actor=clerk)  # the fee office cannot accept
        with pytest.raises(NotAllowed):
            services.issue_corrected_statement(statement, actor=collector)
    statement.refresh_from_db()
    assert statement.status == StatementStatus.ISSUED
    assert statement.accepted_on is None
    assert AuditEvent.objects.count() == events


def test_dispute_then_corrected_statement_due_after_national_day(clerk: Any) -> None:
    with on(dt.date(2025, 8, 12)):
        bulk_reviewed_payments(2, office_code="BJ")
    office = organisation(OrganisationKind.AGENCY_OFFICE, "BJ")
    with on(dt.date(2025, 9, 29)):
        statement = services.issue_statement(office, "2025-08", clerk)
    with on(dt.date(2025, 9, 30)):
        with pytest.raises(InvalidInput) as caught:
            services.dispute_statement(statement, differences="  ", actor=staff("BJ"))
        assert "differences" in caught.value.fields
        disputed = services.dispute_statement(
            statement, differences="缺少8月12日面交一笔", actor=staff("BJ")
        )
    # Oct 1-8 are the National Day holiday; Oct 9, 10 and the make-up Saturday Oct 11 count.
    assert disputed.correction_due_on == dt.date(2025, 10, 11)
    with on(dt.date(2025, 10, 20)):
        assert selectors.is_correction_overdue(disputed)
    with on(dt.date(2025, 8, 12)):
        bulk_reviewed_payments(1, office_code="BJ")  # the entry the office missed
    with on(dt.date(2025, 10, 10)):
        corrected = services.issue_corrected_statement(disputed, actor=clerk)
        with pytest.raises(Conflict):
            services.issue_corrected_statement(disputed, actor=clerk)
    disputed.refresh_from_db()
    assert disputed.status == StatementStatus.SUPERSEDED
    assert corrected.revision == 2
    assert corrected.supersedes_id == disputed.pk
    assert corrected.due_on == dt.date(2025, 10, 11)
    assert corrected.amount_due == Decimal("2700.00")
    assert not selectors.is_correction_overdue(corrected)
    assert selectors.current_statement(office, dt.date(2025, 8, 1)) == corrected
    with on(dt.date(2025, 10, 10)):
        accepted = services.confirm_statement(corrected, actor=staff("BJ"))
    assert accepted.remit_deadline == dt.date(2025, 10, 17)  # 7 calendar days


def test_dispute_in_a_year_the_calendar_does_not_know_is_refused(clerk: Any) -> None:
    office = organisation(OrganisationKind.AGENCY_OFFICE, "BJ")
    with on(dt.date(2025, 10, 9)):
        statement = services.issue_statement(office, "2025-09", clerk)
    with on(dt.date(2099, 1, 5)), pytest.raises(Exception) as caught:
        services.dispute_statement(statement, differences="wrong", actor=staff("BJ"))
    assert getattr(caught.value, "code", "") == "calendar_year_unknown"
    statement.refresh_from_db()
    assert statement.status == StatementStatus.ISSUED


def test_partial_then_late_completion_is_overdue_by_the_right_days(clerk: Any) -> None:
    statement = confirmed_statement(clerk)
    assert statement.remit_deadline == dt.date(2025, 10, 16)
    bj = staff("BJ")
    with on(dt.date(2025, 10, 15)):
        services.record_remittance(
            statement,
            bank_reference="B1",
            remitted_on=dt.date(2025, 10, 15),
            amount="1000",
            actor=bj,
        )
    statement.refresh_from_db()
    assert statement.status == StatementStatus.REMITTED_PARTIALLY
    assert selectors.outstanding(statement) == Decimal("2600.00")
    with on(dt.date(2025, 10, 18)):
        assert selectors.is_remittance_overdue(statement)
        assert selectors.delay_days(statement) == 2
    with on(dt.date(2025, 10, 20)):
        services.record_remittance(
            statement,
            bank_reference="B2",
            remitted_on=dt.date(2025, 10, 20),
            amount="2600.00",
            actor=bj,
        )
    statement.refresh_from_db()
    assert statement.status == StatementStatus.RECONCILED
    assert statement.completed_on == dt.date(2025, 10, 20)
    assert selectors.remitted_sum(statement) == statement.amount_due
    assert not selectors.is_remittance_overdue(statement, dt.date(2025, 12, 1))
    assert selectors.delay_days(statement, dt.date(2025, 12, 1)) == 4  # Oct 17, 18, 19, 20
    # Seed 004 fines lateness by the day only for fee data and receipts, not remittances
    # (the bulk-inserted days were never sent: those are the only fines).
    items = selectors.penalties(statement.office, 2025, dt.date(2025, 12, 1)).items
    assert {item.kind for item in items} == {"late_data_running"}
    with on(dt.date(2025, 10, 21)), pytest.raises(Conflict):
        services.record_remittance(
            statement, bank_reference="B3", remitted_on=dt.date(2025, 10, 21), amount="1", actor=bj
        )


def test_excess_remittance_is_flagged(clerk: Any) -> None:
    statement = confirmed_statement(clerk)
    with on(dt.date(2025, 10, 10)):
        remittance = services.record_remittance(
            statement,
            bank_reference="X1",
            remitted_on=dt.date(2025, 10, 10),
            amount="3650.25",
            actor=staff("BJ"),
        )
    statement.refresh_from_db()
    assert statement.status == StatementStatus.OVERPAID
    assert statement.excess_amount == Decimal("50.25")
    assert remittance.excess == Decimal("50.25")
    items = selectors.penalties(statement.office, 2025, dt.date(2025, 12, 1)).items
    assert {item.kind for item in items} == {"late_data_running"}


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("amount", {"amount": "0"}),
        ("amount", {"amount": "-5"}),
        ("amount", {"amount": "12.345"}),
        ("remitted_on", {"remitted_on": dt.date(2025, 10, 11)}),
        ("bank_reference", {"bank_reference": "  "}),
    ],
)
def test_bad_remittance_input_names_the_field(
    clerk: Any, field: str, changes: dict[str, Any]
) -> None:
    statement = confirmed_statement(clerk)
    events = AuditEvent.objects.count()
    data: dict[str, Any] = {
        "bank_reference": "R1",
        "remitted_on": dt.date(2025, 10, 10),
        "amount": "100",
    }
    data.update(changes)
    with on(dt.date(2025, 10, 10)), pytest.raises(InvalidInput) as caught:
        services.record_remittance(statement, actor=staff("BJ"), **data)
    assert field in caught.value.fields
    assert not Remittance.objects.exists()
    statement.refresh_from_db()
    assert statement.status == StatementStatus.CONFIRMED
    assert AuditEvent.objects.count() == events


def test_remittance_against_unconfirmed_statement_or_by_another_office(clerk: Any) -> None:
    september_bookings()
    office = organisation(OrganisationKind.AGENCY_OFFICE, "BJ")
    with on(dt.date(2025, 10, 9)):
        statement = services.issue_statement(office, "2025-09", clerk)
        kwargs: dict[str, Any] = {
            "bank_reference": "R",
            "remitted_on": dt.date(2025, 10, 9),
            "amount": "1",
        }
        with pytest.raises(Conflict):
            services.record_remittance(statement, actor=staff("BJ"), **kwargs)
        with pytest.raises(NotAllowed):
            services.record_remittance(statement, actor=staff("SH"), **kwargs)
    assert not Remittance.objects.exists()


def test_interest_declaration_and_deduction(clerk: Any) -> None:
    office = organisation(OrganisationKind.AGENCY_OFFICE, "BJ")
    with on(dt.date(2025, 10, 9)):
        with pytest.raises(InvalidInput) as caught:
            services.declare_interest(
                office,
                "2025-09",
                amount="12.34",
                explanation="",
                bank_reference="I1",
                remitted_on=dt.date(2025, 10, 9),
                actor=staff("BJ"),
            )
        assert "explanation" in caught.value.fields
        declaration = services.declare_interest(
            office,
            "2025-09",
            amount="12.34",
            explanation="活期存款利息",
            bank_reference="I1",
            remitted_on=dt.date(2025, 10, 9),
            actor=staff("BJ"),
        )
        assert declaration.amount == Decimal("12.34")
        with pytest.raises(NotAllowed):
            services.decide_deduction(
                office, 2025, reference="D1", base_amount="1000", reason="r", actor=staff("BJ")
            )
        decision = services.decide_deduction(
            office,
            2025,
            reference="国知收〔2025〕1号",
            base_amount="10000.05",
            reason="滞留",
            actor=clerk,
        )
    assert decision.amount == Decimal("2000.01")
    result = selectors.penalties(office, 2025, dt.date(2025, 12, 1))
    assert [item.kind for item in result.items] == ["deduction"]
    assert result.total == Decimal("2000.01")


def test_close_month_command_is_idempotent(clerk: Any, capsys: Any) -> None:
    september_bookings()
    with on(dt.date(2025, 10, 9)):
        call_command("settlement", "close-month", "2025-09", "--quiet")
        assert MonthlyStatement.objects.filter(month=dt.date(2025, 9, 1)).count() == 3
        out = capsys.readouterr().out
        assert "3 issued" in out
        call_command("settlement", "close-month", "2025-09", "--quiet")
        out = capsys.readouterr().out
        assert "already issued, skipped" in out and "0 issued, 3 already issued" in out
        assert MonthlyStatement.objects.count() == 3
        for bad in ("2025-13", "september", "2025-10"):
            with pytest.raises(CommandError, match="month"):
                call_command("settlement", "close-month", bad, "--quiet")
    assert MonthlyStatement.objects.count() == 3
