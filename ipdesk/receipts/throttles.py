"""Rate limits of receipts' public endpoints, shared by the API and the pages."""

from __future__ import annotations

from typing import Any

from rest_framework.throttling import ScopedRateThrottle


class VerifyThrottle(ScopedRateThrottle):
    """One limit for 查验 by API and by page: per client address, scope ``verify``."""

    @classmethod
    def allows(cls, request: Any) -> bool:
        view = type("VerifyPage", (), {"throttle_scope": "verify"})()
        return cls().allow_request(request, view)
