from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from ipdesk.accounts.models import OrganisationKind
from ipdesk.collection import services
from ipdesk.collection.models import Volume, VolumeKind
from ipdesk.testing import booking, organisation

__all__ = ["booking"]


@pytest.fixture
def fee_office(db: None) -> Any:
    return organisation(OrganisationKind.FEE_OFFICE, "CNIPA", name="收费处")


@pytest.fixture
def counter_volume(office: Any, collector: Any) -> Volume:
    return services.open_volume(
        office=office, kind=VolumeKind.COUNTER, day=timezone.localdate(), actor=collector
    )
