"""Issuing, reversing and reissuing fiscal electronic receipts (财政电子票据).

Numbers: a batch locks its series row, takes a block of contiguous numbers and inserts the
receipts in the same transaction; a rollback returns the block, so the series never has a
gap or a duplicate (the unique constraint on series and number is the last guard).

Idempotency: the payments of a batch are locked first and those already receipted are left
out, so one payment gets one receipt however often or concurrently it is issued.

Canonical data (what is signed), version 1: the UTF-8 bytes of the canonical JSON
(``ipdesk.core.canonical``: keys sorted, no spaces, non-ASCII as is, amounts as strings with
two decimals) of::

    {"version": 1, "name": "中央非税收入统一票据（电子）", "kind": "blue" | "red",
     "code": "11010126", "number": "0000000001", "check_code": "589d80",
     "issued_at": "2026-05-06T02:03:04.000005Z", "issue_date": "2026-05-06",
     "payer": {"name", "type": 1 (individual) | 2 (unit), "id_code"},
     "items": [{"code", "name", "unit", "quantity", "standard", "amount", "remark"}],
     "total": "1234.00", "total_in_words": "壹仟贰佰叁拾肆元整",
     "payee": "国家知识产权局", "issuer": "…", "checker": "…",
     "remark": "申请号 2023101234567；缴费日 2026-05-06",
     "related": null | {"code", "number", "reason"}}

The signature is over exactly these bytes, which are stored as they were signed.
docs/receipt-format.md publishes this form, the XML data file and the signatures, with a
worked example that its test checks against this code byte for byte: update it (see that
test) whenever the canonical data changes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipdesk.accounts import policy
from ipdesk.accounts.models import User
from ipdesk.audit.services import EventSpec, record_events
from ipdesk.collection.models import EntryKind, PayerKind, Payment, PaymentLine, PaymentStatus
from ipdesk.core.canonical import canonical_bytes
from ipdesk.core.errors import Conflict, InvalidInput
from ipdesk.core.money import amount_in_words, money_str

from .models import Receipt, ReceiptKind, ReceiptSeries, ReversalReason
from .signals import receipts_issued
from .signing import Signer, keyring

RECEIPT_NAME = "中央非税收入统一票据（电子）"
CHECK_CODE_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
RECEIPTED_ENTRIES = (EntryKind.PAYMENT, EntryKind.REPLACEMENT)
MAX_NUMBER = 9_999_999_999


def new_check_code() -> str:
    """Six lowercase letters or digits from the operating system's CSPRNG, unbiased."""
    # One read of random bytes; those of 252 and above are dropped so that every character
    # of the 36 is equally likely (252 = 7 × 36). 16 bytes almost always hold 6 usable ones.
    while True:
        usable = [b % 36 for b in secrets.token_bytes(16) if b < 252]
        if len(usable) >= 6:
            return "".join(CHECK_CODE_ALPHABET[i] for i in usable[:6])


# --- series ------------------------------------------------------------------------------


def series_code(year: int, kind: int) -> str:
    return (
        f"{settings.IPDESK_RECEIPT_REGION}{settings.IPDESK_RECEIPT_CLASS}{kind:02d}{year % 100:02d}"
    )


def open_series(*, year: int, node: str) -> ReceiptSeries:
    """The active series of this node and year, opened with the next free code if none is."""
    existing = ReceiptSeries.objects.filter(year=year, node=node, active=True).first()
    if existing:
        return existing
    used = {
        int(code[4:6])
        for code in ReceiptSeries.objects.filter(year=year).values_list("code", flat=True)
    }
    for kind in range(1, 100):
        if kind in used:
            continue
        try:
            with transaction.atomic():
                series = ReceiptSeries.objects.create(
                    code=series_code(year, kind), year=year, node=node
                )
        except IntegrityError:
            # Another process opened this code, or this node's series, at the same moment.
            existing = ReceiptSeries.objects.filter(year=year, node=node, active=True).first()
            if existing:
                return existing
            continue
        record_events(
            [
                EventSpec(
                    action="receipts.series.opened",
                    object_type="receipts.receiptseries",
                    object_id=str(series.pk),
                    payload={"code": series.code, "year": year, "node": node},
                )
            ]
        )
        return series
    raise Conflict(_("No receipt code is left for %(year)s.") % {"year": year})


def _take_numbers(series: ReceiptSeries, count: int) -> tuple[ReceiptSeries, int]:
    """Lock the series row and take ``count`` contiguous numbers; returns the first."""
    locked = ReceiptSeries.objects.select_for_update().get(pk=series.pk)
    first = locked.next_number
    if first + count - 1 > MAX_NUMBER:
        raise Conflict(_("Receipt series %(code)s is exhausted.") % {"code": locked.code})
    ReceiptSeries.objects.filter(pk=locked.pk).update(next_number=first + count)
    return locked, first


# --- canonical data ----------------------------------------------------------------------


@dataclass(frozen=True)
class LineFacts:
    code: str
    name: str
    unit: str
    year: int | None
    quantity: int
    standard: Decimal
    amount: Decimal


@dataclass(frozen=True)
class PaymentFacts:
    """What a receipt says of its payment, read in bulk without building model objects."""

    pk: int
    payer_kind: str
    payer_id_code: str
    receipt_title: str
    application_number: str
    payment_date: dt.date
    total: Decimal
    issuer: str
    checker: str
    lines: list[LineFacts] = field(default_factory=list)


def _person(first: str | None, last: str | None, username: str | None) -> str:
    # The same name as User.get_full_name(), falling back to the login name.
    return f"{first or ''} {last or ''}".strip() or (username or "")


def payment_facts(ids: Iterable[int]) -> list[PaymentFacts]:
    """The facts of these payments, in id order; two queries whatever their number."""
    rows = (
        Payment.objects.filter(pk__in=list(ids))
        .order_by("pk")
        .values_list(
            "pk",
            "payer_kind",
            "payer_id_code",
            "receipt_title",
            "application_number",
            "payment_date",
            "total",
            "entered_by__first_name",
            "entered_by__last_name",
            "entered_by__username",
            "reviewed_by__first_name",
            "reviewed_by__last_name",
            "reviewed_by__username",
        )
    )
    facts = {
        row[0]: PaymentFacts(
            pk=row[0],
            payer_kind=row[1],
            payer_id_code=row[2],
            receipt_title=row[3],
            application_number=row[4],
            payment_date=row[5],
            total=row[6],
            issuer=_person(row[7], row[8], row[9]),
            checker=_person(row[10], row[11], row[12]),
        )
        for row in rows
    }
    lines = (
        PaymentLine.objects.filter(payment_id__in=list(facts))
        .order_by("pk")
        .values_list(
            "payment_id",
            "fee_type__code",
            "fee_type__name_zh",
            "fee_type__unit_zh",
            "year",
            "quantity",
            "standard",
            "amount",
        )
    )
    for payment_id, code, name, unit, year, quantity, standard, amount in lines:
        facts[payment_id].lines.append(
            LineFacts(code, name, unit, year, quantity, standard, amount)
        )
    return list(facts.values())


def _items(payment: PaymentFacts, sign: int) -> list[dict[str, Any]]:
    return [
        {
            "code": line.code,
            "name": line.name,
            "unit": line.unit,
            # A red receipt negates quantity and amount; the unit standard stays as it was.
            "quantity": line.quantity * sign,
            "standard": money_str(line.standard),
            "amount": money_str(line.amount * sign),
            "remark": f"第{line.year}年度" if line.year else "",
        }
        for line in payment.lines
    ]


@lru_cache(maxsize=4096)
def _in_words(total: Decimal) -> str:
    return amount_in_words(total)


def receipt_data(
    *,
    payment: PaymentFacts,
    series: ReceiptSeries,
    number: int,
    check_code: str,
    issued_at: dt.datetime,
    kind: str = ReceiptKind.BLUE,
    payer_name: str | None = None,
    related: Receipt | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """The canonical data of a receipt (see the module docstring for its form)."""
    sign = -1 if kind == ReceiptKind.RED else 1
    total = payment.total * sign
    return {
        "version": 1,
        "name": RECEIPT_NAME,
        "kind": str(kind),
        "code": series.code,
        "number": f"{number:010d}",
        "check_code": check_code,
        "issued_at": issued_at,
        "issue_date": timezone.localdate(issued_at),
        "payer": {
            "name": payer_name if payer_name is not None else payment.receipt_title,
            "type": 1 if payment.payer_kind == PayerKind.INDIVIDUAL else 2,
            "id_code": payment.payer_id_code,
        },
        "items": _items(payment, sign),
        "total": money_str(total),
        "total_in_words": _in_words(total),
        "payee": settings.IPDESK_RECEIPT_PAYEE,
        "issuer": payment.issuer,
        "checker": payment.checker,
        "remark": f"申请号 {payment.application_number}；缴费日 {payment.payment_date.isoformat()}",
        "related": (
            {"code": related.series.code, "number": related.number_text, "reason": reason}
            if related is not None
            else None
        ),
    }


def _build(
    *,
    signer: Signer,
    payment: PaymentFacts,
    series: ReceiptSeries,
    number: int,
    issued_at: dt.datetime,
    kind: str = ReceiptKind.BLUE,
    generation: int = 0,
    payer_name: str | None = None,
    original: Receipt | None = None,
    reason: str = "",
) -> Receipt:
    check_code = new_check_code()
    data = receipt_data(
        payment=payment,
        series=series,
        number=number,
        check_code=check_code,
        issued_at=issued_at,
        kind=kind,
        payer_name=payer_name,
        related=original,
        reason=reason,
    )
    body = canonical_bytes(data)
    return Receipt(
        series=series,
        number=number,
        check_code=check_code,
        kind=kind,
        payment_id=payment.pk,
        generation=generation,
        original=original,
        reason=reason,
        issued_at=issued_at,
        issue_date=data["issue_date"],
        total=Decimal(data["total"]),
        payer_name=data["payer"]["name"],
        payer_id_code=payment.payer_id_code,
        data=body.decode("utf-8"),
        signature=base64.b64encode(signer.sign(body)).decode("ascii"),
        key_id=signer.key_id,
        algorithm=signer.signature_algorithm,
    )


def _batch_event(receipts: Sequence[Receipt], action: str, actor: Any) -> EventSpec:
    """One audit link commits to every receipt of a batch through a digest of their data."""
    digest = hashlib.sha256()
    for receipt in receipts:
        digest.update(f"{receipt.series.code}{receipt.number_text}{receipt.signature}".encode())
        digest.update(hashlib.sha256(receipt.data.encode("utf-8")).digest())
    first, last = receipts[0], receipts[-1]
    return EventSpec(
        action=action,
        actor=actor,
        object_type="receipts.receiptseries",
        object_id=str(first.series.pk),
        payload={
            "code": first.series.code,
            "first": first.number_text,
            "last": last.number_text,
            "count": len(receipts),
            "payments": [r.payment_id for r in receipts],
            "sha256": digest.hexdigest(),
        },
    )


# --- issuing -----------------------------------------------------------------------------


def _announce(receipts: Sequence[Receipt]) -> None:
    """Tell listeners (delivery) about new receipts once their transaction has committed.

    The receipts of one call are contiguous numbers of one series: one query finds them.
    """
    series_id, first, last = receipts[0].series_id, receipts[0].number, receipts[-1].number

    def send() -> None:
        if not receipts_issued.has_listeners(Receipt):
            return
        ids = list(
            Receipt.objects.filter(series_id=series_id, number__range=(first, last))
            .order_by("number")
            .values_list("pk", flat=True)
        )
        receipts_issued.send(sender=Receipt, receipt_ids=ids)

    transaction.on_commit(send)


def _payments_for_issue(ids: Iterable[int]) -> list[PaymentFacts]:
    """Lock the payments and return those still owed a first receipt, in id order."""
    locked = list(
        Payment.objects.select_for_update()
        .filter(pk__in=list(ids))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    owed = (
        Payment.objects.filter(
            pk__in=locked, status=PaymentStatus.REVIEWED, entry_kind__in=RECEIPTED_ENTRIES
        )
        .exclude(receipts__kind=ReceiptKind.BLUE)
        .values_list("pk", flat=True)
    )
    return payment_facts(owed)


COPY_COLUMNS = (
    "series_id",
    "number",
    "check_code",
    "kind",
    "payment_id",
    "generation",
    "original_id",
    "reason",
    "issued_at",
    "issue_date",
    "total",
    "payer_name",
    "payer_id_code",
    "data",
    "signature",
    "key_id",
    "algorithm",
)


def _store(receipts: Sequence[Receipt]) -> None:
    """Insert a batch: COPY on PostgreSQL (several times faster than INSERT), else in bulk."""
    if connection.vendor != "postgresql":
        Receipt.objects.bulk_create(receipts, batch_size=1000)
        return
    table = Receipt._meta.db_table
    with connection.cursor() as cursor:
        statement = f"COPY {table} ({', '.join(COPY_COLUMNS)}) FROM STDIN"
        with cursor.cursor.copy(statement) as copy:
            for receipt in receipts:
                copy.write_row(tuple(getattr(receipt, column) for column in COPY_COLUMNS))


def issue_receipts(
    payment_ids: Iterable[int], *, actor: Any = None, node: str | None = None
) -> list[Receipt]:
    """Issue the first receipt of every reviewed payment among ``payment_ids`` lacking one.

    One transaction: numbers, signatures, rows and one audit link commit together or not at
    all. Returns the receipts issued now (already receipted payments are skipped).
    """
    signer = keyring().require_signer()
    with transaction.atomic():
        payments = _payments_for_issue(payment_ids)
        if not payments:
            return []
        issued_at = timezone.now()
        series = open_series(
            year=timezone.localdate(issued_at).year, node=node or settings.IPDESK_RECEIPT_NODE
        )
        series, first = _take_numbers(series, len(payments))
        receipts = [
            _build(
                signer=signer,
                payment=payment,
                series=series,
                number=first + offset,
                issued_at=issued_at,
            )
            for offset, payment in enumerate(payments)
        ]
        _store(receipts)
        record_events([_batch_event(receipts, "receipts.issued", actor)])
        _announce(receipts)
    return receipts


def issue_receipt(payment: Payment, *, actor: Any = None) -> Receipt:
    """The receipt of a payment, issued now if it has none: one payment, one receipt."""
    if payment.status != PaymentStatus.REVIEWED or payment.entry_kind not in RECEIPTED_ENTRIES:
        raise Conflict(_("Only a reviewed payment gets a receipt."), code="payment_not_reviewed")
    issue_receipts([payment.pk], actor=actor)
    return current_receipt(payment)


def current_receipt(payment: Payment) -> Receipt:
    """The payment's receipt in force: the blue receipt of its latest generation."""
    return (
        Receipt.objects.select_related("series")
        .filter(payment=payment, kind=ReceiptKind.BLUE)
        .latest("generation")
    )


# --- reversal (冲红) and reissue ------------------------------------------------------------


def _require_reverser(actor: User) -> None:
    policy.require(actor, policy.RECEIPT_REVERSAL)


def _issue_red(original: Receipt, *, reason: str, actor: Any, note: str) -> Receipt:
    if original.kind != ReceiptKind.BLUE:
        raise Conflict(_("A red receipt cannot be reversed."), code="receipt_is_red")
    if Receipt.objects.filter(original=original).exists():
        raise Conflict(_("This receipt has already been reversed."), code="receipt_reversed")
    signer = keyring().require_signer()
    issued_at = timezone.now()
    series = open_series(year=timezone.localdate(issued_at).year, node=settings.IPDESK_RECEIPT_NODE)
    series, number = _take_numbers(series, 1)
    [payment] = payment_facts([original.payment_id])
    red = _build(
        signer=signer,
        payment=payment,
        series=series,
        number=number,
        issued_at=issued_at,
        kind=ReceiptKind.RED,
        generation=original.generation,
        payer_name=original.payer_name,
        original=original,
        reason=reason,
    )
    try:
        with transaction.atomic():
            red.save(force_insert=True)
            _announce([red])
    except IntegrityError as exc:  # a concurrent reversal of the same receipt won
        raise Conflict(
            _("This receipt has already been reversed."), code="receipt_reversed"
        ) from exc
    event = _batch_event([red], "receipts.reversed", actor)
    record_events(
        [
            EventSpec(
                action=event.action,
                actor=actor,
                object_type="receipts.receipt",
                object_id=str(original.pk),
                payload={
                    **event.payload,
                    "original": str(original),
                    "reason": reason,
                    "note": note,
                },
            )
        ]
    )
    return red


def reverse_receipt(original: Receipt, *, reason: str, actor: User, note: str = "") -> Receipt:
    """Issue the red receipt of ``original``; the original itself is never changed."""
    _require_reverser(actor)
    if reason not in ReversalReason.values:
        raise InvalidInput(
            fields={
                "reason": _("One of: %(values)s.") % {"values": ", ".join(ReversalReason.values)}
            }
        )
    with transaction.atomic():
        return _issue_red(original, reason=reason, actor=actor, note=note.strip()[:300])


def correct_payer_title(original: Receipt, *, title: str, actor: User, note: str = "") -> Receipt:
    """A payer-title (抬头) correction: reverse the receipt, reissue it to the new title."""
    _require_reverser(actor)
    title = title.strip()
    if not title or len(title) > 200:
        raise InvalidInput(
            fields={"title": _("Give the corrected payer title, 1 to 200 characters.")}
        )
    if title == original.payer_name:
        raise InvalidInput(fields={"title": _("The corrected title is the same as the old one.")})
    with transaction.atomic():
        _issue_red(original, reason=ReversalReason.WRONG_TITLE, actor=actor, note=note)
        signer = keyring().require_signer()
        issued_at = timezone.now()
        series = open_series(
            year=timezone.localdate(issued_at).year, node=settings.IPDESK_RECEIPT_NODE
        )
        series, number = _take_numbers(series, 1)
        payment = original.payment
        generation = (
            Receipt.objects.filter(payment=payment).aggregate(g=Max("generation"))["g"] or 0
        ) + 1
        reissued = _build(
            signer=signer,
            payment=payment_facts([payment.pk])[0],
            series=series,
            number=number,
            issued_at=issued_at,
            generation=generation,
            payer_name=title,
        )
        reissued.save(force_insert=True)
        _announce([reissued])
        record_events([_batch_event([reissued], "receipts.reissued", actor)])
    return reissued


def reverse_for_correction(reversal_entry: Payment) -> Receipt | None:
    """A reviewed correction reverses the corrected payment's receipt, if it has one."""
    if reversal_entry.entry_kind != EntryKind.REVERSAL or reversal_entry.corrects_id is None:
        return None
    with transaction.atomic():
        original = (
            Receipt.objects.select_related("series")
            .filter(
                payment_id=reversal_entry.corrects_id, kind=ReceiptKind.BLUE, reversal__isnull=True
            )
            .order_by("-generation")
            .first()
        )
        if original is None:
            return None
        return _issue_red(
            original,
            reason=ReversalReason.OTHER,
            actor=reversal_entry.reviewed_by,
            note=f"correction {reversal_entry.pk}: {reversal_entry.correction_reason}",
        )
