"""``payment_reviewed`` is sent where a payment becomes reviewed, once, after the commit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import timezone

from ipdesk.accounts.models import Role
from ipdesk.collection import services
from ipdesk.collection.models import Payment, VolumeKind
from ipdesk.collection.services import ledger
from ipdesk.collection.signals import payment_reviewed
from ipdesk.testing import user

from .conftest import booking

pytestmark = pytest.mark.django_db


@pytest.fixture
def announced() -> Iterator[list[int]]:
    """The payment ids ``payment_reviewed`` was sent for, in order."""
    received: list[int] = []

    def receive(sender: Any, payment_id: int, **kwargs: Any) -> None:
        received.append(payment_id)

    payment_reviewed.connect(receive, dispatch_uid="test_signals.announced")
    yield received
    payment_reviewed.disconnect(dispatch_uid="test_signals.announced")


def _run(callbacks: list[Callable[[], Any]]) -> None:
    for callback in callbacks:
        callback()


def test_review_announces_the_payment_after_it_commits(
    counter_volume: Any,
    collector: Any,
    reviewer: Any,
    announced: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        payment = services.book_payment(volume=counter_volume, data=booking(), actor=collector)
        services.close_volume(counter_volume, actor=collector)
    _run(callbacks)
    assert announced == []  # booked and closed, not reviewed: nothing to announce

    with django_capture_on_commit_callbacks() as callbacks:
        services.review_payment(payment, actor=reviewer)
        assert announced == []  # never before the review has committed
    _run(callbacks)
    assert announced == [payment.pk]


def test_an_online_payment_is_announced_when_booked_verified(
    fee_office: Any,
    announced: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    gateway = user(Role.COLLECTOR, "gateway", fee_office)
    volume = services.open_volume(
        office=fee_office, kind=VolumeKind.ONLINE, day=timezone.localdate(), actor=gateway
    )
    with django_capture_on_commit_callbacks() as callbacks:
        payment = services.book_payment(
            volume=volume, data=booking(channel="online"), actor=gateway, reviewed=True
        )
    _run(callbacks)
    assert announced == [payment.pk]


def test_posting_to_the_ledger_announces_nothing(
    counter_volume: Any,
    collector: Any,
    reviewer: Any,
    announced: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    payment = services.book_payment(volume=counter_volume, data=booking(), actor=collector)
    with django_capture_on_commit_callbacks() as callbacks:
        ledger.post_payment(Payment.objects.get(pk=payment.pk))
    _run(callbacks)
    assert announced == []
