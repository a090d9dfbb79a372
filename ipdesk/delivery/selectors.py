"""Reads of the delivery app: pickup, wallet apps, bindings, what a wallet may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from ipdesk.accounts.models import User
from ipdesk.core.money import money_str
from ipdesk.receipts.models import Receipt

from . import codes
from .models import Delivery, WalletBinding, WalletClient


def pickup_receipt(code: str, number: int) -> Receipt | None:
    """The receipt an e-mailed pickup code opens, if the number is that receipt's."""
    code = codes.normalise(code)
    if not codes.well_formed(code):
        return None
    delivery = (
        Delivery.objects.select_related("receipt__series", "receipt__payment")
        .filter(pickup_hash=codes.code_hash(codes.PICKUP, code), receipt__number=number)
        .first()
    )
    return delivery.receipt if delivery else None


def wallet_of(user: Any) -> WalletClient | None:
    if not (user and user.is_authenticated):
        return None
    return WalletClient.objects.filter(user=user, is_active=True).first()


def active_bindings(payer: User) -> QuerySet[WalletBinding]:
    return (
        WalletBinding.objects.filter(payer=payer, revoked_at__isnull=True)
        .select_related("wallet")
        .order_by("-created_at", "-pk")
    )


def binding_of(payer: User, binding_id: int) -> WalletBinding | None:
    return active_bindings(payer).filter(pk=binding_id).first()


def wallet_bound_to(wallet: WalletClient, phone: str) -> bool:
    return WalletBinding.objects.filter(
        wallet=wallet, revoked_at__isnull=True, payer__phone=phone, payer__is_active=True
    ).exists()


def wallet_receipts(wallet: WalletClient, phone: str | None = None) -> QuerySet[Receipt]:
    """Receipts a wallet may see: those paid with the phone of a payer bound to it."""
    bound_phones = (
        WalletBinding.objects.filter(wallet=wallet, revoked_at__isnull=True, payer__is_active=True)
        .exclude(payer__phone="")
        .values("payer__phone")
    )
    receipts = Receipt.objects.select_related("series", "payment").filter(
        payment__payer_phone__in=bound_phones
    )
    if phone is not None:
        receipts = receipts.filter(payment__payer_phone=phone)
    return receipts.annotate(
        is_reversed=Exists(Receipt.objects.filter(original=OuterRef("pk")))
    ).order_by("pk")


def receipt_item(receipt: Receipt) -> dict[str, Any]:
    """A receipt as a wallet sees it in lists and webhooks."""
    reversed_ = getattr(receipt, "is_reversed", None)
    if reversed_ is None:
        reversed_ = Receipt.objects.filter(original=receipt).exists()
    return {
        "id": receipt.pk,
        "code": receipt.series.code,
        "number": receipt.number_text,
        "kind": receipt.kind,
        "date": receipt.issue_date.isoformat(),
        "total": money_str(receipt.total),
        "payer": receipt.payer_name,
        "status": "reversed" if reversed_ else "valid",
    }


def deliveries_of(receipt: Receipt) -> QuerySet[Delivery]:
    return Delivery.objects.filter(receipt=receipt).order_by("pk")
