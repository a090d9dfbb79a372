"""The Celery application; workers start with ``celery -A ipdesk worker``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipdesk.settings")

app = Celery("ipdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
