from __future__ import annotations

from typing import Any

import pytest
from django.test import TestCase
from django.utils import timezone

from ipdesk.accounts.models import OrganisationKind, Role
from ipdesk.collection import services as collection
from ipdesk.collection.models import Payment, VolumeKind
from ipdesk.collection.tests.conftest import booking
from ipdesk.testing import organisation, user


@pytest.fixture
def clerk(db: None) -> Any:
    fee_office = organisation(OrganisationKind.FEE_OFFICE, "CNIPA", name="收费处")
    return user(Role.FEE_CLERK, "wang", org=fee_office)


def book_and_review(collector: Any, reviewer: Any, count: int = 1, **kwargs: Any) -> list[Payment]:
    """Book ``count`` counter payments in one volume and review it (which issues receipts)."""
    volume = collection.open_volume(
        office=collector.organisation,
        kind=VolumeKind.COUNTER,
        day=timezone.localdate(),
        actor=collector,
    )
    payments = [
        collection.book_payment(volume=volume, data=booking(**kwargs), actor=collector)
        for _ in range(count)
    ]
    collection.close_volume(volume, actor=collector)
    # The test runs inside a transaction; run what the review leaves for after its commit.
    with TestCase.captureOnCommitCallbacks(execute=True):
        collection.review_volume(volume, actor=reviewer)
    return [Payment.objects.get(pk=p.pk) for p in payments]


@pytest.fixture
def reviewed_payment(collector: Any, reviewer: Any) -> Payment:
    return book_and_review(collector, reviewer)[0]
