"""Background ZIP jobs of the payer portal (large selections of receipts)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ZipJobStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


class ZipJob(models.Model):
    """A ZIP of a payer's receipts built by a worker; the file lives under MEDIA_ROOT and is
    served only to its owner."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="zip_jobs"
    )
    filters = models.JSONField(_("filters"), default=dict)
    formats = models.CharField(_("formats"), max_length=20, default="pdf")
    status = models.CharField(
        _("status"), max_length=10, choices=ZipJobStatus.choices, default=ZipJobStatus.PENDING
    )
    total = models.PositiveIntegerField(_("receipts"), default=0)
    done = models.PositiveIntegerField(_("receipts written"), default=0)
    file = models.CharField(_("file"), max_length=200, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("ZIP job")
        verbose_name_plural = _("ZIP jobs")

    def __str__(self) -> str:
        return f"ZIP #{self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0
