from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ipdesk.accounts.sms import MemorySmsBackend


@pytest.fixture(autouse=True)
def sms_outbox(settings: Any) -> Iterator[list[Any]]:
    """Texts go to memory: read them from the returned list."""
    settings.IPDESK_SMS_BACKEND = "ipdesk.accounts.sms.MemorySmsBackend"
    MemorySmsBackend.outbox.clear()
    yield MemorySmsBackend.outbox
    MemorySmsBackend.outbox.clear()
