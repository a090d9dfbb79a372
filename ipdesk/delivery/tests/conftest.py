"""Real local servers for delivery tests: an SMTP server (aiosmtpd) and an HTTP webhook
receiver (http.server), both on 127.0.0.1 in threads of the test process."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import TestCase
from django.utils import timezone

from ipdesk.accounts.models import Role
from ipdesk.collection import services as collection
from ipdesk.collection.models import Channel, Payment, VolumeKind
from ipdesk.receipts.models import Receipt
from ipdesk.testing import PERSON_ID, application_number, user

PAYER_PHONE = "13800138000"
PAYER_EMAIL = "chen@example.com"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpHandler:
    """Records what it accepts; ``data_reply``/``rcpt_reply`` make it refuse instead."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)
    data_calls: int = 0
    data_reply: str = ""
    rcpt_reply: str = ""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_calls += 1
        if self.data_reply:
            return self.data_reply
        self.envelopes.append(envelope)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpHandler]:
    handler = SmtpHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    try:
        yield handler
    finally:
        controller.stop()


@dataclass
class Hook:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookServer:
    """Answers each POST with the next status in ``statuses`` (then 200) and records it."""

    def __init__(self) -> None:
        self.received: list[Hook] = []
        self.statuses: list[int] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                outer.received.append(Hook(self.path, dict(self.headers.items()), body))
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/ipdesk"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_server() -> Iterator[WebhookServer]:
    with WebhookServer() as server:
        yield server


@pytest.fixture
def payer(db: None) -> Any:
    return user(Role.PAYER, "chen", phone=PAYER_PHONE, full_name="陈发明")


def issue(
    collector: Any,
    reviewer: Any,
    *,
    count: int = 1,
    email: str = PAYER_EMAIL,
    phone: str = PAYER_PHONE,
    amount: str = "900.00",
) -> list[Receipt]:
    """Book payments with the payer's e-mail and phone, review them: receipts are issued
    after the commit, and with them everything delivery does (Celery runs eagerly)."""
    volume = collection.open_volume(
        office=collector.organisation,
        kind=VolumeKind.COUNTER,
        day=timezone.localdate(),
        actor=collector,
    )
    payments = []
    for i in range(count):
        data = collection.BookingData(
            channel=Channel.COUNTER,
            payer=collection.PayerData(
                name="陈发明", kind="individual", id_code=PERSON_ID, phone=phone, email=email
            ),
            application_number=application_number(serial=123456 + i),
            lines=[collection.LineData(fee_code="application", amount=amount)],
            dates=collection.ChannelDates(received_on=timezone.localdate()),
        )
        payments.append(collection.book_payment(volume=volume, data=data, actor=collector))
    collection.close_volume(volume, actor=collector)
    with TestCase.captureOnCommitCallbacks(execute=True):
        collection.review_volume(volume, actor=reviewer)
    return [
        Receipt.objects.select_related("series", "payment").get(payment=p, kind="blue")
        for p in Payment.objects.filter(pk__in=[p.pk for p in payments]).order_by("pk")
    ]
