"""Text messages (SMS): a small pluggable backend chosen by ``IPDESK_SMS_BACKEND``.

The default console backend only logs the message (the embedded set-up has no SMS gateway);
production points the setting at a class that talks to its gateway; tests use
``MemorySmsBackend`` and read ``MemorySmsBackend.outbox``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger("ipdesk.sms")


@dataclass(frozen=True)
class Sms:
    phone: str
    text: str


class BaseSmsBackend:
    def send(self, message: Sms) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    """Writes each message to the log instead of sending it."""

    def send(self, message: Sms) -> None:
        log.info("SMS to %s: %s", message.phone, message.text)


class MemorySmsBackend(BaseSmsBackend):
    """Keeps every message in ``outbox`` (for tests)."""

    outbox: ClassVar[list[Sms]] = []

    def send(self, message: Sms) -> None:
        self.outbox.append(message)


def backend() -> BaseSmsBackend:
    cls = import_string(settings.IPDESK_SMS_BACKEND)
    instance = cls()
    if not isinstance(instance, BaseSmsBackend):
        raise TypeError(f"IPDESK_SMS_BACKEND: {settings.IPDESK_SMS_BACKEND} is no SMS backend")
    return instance


def send_sms(phone: str, text: str) -> None:
    backend().send(Sms(phone=phone, text=text))
