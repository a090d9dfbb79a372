from __future__ import annotations

from typing import Any

import pytest

from ipdesk.accounts.models import OrganisationKind, Role
from ipdesk.testing import organisation, user


@pytest.fixture
def clerk(db: None) -> Any:
    """A clerk of the fee office (收费处)."""
    organisation(OrganisationKind.FEE_OFFICE, "CNIPA", name="收费处")
    return user(Role.FEE_CLERK, "clerk")
