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

from .certificates import INVALID, DocumentCertificates, DocumentCheck, document_certificates
from .datafile import SignedReceipt
from .documents import read_document
from .formats import format_of
from .models import Receipt, ReceiptKind
from .services import RECEIPTED_ENTRIES
from .signing import Keyring, keyring

GENUINE = "genuine"
REVERSED = "reversed"
MISMATCH = "mismatch"
NOT_FOUND = "not_found"

# Which part of an uploaded file failed verification.
DATA_SIGNATURE = "data_signature"
RECORD = "record"
FAILED_PARTS = (DATA_SIGNATURE, "pdf_signature", "ofd_signature", RECORD)


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
    return (keys or keyring()).verify(
        receipt.key_id, signed_bytes(receipt), signature, receipt.algorithm
    )


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


@dataclass(frozen=True)
class FileCheck:
    """What a receipt file's signatures say, before it is compared with the record."""

    signed: SignedReceipt
    format: str
    data_valid: bool
    document: DocumentCheck | None  # the PDF's or OFD's own signature; None for XML

    @property
    def failed(self) -> str | None:
        if not self.data_valid:
            return DATA_SIGNATURE
        if self.document is not None and self.document.status == INVALID:
            return f"{self.format}_signature"
        return None

    def as_dict(self) -> dict[str, Any]:
        document = self.document
        return {
            "format": self.format,
            "signature": "valid" if self.data_valid else "invalid",
            "document_signature": None
            if document is None
            else {
                "status": document.status,
                "reason": document.reason,
                "signer": document.signer,
                "certificate": document.certificate,
                "signed_at": document.signed_at.isoformat() if document.signed_at else None,
            },
            "failed": self.failed,
        }


def check_file(
    content: bytes, keys: Keyring | None = None, certificates: DocumentCertificates | None = None
) -> FileCheck:
    """Check a receipt file's signatures: the data signature with ``keys``, and a PDF's or an
    OFD's own signature against the issuing unit's ``certificates`` (both default to this
    installation's; a verifier offline passes the published ones). No database is read.

    Raises ``UnreadableDocument`` when the file carries no readable receipt data.
    """
    signed = read_document(content)
    fmt = format_of(content)
    assert fmt is not None  # read_document found it
    keys = keys or keyring()
    data_valid = keys.verify(signed.key_id, signed.signed, signed.signature, signed.algorithm)
    document = None
    if fmt.check is not None and fmt.signed_by is not None:
        trusted = (certificates or document_certificates()).of_kind(fmt.signed_by)
        document = fmt.check(content, trusted)
    return FileCheck(signed, fmt.code, data_valid, document)


def verify_document(content: bytes) -> Verification:
    """Verify an uploaded XML, PDF or OFD: its signatures (the signed data's, and a PDF's or
    OFD's own), then that the record agrees. ``failed`` in the answer names the first part
    that did not hold: ``data_signature``, ``pdf_signature``, ``ofd_signature`` or ``record``.

    Raises ``UnreadableDocument`` when the file carries no readable receipt data.
    """
    check = check_file(content)
    checked = check.as_dict()
    if check.failed is not None:
        return Verification(MISMATCH, details=checked)
    data = check.signed.data
    try:
        receipt = find_receipt(str(data["code"]), int(data["number"]))
    except (KeyError, TypeError, ValueError):
        return Verification(MISMATCH, details={**checked, "failed": RECORD})
    if receipt is None:
        return Verification(NOT_FOUND, details={**checked, "failed": RECORD})
    if signed_bytes(receipt) != check.signed.signed:
        return Verification(MISMATCH, details={**checked, "failed": RECORD})
    # The file holds every input of 查验, so its holder may see what the receipt says.
    answer = verify_receipt(
        code=receipt.series.code,
        number=receipt.number,
        check_code=receipt.check_code,
        issue_date=receipt.issue_date,
        amount=receipt.total,
    )
    failed = RECORD if answer.status == MISMATCH else None
    return Verification(answer.status, receipt, {**answer.details, **checked, "failed": failed})
