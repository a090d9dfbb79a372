"""Signed webhook calls to wallet apps.

The body is JSON; ``X-Ipdesk-Timestamp`` is the Unix time of the attempt and
``X-Ipdesk-Signature`` is ``sha256=`` + the hex HMAC-SHA256, keyed with the wallet's webhook
secret, of ``<timestamp>.<body>``. A receiver recomputes it and refuses old timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from typing import Any

SIGNATURE_HEADER = "X-Ipdesk-Signature"
TIMESTAMP_HEADER = "X-Ipdesk-Timestamp"
DELIVERY_HEADER = "X-Ipdesk-Delivery"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer like any other: not a success


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> int:
    """POST and return the HTTP status; connection problems raise ``OSError``."""
    request = urllib.request.Request(  # noqa: S310 - URLs are http(s), checked at registration
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
