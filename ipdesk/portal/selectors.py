"""Reads of the payer portal: a payer's receipts, filtered, in keyset pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from ipdesk.accounts import policy
from ipdesk.accounts.models import OrganisationKind
from ipdesk.collection.models import Payment, PaymentLine
from ipdesk.receipts.models import Receipt
from ipdesk.receipts.selectors import readable_receipts

from .forms import GENUINE, REVERSED
from .models import ZipJob

PAGE_SIZE = 20


def _filtered(receipts: QuerySet[Receipt], filters: Mapping[str, Any]) -> QuerySet[Receipt]:
    """``receipts`` narrowed by ``filters`` (as ``ReceiptFilterForm.filters`` gives them),
    newest first by id; ``reversed`` tells whether a red receipt cancels one."""
    if filters.get("date_from"):
        receipts = receipts.filter(issue_date__gte=dt.date.fromisoformat(filters["date_from"]))
    if filters.get("date_to"):
        receipts = receipts.filter(issue_date__lte=dt.date.fromisoformat(filters["date_to"]))
    if filters.get("application_number"):
        receipts = receipts.filter(payment__application_number=filters["application_number"])
    if filters.get("fee_code"):
        receipts = receipts.filter(
            Exists(
                PaymentLine.objects.filter(
                    payment=OuterRef("payment"), fee_type__code=filters["fee_code"]
                )
            )
        )
    if filters.get("amount"):
        receipts = receipts.filter(total=Decimal(filters["amount"]))
    if filters.get("kind"):
        receipts = receipts.filter(kind=filters["kind"])
    reversal = Receipt.objects.filter(original=OuterRef("pk"))
    receipts = receipts.annotate(reversed=Exists(reversal))
    if filters.get("status") == REVERSED:
        receipts = receipts.filter(reversed=True)
    elif filters.get("status") == GENUINE:
        receipts = receipts.filter(reversed=False)
    return receipts.order_by("-pk")


def my_receipts(user: Any, filters: Mapping[str, Any]) -> QuerySet[Receipt]:
    """The receipts ``user`` may read (``readable_receipts``) that match ``filters``."""
    return _filtered(readable_receipts(user), filters)


# Up to this many payments, a payer's receipts are found through the list of their payments
# (then sorted: a few thousand rows at most). Without it PostgreSQL walks all receipts newest
# first, looking for the rare ones of this payer, and that grows with the table.
PAYMENTS_LISTED = 2000


@dataclass(frozen=True)
class Scope:
    condition: Q
    listed: bool = False


def _by_payments(payments: QuerySet[Payment], joined: Q) -> Scope:
    listed = list(payments.order_by().values_list("pk", flat=True)[: PAYMENTS_LISTED + 1])
    if len(listed) <= PAYMENTS_LISTED:
        return Scope(Q(payment_id__in=listed), listed=True)
    # Many payments: then they are frequent enough for the newest-first walk to be short.
    return Scope(joined)


def _scopes(user: Any) -> list[Scope]:
    """Conditions whose union is what ``readable_receipts`` lets a payer read (phone given at
    payment, the enterprise's credit code, the agency's payments).

    A page's ids are found once per scope and merged: each query then follows one index
    instead of an OR across two tables, which PostgreSQL can only answer by scanning. The
    rows of the page are then read through ``readable_receipts`` again, so a scope can never
    show what the user may not read.
    """
    if not policy.is_payer(user):
        return [Scope(Q())]
    scopes: list[Scope] = []
    if getattr(user, "phone", ""):
        scopes.append(
            _by_payments(
                Payment.objects.filter(payer_phone=user.phone),
                Q(payment__payer_phone=user.phone),
            )
        )
    organisation = getattr(user, "organisation", None)
    if organisation is not None and organisation.credit_code:
        # The (payer_id_code, -id) index gives these newest first directly.
        scopes.append(Scope(Q(payer_id_code=organisation.credit_code)))
    if organisation is not None and organisation.kind == OrganisationKind.PATENT_AGENCY:
        scopes.append(
            _by_payments(
                Payment.objects.filter(agency=organisation), Q(payment__agency=organisation)
            )
        )
    return scopes or [Scope(Q(pk__in=[]))]


def _scoped(user: Any, scope: Scope, filters: Mapping[str, Any]) -> QuerySet[Receipt]:
    if not policy.is_payer(user):
        return my_receipts(user, filters)
    receipts = _filtered(Receipt.objects.filter(scope.condition), filters)
    if scope.listed:
        # Sort the few rows found by payment; "id + 0" keeps the planner off the id index.
        receipts = receipts.order_by((F("pk") + 0).desc())
    return receipts


@dataclass(frozen=True)
class Page:
    rows: list[Receipt]
    next_after: int | None


def receipt_page(
    user: Any, filters: Mapping[str, Any], *, after: int | None = None, size: int = PAGE_SIZE
) -> Page:
    """One keyset page: receipts with an id below ``after``, newest first (no OFFSET, no
    COUNT). The top ``size + 1`` of a union lie within the top ``size + 1`` of its parts."""
    found: set[int] = set()
    for scope in _scopes(user):
        receipts = _scoped(user, scope, filters)
        if after is not None:
            receipts = receipts.filter(pk__lt=after)
        # Ids first: sorting narrow rows is cheap; the wide ones are read for the page only.
        found.update(receipts.values_list("pk", flat=True)[: size + 1])
    ids = sorted(found, reverse=True)[: size + 1]
    more = len(ids) > size
    ids = ids[:size]
    rows = list(my_receipts(user, {}).filter(pk__in=ids)) if ids else []
    return Page(rows=rows, next_after=ids[-1] if more and ids else None)


def iterate_receipts(
    user: Any, filters: Mapping[str, Any], *, batch: int = 200
) -> Iterator[Receipt]:
    """Every matching receipt, newest first, fetched in keyset batches (flat memory on any
    database, no long-open cursor)."""
    after: int | None = None
    while True:
        page = receipt_page(user, filters, after=after, size=batch)
        yield from page.rows
        if page.next_after is None:
            return
        after = page.next_after


def selection_exceeds(user: Any, filters: Mapping[str, Any], limit: int) -> bool:
    """Whether more than ``limit`` receipts match, looking at no more than ``limit + 1`` of
    each scope's."""
    found: set[int] = set()
    for scope in _scopes(user):
        receipts = _scoped(user, scope, filters)
        found.update(receipts.values_list("pk", flat=True)[: limit + 1])
        if len(found) > limit:
            return True
    return False


def my_receipt(user: Any, code: str, number: str) -> Receipt | None:
    if not (len(code) == 8 and code.isdigit() and number.isdigit() and 0 < len(number) <= 10):
        return None
    return my_receipts(user, {}).filter(series__code=code, number=int(number)).first()


def receipt_exists(code: str, number: str) -> bool:
    if not (len(code) == 8 and code.isdigit() and number.isdigit() and 0 < len(number) <= 10):
        return False
    return Receipt.objects.filter(series__code=code, number=int(number)).exists()


def my_zip_jobs(user: Any) -> QuerySet[ZipJob]:
    return ZipJob.objects.filter(user=user)


def my_zip_job(user: Any, pk: int) -> ZipJob | None:
    return ZipJob.objects.filter(user=user, pk=pk).first()


def zip_job_exists(pk: int) -> bool:
    return ZipJob.objects.filter(pk=pk).exists()
