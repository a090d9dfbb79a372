"""Delivery follows issuing: new receipts are mailed and pushed in the background."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from ipdesk.receipts.signals import receipts_issued

from .tasks import plan_deliveries

log = logging.getLogger(__name__)


@receiver(receipts_issued, dispatch_uid="ipdesk.delivery.deliver_on_issue")
def deliver_on_issue(sender: Any, receipt_ids: list[int], **kwargs: Any) -> None:
    # The receipts are committed; a failure here (a lost broker) must not fail the issuing.
    try:
        plan_deliveries.delay(list(receipt_ids))
    except Exception:
        log.exception("deliveries of %s receipts not planned", len(receipt_ids))
