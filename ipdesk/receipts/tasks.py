"""Background jobs of the receipts app."""

from __future__ import annotations

from celery import shared_task

from ipdesk.collection.models import EntryKind, Payment

from . import services


@shared_task(name="ipdesk.receipts.receipt_reviewed_payment")
def receipt_reviewed_payment(payment_id: int) -> str:
    """Issue the receipt of a reviewed payment, or reverse one for a reviewed correction."""
    payment = Payment.objects.get(pk=payment_id)
    if payment.entry_kind == EntryKind.REVERSAL:
        red = services.reverse_for_correction(payment)
        return str(red) if red else ""
    return str(services.issue_receipt(payment))
