"""ipdesk: fees, e-receipts, settlement and public services for an IP office."""

from .celery import app as celery_app

__all__ = ["celery_app"]
