"""Background jobs of delivery: plan deliveries for new receipts, send each one.

Each sending task retries with exponential backoff; when the last retry fails the delivery
is logged as failed (never silently dropped).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from typing import Any

from celery import shared_task

from . import services

log = logging.getLogger(__name__)

MAX_RETRIES = 5
RETRY_ON: dict[str, tuple[type[Exception], ...]] = {
    "email": (smtplib.SMTPException, OSError),
    "webhook": (services.RetryableError, OSError),
}
ATTEMPTS: dict[str, Callable[[int], str]] = {
    "email": services.attempt_email,
    "webhook": services.attempt_webhook,
}


def attempt(channel: str, delivery_id: int, *, last: bool) -> str:
    """One attempt; a transient failure raises unless it was the last allowed one, which
    logs the delivery as failed."""
    try:
        return ATTEMPTS[channel](delivery_id)
    except RETRY_ON[channel] as exc:
        if last:
            services.mark_failed(delivery_id, error=f"{type(exc).__name__}: {exc}")
            return "failed"
        raise
    except Exception as exc:  # a bug or a broken receipt: retrying will not help
        log.exception("delivery %s failed", delivery_id)
        services.mark_failed(delivery_id, error=f"{type(exc).__name__}: {exc}")
        return "failed"


@shared_task(name="ipdesk.delivery.plan_deliveries")
def plan_deliveries(receipt_ids: list[int]) -> int:
    return len(services.plan_deliveries(receipt_ids))


@shared_task(
    bind=True,
    name="ipdesk.delivery.send_email",
    autoretry_for=RETRY_ON["email"],
    retry_backoff=True,
    retry_backoff_max=3600,
    max_retries=MAX_RETRIES,
)
def send_email(self: Any, delivery_id: int) -> str:
    return attempt("email", delivery_id, last=self.request.retries >= self.max_retries)


@shared_task(
    bind=True,
    name="ipdesk.delivery.send_webhook",
    autoretry_for=RETRY_ON["webhook"],
    retry_backoff=True,
    retry_backoff_max=3600,
    max_retries=MAX_RETRIES,
)
def send_webhook(self: Any, delivery_id: int) -> str:
    return attempt("webhook", delivery_id, last=self.request.retries >= self.max_retries)


def dispatch(channel: str, delivery_id: int) -> None:
    """Start sending one delivery; never raises (the delivery log tells what happened).

    With a broker the task is queued and Celery retries it with backoff. Without one (the
    embedded default, eager mode) it runs here and now, retries included but without the
    waits: Celery's eager mode would only raise the first retry when eager errors propagate.
    """
    task = send_email if channel == "email" else send_webhook
    try:
        if not task.app.conf.task_always_eager:
            task.delay(delivery_id)
            return
        for retries in range(MAX_RETRIES + 1):
            try:
                attempt(channel, delivery_id, last=retries == MAX_RETRIES)
                return
            except RETRY_ON[channel]:
                continue
    except Exception:
        log.exception("delivery %s: sending failed", delivery_id)
