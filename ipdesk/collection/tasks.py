"""Background jobs of fee collection."""

from __future__ import annotations

from pathlib import Path

from celery import shared_task
from django.conf import settings

from .backup import create_backup


@shared_task(
    name="ipdesk.collection.daily_backup",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=3,
)
def daily_backup() -> str:
    return str(create_backup(Path(settings.IPDESK_BACKUP_DIR)).manifest)
