"""Receipt documents on demand: render once, serve from the cache after, read them back.

Renderings are deterministic, so a cached copy is the same bytes a fresh rendering gives;
the cache key carries the receipt's signature so a cache can never serve another receipt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.core.cache import cache

from .datafile import SignedReceipt, UnreadableDocument, read_receipt_xml, receipt_xml
from .models import Receipt

# Part of the cache key: raise it whenever a rendering's layout changes.
RENDER_VERSION = 2
CACHE_SECONDS = 7 * 24 * 3600

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "ofd": "application/ofd",
    "xml": "application/xml; charset=utf-8",
}


def _renderer(fmt: str) -> Callable[[Receipt], bytes]:
    if fmt == "xml":
        return receipt_xml
    if fmt == "pdf":
        from .pdf import receipt_pdf

        return receipt_pdf
    if fmt == "ofd":
        from .ofd import receipt_ofd

        return receipt_ofd
    raise ValueError(f"format: one of {', '.join(CONTENT_TYPES)}")


def render(receipt: Receipt, fmt: str) -> bytes:
    renderer = _renderer(fmt)
    tag = hashlib.sha256(receipt.signature.encode("ascii")).hexdigest()[:16]
    key = f"receipt:{RENDER_VERSION}:{fmt}:{receipt.series.code}:{receipt.number}:{tag}"
    content = cache.get(key)
    if content is None:
        content = renderer(receipt)
        cache.set(key, content, CACHE_SECONDS)
    return bytes(content)


def filename(receipt: Receipt, fmt: str) -> str:
    return f"{receipt.series.code}-{receipt.number_text}.{fmt}"


def read_document(content: bytes) -> SignedReceipt:
    """The signed data carried by an uploaded XML, PDF or OFD file."""
    head = content[:8].lstrip()
    if head.startswith(b"%PDF"):
        from .pdf import read_receipt_pdf

        return read_receipt_pdf(content)
    if head.startswith(b"PK"):
        from .ofd import read_receipt_ofd

        return read_receipt_ofd(content)
    if head.startswith(b"<"):
        return read_receipt_xml(content)
    raise UnreadableDocument("file: not an XML data file, a PDF or an OFD")
