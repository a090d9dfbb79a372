"""Volumes, booking against the schedule, four-eyes review, corrections and refunds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from ipdesk.accounts.models import Role
from ipdesk.audit.selectors import verify_chain
from ipdesk.collection import selectors, services
from ipdesk.collection.models import (
    Channel,
    JournalLine,
    Payment,
    PaymentLine,
    PaymentStatus,
    Refund,
    RefundStatus,
    VolumeKind,
    VolumeStatus,
)
from ipdesk.core.errors import Conflict, InvalidInput, NotAllowed
from ipdesk.testing import application_number, user

from .conftest import booking

pytestmark = pytest.mark.django_db


def _snapshot(payment: Payment) -> tuple[Any, ...]:
    row = Payment.objects.filter(pk=payment.pk).values().get()
    row.pop("status")
    row.pop("reviewed_by_id")
    row.pop("reviewed_at")
    row.pop("review_note")
    lines = list(
        PaymentLine.objects.filter(payment=payment).values(
            "fee_type_id", "quantity", "amount", "tariff_amount"
        )
    )
    return tuple(sorted(row.items())), tuple(tuple(sorted(x.items())) for x in lines)


def _reviewed(volume: Any, collector: Any, reviewer: Any, **kwargs: Any) -> Payment:
    payment = services.book_payment(volume=volume, data=booking(**kwargs), actor=collector)
    services.close_volume(volume, actor=collector)
    return services.review_payment(payment, actor=reviewer)


def test_open_volume_is_found_again_and_numbered(office: Any, collector: Any) -> None:
    today = timezone.localdate()
    first = services.open_volume(office=office, kind=VolumeKind.BANK, day=today, actor=collector)
    assert (
        services.open_volume(office=office, kind=VolumeKind.BANK, day=today, actor=collector)
        == first
    )
    services.close_volume(first, actor=collector)
    second = services.open_volume(office=office, kind=VolumeKind.BANK, day=today, actor=collector)
    assert (first.number, second.number) == (1, 2)
    assert str(first) == f"BJ-{today:%Y%m%d}-bank-1"


def test_booking_prices_by_the_schedule(counter_volume: Any, collector: Any) -> None:
    payment = services.book_payment(volume=counter_volume, data=booking(), actor=collector)
    assert payment.total == Decimal("900.00")
    assert payment.payment_date_rule == "counter_day"
    assert payment.status == PaymentStatus.ENTERED
    line = payment.lines.get()
    assert (line.amount, line.tariff_amount, line.standard) == (Decimal("900.00"),) * 3


def test_amount_differing_from_schedule_is_refused(counter_volume: Any, collector: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.book_payment(volume=counter_volume, data=booking(amount="950.00"), actor=collector)
    assert "lines.0.amount" in caught.value.fields
    assert "900.00" in str(caught.value.fields["lines.0.amount"][0])
    assert not Payment.objects.exists()


def test_documented_override_needs_the_reviewers_explicit_approval(
    counter_volume: Any, collector: Any, reviewer: Any
) -> None:
    data = booking(amount="950.00")
    data = services.BookingData(
        channel=data.channel,
        payer=data.payer,
        application_number=data.application_number,
        lines=[
            services.LineData(
                fee_code="application", amount="950.00", override_reason="court order 12"
            )
        ],
        dates=data.dates,
    )
    payment = services.book_payment(volume=counter_volume, data=data, actor=collector)
    services.close_volume(counter_volume, actor=collector)
    with pytest.raises(Conflict):
        services.review_payment(payment, actor=reviewer)
    reviewed = services.review_payment(payment, actor=reviewer, approve_overrides=True)
    assert reviewed.status == PaymentStatus.REVIEWED
    assert reviewed.lines.get().override_by == reviewer


def test_database_refuses_an_undocumented_difference(counter_volume: Any, collector: Any) -> None:
    payment = services.book_payment(volume=counter_volume, data=booking(), actor=collector)
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentLine.objects.filter(payment=payment).update(amount=Decimal("1.00"))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"number": "202310123456.0"}, "application_number"),
        ({"fee": "bogus"}, "lines.0.fee_code"),
        ({"amount": "9.001"}, "lines.0.amount"),
        ({"channel": Channel.BANK, "remitted_on": dt.date(2025, 5, 1)}, "channel"),
    ],
)
def test_bad_bookings_change_nothing(
    counter_volume: Any, collector: Any, change: dict, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.book_payment(volume=counter_volume, data=booking(**change), actor=collector)
    assert field in caught.value.fields
    assert not Payment.objects.exists()


def test_bad_payer_is_refused(counter_volume: Any, collector: Any) -> None:
    data = booking()
    bad = services.BookingData(
        channel=data.channel,
        payer=services.PayerData(
            name="", kind="unit", id_code="91350100M000100Y44", phone="123", email="x@"
        ),
        application_number=data.application_number,
        lines=data.lines,
        dates=data.dates,
    )
    with pytest.raises(InvalidInput) as caught:
        services.book_payment(volume=counter_volume, data=bad, actor=collector)
    assert {"payer.name", "payer.id_code", "payer.phone", "payer.email"} <= set(caught.value.fields)


def test_closed_volume_takes_no_new_entries(counter_volume: Any, collector: Any) -> None:
    services.close_volume(counter_volume, actor=collector)
    with pytest.raises(Conflict):
        services.book_payment(volume=counter_volume, data=booking(), actor=collector)


def test_other_offices_staff_cannot_book(counter_volume: Any) -> None:
    from ipdesk.accounts.models import OrganisationKind
    from ipdesk.testing import organisation

    other = user(Role.COLLECTOR, "wang", org=organisation(OrganisationKind.AGENCY_OFFICE, "SH"))
    with pytest.raises(NotAllowed):
        services.book_payment(volume=counter_volume, data=booking(), actor=other)


def test_four_eyes_in_the_service(office: Any, counter_volume: Any) -> None:
    reviewer = user(Role.REVIEWER, "li", org=office)
    payment = services.book_payment(volume=counter_volume, data=booking(), actor=reviewer)
    services.close_volume(counter_volume, actor=reviewer)
    with pytest.raises(NotAllowed) as caught:
        services.review_payment(payment, actor=reviewer)
    assert caught.value.code == "four_eyes"
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.ENTERED


def test_four_eyes_in_the_database(counter_volume: Any, collector: Any) -> None:
    payment = services.book_payment(volume=counter_volume, data=booking(), actor=collector)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(
            reviewed_by=collector, reviewed_at=timezone.now()
        )


def test_collectors_cannot_review(counter_volume: Any, collector: Any, office: Any) -> None:
    other_collector = user(Role.COLLECTOR, "zhao", org=office)
    payment = services.book_payment(volume=counter_volume, data=booking(), actor=collector)
    services.close_volume(counter_volume, actor=collector)
    with pytest.raises(NotAllowed):
        services.review_payment(payment, actor=other_collector)


def test_review_needs_a_closed_volume(counter_volume: Any, collector: Any, reviewer: Any) -> None:
    payment = services.book_payment(volume=counter_volume, data=booking(), actor=collector)
    with pytest.raises(Conflict):
        services.review_payment(payment, actor=reviewer)


def test_reviewing_a_volume_reviews_its_entries_and_posts_the_ledger(
    counter_volume: Any, collector: Any, reviewer: Any, office: Any
) -> None:
    first = services.book_payment(volume=counter_volume, data=booking(), actor=collector)
    second = services.book_payment(
        volume=counter_volume, data=booking(fee="examination", amount="2500"), actor=collector
    )
    services.close_volume(counter_volume, actor=collector)
    volume = services.review_volume(counter_volume, actor=reviewer)
    assert volume.status == VolumeStatus.REVIEWED
    assert {p.status for p in Payment.objects.filter(pk__in=[first.pk, second.pk])} == {
        PaymentStatus.REVIEWED
    }
    assert selectors.fees_payable(office) == Decimal("3400.00")
    debit, credit = selectors.ledger_totals(office)
    assert debit == credit == Decimal("3400.00")


def test_sent_back_entry_is_reentered_not_edited(
    counter_volume: Any, collector: Any, reviewer: Any, office: Any
) -> None:
    wrong = services.book_payment(volume=counter_volume, data=booking(), actor=collector)
    before = _snapshot(wrong)
    services.close_volume(counter_volume, actor=collector)
    services.send_back(wrong, actor=reviewer, note="wrong application number")
    assert Volume_status(counter_volume) == VolumeStatus.REVIEWED
    later = services.open_volume(
        office=office, kind=VolumeKind.COUNTER, day=timezone.localdate(), actor=collector
    )
    replacement = services.reenter_payment(
        Payment.objects.get(pk=wrong.pk),
        volume=later,
        data=booking(number=application_number(serial=7)),
        actor=collector,
    )
    assert Payment.objects.get(pk=wrong.pk).status == PaymentStatus.VOID
    assert _snapshot(wrong) == before
    assert replacement.corrects_id == wrong.pk
    assert not selectors.reviewed_payments(office).filter(pk=wrong.pk).exists()


def Volume_status(volume: Any) -> str:
    volume.refresh_from_db()
    return str(volume.status)


def test_correction_reverses_and_replaces_leaving_the_original_untouched(
    counter_volume: Any, collector: Any, reviewer: Any, office: Any
) -> None:
    original = _reviewed(counter_volume, collector, reviewer)
    before = _snapshot(original)
    reversal, replacement = services.correct_payment(
        original,
        data=booking(number=application_number(serial=999)),
        reason="digits swapped",
        cause="office_error",
        actor=collector,
    )
    assert _snapshot(original) == before
    assert Payment.objects.get(pk=original.pk).status == PaymentStatus.CORRECTED
    assert reversal.total == -original.total and reversal.volume.kind == VolumeKind.CORRECTION
    assert replacement.payment_date == original.payment_date
    assert replacement.application_number == application_number(serial=999)
    correction_volume = reversal.volume
    services.close_volume(correction_volume, actor=collector)
    services.review_volume(correction_volume, actor=reviewer)
    assert selectors.fees_payable(office) == Decimal("900.00")
    assert selectors.office_error_corrections(office, timezone.localdate().year) == [
        original.application_number
    ]
    assert verify_chain().ok


def test_correction_needs_reason_and_cause(
    counter_volume: Any, collector: Any, reviewer: Any
) -> None:
    original = _reviewed(counter_volume, collector, reviewer)
    with pytest.raises(InvalidInput) as caught:
        services.correct_payment(
            original, data=booking(), reason="", cause="nobody", actor=collector
        )
    assert set(caught.value.fields) == {"reason", "cause"}
    assert Payment.objects.count() == 1


def test_refund_needs_a_second_person(
    counter_volume: Any, collector: Any, reviewer: Any, office: Any
) -> None:
    payment = _reviewed(counter_volume, collector, reviewer)
    before = _snapshot(payment)
    refund = services.request_refund(
        payment=payment, amount="900.00", reason="duplicate", actor=collector
    )
    with pytest.raises(NotAllowed):
        services.decide_refund(refund, approve=True, actor=collector)
    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.filter(pk=refund.pk).update(decided_by=collector)
    approved = services.decide_refund(refund, approve=True, actor=reviewer)
    assert approved.status == RefundStatus.APPROVED
    assert _snapshot(payment) == before
    assert selectors.fees_payable(office) == Decimal("0.00")
    with pytest.raises(InvalidInput):
        services.request_refund(payment=payment, amount="0.01", reason="duplicate", actor=collector)


def test_refund_cannot_exceed_what_is_left(
    counter_volume: Any, collector: Any, reviewer: Any
) -> None:
    payment = _reviewed(counter_volume, collector, reviewer)
    services.request_refund(payment=payment, amount="500", reason="overpayment", actor=collector)
    with pytest.raises(InvalidInput) as caught:
        services.request_refund(
            payment=payment, amount="400.01", reason="overpayment", actor=collector
        )
    assert "amount" in caught.value.fields


def test_returned_post_remittance_keeps_no_date(office: Any, collector: Any, reviewer: Any) -> None:
    today = timezone.localdate()
    refund = services.return_remittance(
        office=office,
        channel=Channel.POST,
        payer_name="王某",
        amount="900",
        remitted_on=today,
        reference="汇票 123",
        actor=collector,
    )
    services.decide_refund(refund, approve=True, actor=reviewer)
    debit, credit = selectors.ledger_totals(office)
    assert debit == credit
    # Resent with the refund slip completed: the second postmark is the payment date.
    volume = services.open_volume(office=office, kind=VolumeKind.POST, day=today, actor=collector)
    payment = services.book_payment(
        volume=volume,
        data=booking(channel=Channel.POST, postmarked_on=today, second_postmarked_on=today),
        actor=collector,
    )
    assert payment.payment_date_rule == "second_postmark"


def test_late_booking_is_flagged_and_counted(office: Any, collector: Any) -> None:
    today = timezone.localdate()
    volume = services.open_volume(office=office, kind=VolumeKind.BANK, day=today, actor=collector)
    long_ago = today - dt.timedelta(days=20)
    payment = services.book_payment(
        volume=volume,
        data=booking(channel=Channel.BANK, remitted_on=long_ago, received_on=long_ago),
        actor=collector,
    )
    assert payment.booked_late is True
    assert selectors.late_bookings(office, today.year) == 1


def test_ledger_lines_are_one_sided() -> None:
    assert JournalLine._meta.constraints


def test_an_earlier_days_volume_takes_no_entries(office: Any, collector: Any) -> None:
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    old = services.open_volume(
        office=office, kind=VolumeKind.COUNTER, day=yesterday, actor=collector
    )
    with pytest.raises(Conflict) as caught:
        services.book_payment(volume=old, data=booking(), actor=collector)
    assert caught.value.code == "volume_not_today"
    assert not Payment.objects.exists()
