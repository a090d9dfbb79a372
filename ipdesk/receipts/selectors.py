"""Reads of receipts: lookup, who may see one, verification (查验), what is left to issue."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from ipdesk.accounts import policy
from ipdesk.accounts.models import OrganisationKind
from ipdesk.collection.models import Payment, PaymentStatus
from ipdesk.core.money import money_str

from .documents import read_document
from .models import Receipt, ReceiptKind
from .services import RECEIPTED_ENTRIES
from .signing import Keyring, keyring

GENUINE = "genuine"
REVERSED = "reversed"
MISMATCH = "mismatch"
NOT_FOUND = "not_found"


def find_receipt(code: str, number: int) -> Receipt | None:
    """The receipt with its series, its original and its reversal, in one query."""
    return (
        Receipt.objects.select_related("series", "original__series", "reversal__series")
        .filter(series__code=code, number=number)
        .order_by()
        .first()
    )


def reversal_of(receipt: Receipt) -> Receipt | None:
    return Receipt.objects.select_related("series").filter(original=receipt).first()


def _fetched_reversal(receipt: Receipt) -> Receipt | None:
    """The reversal ``find_receipt`` loaded along with the receipt (no further query)."""
    try:
        return receipt.reversal
    except Receipt.DoesNotExist:
        return None


def readable_receipts(user: Any) -> QuerySet[Receipt]:
    """Receipts a user may read: fee-office staff all, office staff their office's, payers
    their own (by the phone or the organisation's credit code given at payment), and a
    payer of a patent agency also those of the payments the agency made."""
    receipts = Receipt.objects.select_related("series", "payment")
    if policy.is_payer(user):
        organisation = getattr(user, "organisation", None)
        mine = Q(pk__in=[])
        if getattr(user, "phone", ""):
            mine |= Q(payment__payer_phone=user.phone)
        if organisation is not None and organisation.credit_code:
            mine |= Q(payer_id_code=organisation.credit_code)
        if organisation is not None and organisation.kind == OrganisationKind.PATENT_AGENCY:
            mine |= Q(payment__agency=organisation)
        return receipts.filter(mine)
    return receipts.filter(policy.office_filter(user, "payment__office"))


def pending_payments() -> QuerySet[Payment]:
    """Reviewed payments still without a receipt, oldest first."""
    return (
        Payment.objects.filter(status=PaymentStatus.REVIEWED, entry_kind__in=RECEIPTED_ENTRIES)
        .exclude(receipts__kind=ReceiptKind.BLUE)
        .order_by("pk")
    )


def signed_bytes(receipt: Receipt) -> bytes:
    return receipt.data.encode("utf-8")


def signature_valid(receipt: Receipt, keys: Keyring | None = None) -> bool:
    try:
        signature = base64.b64decode(receipt.signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    return (keys or keyring()).verify(receipt.key_id, signed_bytes(receipt), signature)


@dataclass(frozen=True)
class Verification:
    """The answer to 查验: what it says and, only when every input matched, the details."""

    status: str
    receipt: Receipt | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, **self.details}


def verify_receipt(
    *,
    code: str,
    number: int,
    check_code: str,
    issue_date: dt.date | None = None,
    amount: Decimal | None = None,
) -> Verification:
    """Compare what the asker holds with the record; reveal nothing the asker did not give
    unless the code, number, 校验码, date and amount all match."""
    receipt = find_receipt(code, number)
    if receipt is None:
        return Verification(NOT_FOUND)
    matches = (
        receipt.check_code == check_code.strip().lower()
        and (issue_date is None or receipt.issue_date == issue_date)
        and (amount is None or receipt.total == amount)
    )
    if not matches or not signature_valid(receipt):
        return Verification(MISMATCH)
    red = _fetched_reversal(receipt)
    status = REVERSED if red is not None else GENUINE
    details: dict[str, Any] = {"code": code, "number": receipt.number_text, "kind": receipt.kind}
    if issue_date is not None and amount is not None:
        data = json.loads(receipt.data)
        details.update(
            {
                "issue_date": receipt.issue_date.isoformat(),
                "amount": money_str(receipt.total),
                "payer": data["payer"]["name"],
                "payee": data["payee"],
                "items": [{"name": i["name"], "amount": i["amount"]} for i in data["items"]],
            }
        )
        if red is not None:
            details["reversed_by"] = {"code": red.series.code, "number": red.number_text}
        if receipt.original is not None:
            details["reverses"] = {
                "code": receipt.original.series.code,
                "number": receipt.original.number_text,
            }
    return Verification(status, receipt, details)


def verify_document(content: bytes) -> Verification:
    """Verify an uploaded XML, PDF or OFD: its signature, then that the record agrees.

    Raises ``UnreadableDocument`` when the file carries no readable receipt data.
    """
    signed = read_document(content)
    if not keyring().verify(signed.key_id, signed.signed, signed.signature):
        return Verification(MISMATCH, details={"signature": "invalid"})
    data = signed.data
    try:
        receipt = find_receipt(str(data["code"]), int(data["number"]))
    except (KeyError, TypeError, ValueError):
        return Verification(MISMATCH, details={"signature": "valid"})
    if receipt is None:
        return Verification(NOT_FOUND, details={"signature": "valid"})
    if signed_bytes(receipt) != signed.signed:
        return Verification(MISMATCH, details={"signature": "valid"})
    # The file holds every input of 查验, so its holder may see what the receipt says.
    answer = verify_receipt(
        code=receipt.series.code,
        number=receipt.number,
        check_code=receipt.check_code,
        issue_date=receipt.issue_date,
        amount=receipt.total,
    )
    return Verification(answer.status, receipt, {**answer.details, "signature": "valid"})
