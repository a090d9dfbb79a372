"""The client's address, one answer for the whole project: rate limits, sign-in, audit.

Behind a reverse proxy every connection comes from the proxy, and the client's own address
travels in ``X-Forwarded-For``, which any client can also send, made up. The header is
therefore read only when the connection comes from a proxy named in
``IPDESK_TRUSTED_PROXIES``, and then only at the place the proxies themselves wrote:
each of the ``IPDESK_PROXY_COUNT`` proxies appends the address it was reached from, so the
client is that many entries from the right, whatever a client put to the left of it.
django-ipware parses the header (IPv6, ports, RFC 7239 forms).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from ipware import get_client_ip

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"IPDESK_TRUSTED_PROXIES: {entry!r} is not an IP address or network"
            ) from None
    return tuple(networks)


def trusted_proxies() -> tuple[Network, ...]:
    return _networks(tuple(e for e in settings.IPDESK_TRUSTED_PROXIES if e.strip()))


def _is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in trusted_proxies())


def client_address(request: Any) -> str:
    """The address of whoever sent ``request`` (``""`` without a request)."""
    if request is None:
        return ""
    meta = getattr(request, "META", {})
    remote = str(meta.get("REMOTE_ADDR", ""))
    if not _is_trusted(remote):
        return remote
    count = max(1, int(settings.IPDESK_PROXY_COUNT))
    # ipware counts the proxies that appear inside the header; the nearest one is the
    # connection itself and never appears there, hence ``count - 1``.
    address, _routable = get_client_ip(
        request,
        proxy_count=count - 1,
        request_header_order=["HTTP_X_FORWARDED_FOR"],
        strict=False,
    )
    return address or remote
