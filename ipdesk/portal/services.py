"""Writes of the payer portal: background ZIP jobs."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ipdesk.audit.services import record_event

from .bundle import stream_bundle
from .models import ZipJob, ZipJobStatus
from .selectors import iterate_receipts, my_receipts

log = logging.getLogger("ipdesk.portal")

ZIP_DIR = "portal/zips"


def start_zip_job(user: Any, filters: Mapping[str, Any], formats: Sequence[str]) -> ZipJob:
    """Queue a ZIP of the user's receipts matching ``filters``; a worker builds it."""
    from .tasks import build_zip

    with transaction.atomic():
        job = ZipJob.objects.create(user=user, filters=dict(filters), formats=",".join(formats))
        record_event(
            "portal.zip.requested",
            actor=user,
            obj=job,
            payload={"filters": dict(filters), "formats": list(formats)},
        )
        transaction.on_commit(lambda: build_zip.delay(job.pk))
    return job


def _progress(job: ZipJob, done: int) -> None:
    ZipJob.objects.filter(pk=job.pk).update(done=done)


def build_zip(job_id: int) -> ZipJob:
    """Build the job's ZIP under MEDIA_ROOT, recording progress as it goes."""
    job = ZipJob.objects.select_related("user").get(pk=job_id)
    if job.status not in (ZipJobStatus.PENDING, ZipJobStatus.FAILED):
        return job
    user = job.user
    # One count per job (in the background), never one per page.
    total = my_receipts(user, job.filters).count()
    ZipJob.objects.filter(pk=job.pk).update(status=ZipJobStatus.RUNNING, total=total, done=0)
    relative = f"{ZIP_DIR}/{user.pk}/{job.pk}-{secrets.token_hex(8)}.zip"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    formats = [f for f in job.formats.split(",") if f] or ["pdf"]
    try:
        with partial.open("wb") as out:
            for chunk in stream_bundle(
                iterate_receipts(user, job.filters),
                formats,
                progress=lambda done: _progress(job, done),
            ):
                out.write(chunk)
        partial.replace(target)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        log.exception("ZIP job %s failed", job.pk)
        with transaction.atomic():
            ZipJob.objects.filter(pk=job.pk).update(
                status=ZipJobStatus.FAILED, error=str(exc)[:300], finished_at=timezone.now()
            )
            record_event("portal.zip.failed", actor=user, obj=job, payload={"error": str(exc)})
        raise
    with transaction.atomic():
        ZipJob.objects.filter(pk=job.pk).update(
            status=ZipJobStatus.DONE, file=relative, finished_at=timezone.now()
        )
        record_event(
            "portal.zip.built",
            actor=user,
            obj=job,
            payload={"receipts": total, "bytes": target.stat().st_size},
        )
    job.refresh_from_db()
    return job
