"""E-mail delivery against a real local SMTP server."""

from __future__ import annotations

import re
import smtplib
from typing import Any

from django.test import TestCase

from ipdesk.accounts.models import Role
from ipdesk.audit.models import AuditEvent
from ipdesk.delivery import selectors, services
from ipdesk.delivery.models import Channel, Delivery, Purpose, Status
from ipdesk.receipts import documents
from ipdesk.receipts import services as receipts
from ipdesk.receipts.models import ReversalReason
from ipdesk.testing import api_client, user

from .conftest import PAYER_EMAIL, issue

PICKUP_RE = re.compile(r"取票码\)?[:：]\s*([0-9A-Z]{8})|Pickup code \(取票码\): ([0-9A-Z]{8})")


def pickup_code_in(text: str) -> str:
    match = re.search(r"pickup code ([0-9A-Z]{8})", text)
    assert match, text
    return match.group(1)


def attachments(message: Any) -> dict[str, tuple[str, bytes]]:
    return {
        part.get_filename(): (part.get_content_type(), part.get_payload(decode=True))
        for part in message.iter_attachments()
    }


def test_issued_receipt_is_mailed_with_pdf_ofd_and_pickup_code(
    smtp: Any, collector: Any, reviewer: Any
) -> None:
    [receipt] = issue(collector, reviewer)

    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    code, number = receipt.series.code, receipt.number_text
    assert smtp.envelopes[0].rcpt_tos == [PAYER_EMAIL]
    assert f"{code}-{number}" in message["Subject"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert code in body and number in body
    assert "900.00" in body
    assert "陈发明" in body
    pickup = pickup_code_in(body)
    assert f"取票码：{pickup}" in body  # the Chinese part carries it too
    files = attachments(message)
    assert set(files) == {f"{code}-{number}.pdf", f"{code}-{number}.ofd"}
    assert files[f"{code}-{number}.pdf"] == ("application/pdf", documents.render(receipt, "pdf"))
    assert files[f"{code}-{number}.ofd"][1] == documents.render(receipt, "ofd")

    delivery = Delivery.objects.get(receipt=receipt)
    assert (delivery.channel, delivery.purpose, delivery.status) == (
        Channel.EMAIL,
        Purpose.ISSUED,
        Status.SENT,
    )
    assert delivery.attempts == 1 and delivery.sent_at is not None
    assert delivery.target == PAYER_EMAIL
    # Only a hash of the code is stored, and the code opens this receipt.
    assert pickup not in delivery.pickup_hash
    assert selectors.pickup_receipt(pickup, receipt.number) == receipt
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"delivery.queued", "delivery.attempt", "delivery.sent"} <= actions


def test_no_email_no_delivery(smtp: Any, collector: Any, reviewer: Any) -> None:
    issue(collector, reviewer, email="")
    assert smtp.messages == []
    assert not Delivery.objects.exists()


def test_red_receipt_mails_a_reversal_notice(smtp: Any, collector: Any, reviewer: Any) -> None:
    [blue] = issue(collector, reviewer)
    clerk = user(Role.FEE_CLERK, "wang")
    with TestCase.captureOnCommitCallbacks(execute=True):
        red = receipts.reverse_receipt(blue, reason=ReversalReason.REFUND, actor=clerk)

    assert len(smtp.messages) == 2
    notice = smtp.messages[1]
    original = f"{blue.series.code}-{blue.number_text}"
    assert original in notice["Subject"]
    body = notice.get_body(preferencelist=("plain",)).get_content()
    assert original in body
    assert red.number_text in body and "-900.00" in body
    assert f"{red.series.code}-{red.number_text}.pdf" in attachments(notice)
    delivery = Delivery.objects.get(receipt=red)
    assert (delivery.purpose, delivery.status) == (Purpose.REVERSED, Status.SENT)


def test_smtp_failure_is_retried_then_logged_failed(
    smtp: Any, collector: Any, reviewer: Any
) -> None:
    smtp.data_reply = "451 4.3.0 Try again later"
    [receipt] = issue(collector, reviewer)

    assert smtp.data_calls == 6  # the first attempt and five retries
    delivery = Delivery.objects.get(receipt=receipt)
    assert delivery.status == Status.FAILED
    assert delivery.attempts == 6
    assert "451" in delivery.last_error and "SMTPDataError" in delivery.last_error
    assert AuditEvent.objects.filter(action="delivery.failed").count() == 1


def test_smtp_server_down_is_retried_then_failed(
    settings: Any, collector: Any, reviewer: Any
) -> None:
    from .conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    [receipt] = issue(collector, reviewer)
    delivery = Delivery.objects.get(receipt=receipt)
    assert (delivery.status, delivery.attempts) == (Status.FAILED, 6)
    assert "ConnectionRefusedError" in delivery.last_error


def test_refused_recipient_is_bounced_without_retry(
    smtp: Any, collector: Any, reviewer: Any
) -> None:
    smtp.rcpt_reply = "550 5.1.1 No such user"
    [receipt] = issue(collector, reviewer)
    delivery = Delivery.objects.get(receipt=receipt)
    assert (delivery.status, delivery.attempts) == (Status.BOUNCED, 1)
    assert "550" in delivery.last_error
    assert smtp.data_calls == 0


def test_a_retry_after_success_sends_nothing_more(smtp: Any, collector: Any, reviewer: Any) -> None:
    [receipt] = issue(collector, reviewer)
    delivery = Delivery.objects.get(receipt=receipt)
    assert services.attempt_email(delivery.pk) == Status.SENT
    assert len(smtp.messages) == 1


# --- send to e-mail ----------------------------------------------------------------------


def send_url(receipt: Any) -> str:
    return f"/api/v1/receipts/{receipt.series.code}/{receipt.number_text}/send"


def test_payer_sends_own_receipt_to_any_address(
    smtp: Any, payer: Any, collector: Any, reviewer: Any
) -> None:
    [receipt] = issue(collector, reviewer, email="")
    client = api_client(payer)
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(
            send_url(receipt), {"email": "  boss@company.example "}, format="json"
        )
    assert response.status_code == 202, response.content
    assert response.json()["email"] == "boss@company.example"
    [message] = smtp.messages
    assert smtp.envelopes[0].rcpt_tos == ["boss@company.example"]
    assert receipt.number_text in message["Subject"]
    delivery = Delivery.objects.get(pk=response.json()["delivery"])
    assert (delivery.purpose, delivery.status, delivery.requested_by) == (
        Purpose.REQUESTED,
        Status.SENT,
        payer,
    )
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert selectors.pickup_receipt(pickup_code_in(body), receipt.number) == receipt


def test_send_bad_address_is_400_naming_email_and_sends_nothing(
    smtp: Any, payer: Any, collector: Any, reviewer: Any
) -> None:
    [receipt] = issue(collector, reviewer, email="")
    client = api_client(payer)
    for bad in [{"email": "not-an-address"}, {"email": ""}, {}, {"email": "a@" + "b" * 300}]:
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = client.post(send_url(receipt), bad, format="json")
        assert response.status_code == 400, (bad, response.content)
        assert "email" in response.json()["error"]["fields"]
    assert smtp.messages == []
    assert not Delivery.objects.exists()


def test_send_service_refuses_bad_address() -> None:
    import pytest

    from ipdesk.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        services.send_receipt_to(None, email="x@", actor=None)  # type: ignore[arg-type]
    assert "email" in refused.value.fields


def test_send_someone_elses_receipt_is_404(
    smtp: Any, collector: Any, reviewer: Any, db: None
) -> None:
    [receipt] = issue(collector, reviewer, email="")
    stranger = user(Role.PAYER, "stranger", phone="13900139000")
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api_client(stranger).post(
            send_url(receipt), {"email": "x@example.com"}, format="json"
        )
    assert response.status_code == 404
    assert (
        api_client(stranger).post("/api/v1/receipts/123/abc/send", {}, format="json").status_code
        == 404
    )
    assert smtp.messages == [] and not Delivery.objects.exists()


def test_send_is_rate_limited_per_user(
    smtp: Any, settings: Any, payer: Any, collector: Any, reviewer: Any
) -> None:
    settings.IPDESK_SEND_RATE = "3/hour"
    [receipt] = issue(collector, reviewer, email="")
    client = api_client(payer)
    answers = []
    for i in range(4):
        with TestCase.captureOnCommitCallbacks(execute=True):
            answers.append(
                client.post(
                    send_url(receipt), {"email": f"a{i}@example.com"}, format="json"
                ).status_code
            )
    assert answers == [202, 202, 202, 429]
    assert len(smtp.messages) == 3
    # Another user has a budget of their own.
    office_reader = reviewer
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api_client(office_reader).post(
            send_url(receipt), {"email": "b@example.com"}, format="json"
        )
    assert response.status_code == 202


def test_celery_task_itself_retries_then_logs_failed(
    smtp: Any, payer: Any, collector: Any, reviewer: Any
) -> None:
    """The task as a worker runs it: autoretry on SMTP errors, backoff, five retries."""
    from ipdesk.celery import app
    from ipdesk.delivery import tasks

    assert tasks.send_email.autoretry_for == (smtplib.SMTPException, OSError)
    assert tasks.send_email.retry_backoff is True
    assert tasks.send_email.max_retries == 5
    [receipt] = issue(collector, reviewer, email="")
    with TestCase.captureOnCommitCallbacks(execute=False):  # queued, not started
        delivery = services.send_receipt_to(receipt, email="x@example.com", actor=payer)
    smtp.data_reply = "421 4.7.0 Too busy"
    # Eager retries run through apply() only when eager errors do not propagate.
    propagates = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    try:
        result = tasks.send_email.apply(args=(delivery.pk,))
    finally:
        app.conf.task_eager_propagates = propagates
    assert result.get() == "failed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, smtp.data_calls) == (Status.FAILED, 6, 6)


def test_big_batches_are_planned_in_chunks(
    smtp: Any, monkeypatch: Any, collector: Any, reviewer: Any
) -> None:
    monkeypatch.setattr(services, "PLAN_CHUNK", 2)
    issued = issue(collector, reviewer, count=5)
    assert Delivery.objects.filter(status=Status.SENT).count() == 5
    subjects = sorted(m["Subject"] for m in smtp.messages)
    assert len(subjects) == 5
    for subject, receipt in zip(subjects, issued, strict=True):
        assert f"电子票据 {receipt.series.code}-{receipt.number_text}" in subject
        assert subject.endswith(f"Electronic receipt {receipt.series.code}-{receipt.number_text}")


def test_a_broken_rendering_is_logged_failed_not_retried(
    smtp: Any, monkeypatch: Any, collector: Any, reviewer: Any
) -> None:
    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise ValueError("no font")

    monkeypatch.setattr(documents, "render", broken)
    [receipt] = issue(collector, reviewer)
    delivery = Delivery.objects.get(receipt=receipt)
    assert (delivery.status, delivery.attempts) == (Status.FAILED, 0)
    assert "no font" in delivery.last_error
    assert smtp.messages == []
