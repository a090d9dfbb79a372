"""Receipts follow reviews: a reviewed payment is receipted in the background."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from ipdesk.collection.signals import payment_reviewed

from .tasks import receipt_reviewed_payment

log = logging.getLogger(__name__)


@receiver(payment_reviewed, dispatch_uid="ipdesk.receipts.issue_on_review")
def issue_on_review(sender: Any, payment_id: int, **kwargs: Any) -> None:
    # The review has committed; a failure here (no signing key, a lost broker) must not
    # undo or fail it. `ipdesk receipts issue-pending` receipts whatever was left behind.
    try:
        receipt_reviewed_payment.delay(payment_id)
    except Exception:
        log.exception("receipt for payment %s not issued now; issue-pending will", payment_id)
