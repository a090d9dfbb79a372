"""Rate limits of delivery, shared by the API and the pages; each rate is a setting."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class _SettingRateThrottle(SimpleRateThrottle):
    """A throttle whose rate is read from a setting when the request comes."""

    setting = ""

    def get_rate(self) -> str:
        return str(getattr(settings, self.setting))

    def allow_request(self, request: Any, view: Any) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class SendThrottle(_SettingRateThrottle):
    """Send-to-e-mail: per user (``IPDESK_SEND_RATE``)."""

    scope = "receipt-send"
    setting = "IPDESK_SEND_RATE"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class PickupThrottle(_SettingRateThrottle):
    """Pickup by code, by API and by page: per client address (``IPDESK_PICKUP_RATE``)."""

    scope = "pickup"
    setting = "IPDESK_PICKUP_RATE"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    @classmethod
    def allows(cls, request: Any) -> bool:
        return cls().allow_request(request, None)


class BindingThrottle(_SettingRateThrottle):
    """Binding attempts: per wallet app (``IPDESK_WALLET_BINDING_RATE``)."""

    scope = "wallet-binding"
    setting = "IPDESK_WALLET_BINDING_RATE"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
