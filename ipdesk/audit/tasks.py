"""Background jobs of the audit log."""

from __future__ import annotations

from celery import shared_task

from .checkpoints import write_checkpoint


@shared_task(name="ipdesk.audit.checkpoint", autoretry_for=(OSError,), max_retries=3)
def checkpoint() -> str:
    """Sign the chain's head and append it to the checkpoint directory (hourly, by beat)."""
    mark = write_checkpoint("scheduled")
    return f"#{mark.sequence} {mark.hash}"
