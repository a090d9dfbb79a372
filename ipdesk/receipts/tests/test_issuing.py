"""Issuing: one payment, one receipt; contiguous numbers; signed canonical data."""

from __future__ import annotations

import base64
import json
from collections import Counter
from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from ipdesk.audit.models import AuditEvent
from ipdesk.audit.selectors import verify_chain
from ipdesk.collection.models import Payment, PaymentStatus
from ipdesk.core.errors import Conflict
from ipdesk.receipts import selectors, services
from ipdesk.receipts.models import Receipt, ReceiptKind, ReceiptSeries
from ipdesk.receipts.signing import keyring

from .conftest import book_and_review


def test_review_issues_one_receipt_with_the_reference_fields(reviewed_payment: Payment) -> None:
    receipt = Receipt.objects.get(payment=reviewed_payment)
    data = json.loads(receipt.data)
    assert receipt.kind == ReceiptKind.BLUE and receipt.number == 1
    assert len(receipt.series.code) == 8 and receipt.series.code.endswith(
        f"{receipt.issue_date.year % 100:02d}"
    )
    assert len(receipt.check_code) == 6 and receipt.check_code.isalnum()
    assert receipt.check_code == receipt.check_code.lower()
    assert data["payer"] == {"name": "陈发明", "type": 1, "id_code": reviewed_payment.payer_id_code}
    assert data["items"] == [
        {
            "code": "application",
            "name": "申请费",
            "unit": data["items"][0]["unit"],
            "quantity": 1,
            "standard": "900.00",
            "amount": "900.00",
            "remark": "",
        }
    ]
    assert data["total"] == "900.00" and data["total_in_words"] == "玖佰元整"
    assert data["payee"] == "国家知识产权局"
    assert data["issuer"] == "张三" and data["checker"] == "李四"
    assert reviewed_payment.application_number in data["remark"]
    assert reviewed_payment.payment_date.isoformat() in data["remark"]
    assert data["number"] == "0000000001" and data["related"] is None


def test_issue_is_idempotent(reviewed_payment: Payment) -> None:
    first = services.issue_receipt(reviewed_payment)
    again = services.issue_receipt(reviewed_payment)
    assert first.pk == again.pk
    assert services.issue_receipts([reviewed_payment.pk]) == []
    assert Receipt.objects.filter(payment=reviewed_payment).count() == 1
    assert ReceiptSeries.objects.get().next_number == 2


def test_unreviewed_payment_gets_no_receipt(collector: Any, reviewer: Any) -> None:
    payment = book_and_review(collector, reviewer)[0]
    entered = Payment.objects.filter(status=PaymentStatus.ENTERED).first()
    assert entered is None
    unreviewed = Payment(pk=payment.pk + 1000, status=PaymentStatus.ENTERED, entry_kind="payment")
    with pytest.raises(Conflict):
        services.issue_receipt(unreviewed)


def test_batch_numbers_are_contiguous_and_audited_once(collector: Any, reviewer: Any) -> None:
    payments = book_and_review(collector, reviewer, count=5)
    numbers = list(Receipt.objects.order_by("number").values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4, 5]
    assert {r.payment_id for r in Receipt.objects.all()} == {p.pk for p in payments}
    events = AuditEvent.objects.filter(action="receipts.issued")
    assert events.count() == 5  # reviewed one by one here: one link per issuing transaction
    assert verify_chain().ok


def test_rollback_returns_the_numbers(collector: Any, reviewer: Any) -> None:
    payments = book_and_review(collector, reviewer, count=2)
    series = ReceiptSeries.objects.get()
    with pytest.raises(RuntimeError), transaction.atomic():
        services._take_numbers(series, 10)
        raise RuntimeError("crash mid-batch")
    series.refresh_from_db()
    assert series.next_number == 3
    more = book_and_review(collector, reviewer, count=1)
    assert Receipt.objects.get(payment=more[0]).number == 3
    assert len(payments) == 2


def test_signature_verifies_and_one_changed_byte_fails(reviewed_payment: Payment) -> None:
    receipt = Receipt.objects.get(payment=reviewed_payment)
    assert selectors.signature_valid(receipt)
    body = receipt.data.encode()
    signature = base64.b64decode(receipt.signature)
    assert keyring().verify(receipt.key_id, body, signature)
    for position in (0, len(body) // 2, len(body) - 1):
        changed = bytearray(body)
        changed[position] ^= 0x01
        assert not keyring().verify(receipt.key_id, bytes(changed), signature)
    assert not keyring().verify("ed25519-0000000000000000", body, signature)


def test_receipts_are_append_only_in_the_database(reviewed_payment: Payment) -> None:
    receipt = Receipt.objects.get(payment=reviewed_payment)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE receipts_receipt SET total = 1 WHERE id = %s", [receipt.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM receipts_receipt WHERE id = %s", [receipt.pk])
    receipt.refresh_from_db()
    assert receipt.total == 900


def test_duplicate_number_is_refused_by_the_database(reviewed_payment: Payment) -> None:
    receipt = Receipt.objects.get(payment=reviewed_payment)
    clone = Receipt.objects.get(pk=receipt.pk)
    clone.pk = None
    clone.generation = 5
    with pytest.raises(IntegrityError), transaction.atomic():
        clone.save(force_insert=True)


def test_check_codes_are_six_of_36_characters_and_vary() -> None:
    codes = [services.new_check_code() for _ in range(3000)]
    assert all(len(c) == 6 and set(c) <= set(services.CHECK_CODE_ALPHABET) for c in codes)
    # 3,000 draws from 36**6 codes repeat one about 0.2 % of the time (the birthday bound), so
    # demanding none made the test fail by chance; two or more repeats (p ~ 2e-6) mean the
    # draw is not uniform.
    assert len(codes) - len(set(codes)) <= 1
    seen = Counter("".join(codes))
    assert set(seen) == set(services.CHECK_CODE_ALPHABET)


def test_correction_reverses_the_receipt_and_receipts_the_replacement(
    reviewed_payment: Payment, collector: Any, reviewer: Any
) -> None:
    from django.test import TestCase

    from ipdesk.collection import services as collection
    from ipdesk.collection.tests.conftest import booking
    from ipdesk.testing import application_number

    original = Receipt.objects.get(payment=reviewed_payment)
    reversal, replacement = collection.correct_payment(
        reviewed_payment,
        data=booking(number=application_number(serial=999)),
        reason="digits swapped",
        cause="office_error",
        actor=collector,
    )
    collection.close_volume(reversal.volume, actor=collector)
    with TestCase.captureOnCommitCallbacks(execute=True):
        collection.review_volume(reversal.volume, actor=reviewer)
    red = Receipt.objects.get(kind=ReceiptKind.RED)
    assert red.original == original and red.total == -original.total
    new = services.current_receipt(replacement)
    assert json.loads(new.data)["remark"].startswith(f"申请号 {application_number(serial=999)}")
    assert sorted(Receipt.objects.values_list("number", flat=True)) == [1, 2, 3]
    assert (
        selectors.verify_receipt(
            code=original.series.code, number=original.number, check_code=original.check_code
        ).status
        == "reversed"
    )


def test_online_payment_is_receipted_at_once(db: None) -> None:
    from django.test import TestCase

    from ipdesk.accounts.models import OrganisationKind, Role
    from ipdesk.collection.tests.test_api import body
    from ipdesk.testing import api_client, organisation, user

    gateway = user(
        Role.COLLECTOR, "gateway", org=organisation(OrganisationKind.FEE_OFFICE, "CNIPA")
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api_client(gateway).post(
            "/api/v1/payments", body(), format="json", HTTP_IDEMPOTENCY_KEY="online-1"
        )
    assert response.status_code == 201
    receipt = services.current_receipt(Payment.objects.get(pk=response.json()["id"]))
    data = json.loads(receipt.data)
    assert data["payer"]["type"] == 2 and data["total"] == "3400.00"
    assert [item["name"] for item in data["items"]] == ["申请费", "实质审查费"]
    assert data["checker"] == ""


def test_new_receipts_are_announced_after_commit(collector: Any, reviewer: Any) -> None:
    from ipdesk.receipts.signals import receipts_issued

    heard: list[list[int]] = []

    def listener(sender: Any, receipt_ids: list[int], **kwargs: Any) -> None:
        heard.append(receipt_ids)

    receipts_issued.connect(listener, dispatch_uid="test-listener")
    try:
        book_and_review(collector, reviewer, count=2)
    finally:
        receipts_issued.disconnect(dispatch_uid="test-listener")
    assert heard == [[r.pk] for r in Receipt.objects.order_by("number")]
