"""Background jobs of the payer portal."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="ipdesk.portal.build_zip")
def build_zip(job_id: int) -> str:
    return services.build_zip(job_id).status
