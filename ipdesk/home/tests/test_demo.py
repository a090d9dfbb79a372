from __future__ import annotations

import pytest
from django.core.management import call_command

from ipdesk.accounts.models import Organisation, OrganisationKind, Role, User
from ipdesk.audit.selectors import verify_chain

pytestmark = pytest.mark.django_db


def test_demo_is_idempotent_and_covers_every_role(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("demo")
    first = capsys.readouterr().out
    counts = (Organisation.objects.count(), User.objects.count())
    call_command("demo")
    assert (Organisation.objects.count(), User.objects.count()) == counts
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    offices = set(
        Organisation.objects.filter(kind=OrganisationKind.AGENCY_OFFICE).values_list(
            "name", flat=True
        )
    )
    assert offices == {"北京代办处", "上海代办处", "广州代办处"}
    assert Organisation.objects.filter(kind=OrganisationKind.FEE_OFFICE).count() == 1
    assert "collector" in first and "ipdesk-demo-2026" in first
    assert User.objects.get(username="reviewer").check_password("ipdesk-demo-2026")
    assert verify_chain().ok


def test_demo_books_a_reviewed_day_whose_receipts_the_payers_can_read() -> None:
    from django.test import TestCase

    from ipdesk.collection.models import Payment, PaymentStatus
    from ipdesk.home.demo import load_demo, load_demo_payments
    from ipdesk.receipts.models import Receipt
    from ipdesk.receipts.selectors import readable_receipts

    load_demo()
    with TestCase.captureOnCommitCallbacks(execute=True):
        booked = load_demo_payments()
    assert booked == Payment.objects.filter(status=PaymentStatus.REVIEWED).count() == 4
    assert Receipt.objects.count() == 4
    assert readable_receipts(User.objects.get(username="payer")).count() == 2
    assert readable_receipts(User.objects.get(username="agency")).count() == 2
    assert readable_receipts(User.objects.get(username="enterprise")).count() == 2
    assert load_demo_payments() == 0
    assert verify_chain().ok
