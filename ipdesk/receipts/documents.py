"""Receipt documents on demand: render once, serve from the cache after, read them back.

Renderings are deterministic, so a cached copy is the same bytes a fresh rendering gives;
the cache key carries the receipt's signature so a cache can never serve another receipt,
and the id of the certificate that signs the document (PDF, OFD), so a new certificate
signs documents anew while the old one's stay valid. A signed document is therefore signed
once per receipt and certificate, whichever process renders it: its signing time is the
receipt's issue time, not the moment of rendering (``certificates.signing_time``).
What each format is and how it is rendered or read is in ``formats``.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.http import HttpResponse

from .certificates import document_certificates
from .datafile import SignedReceipt, UnreadableDocument
from .formats import FORMATS, format_of, receipt_format
from .models import Receipt

# Part of the cache key: raise it whenever a rendering's layout changes.
RENDER_VERSION = 3
CACHE_SECONDS = 7 * 24 * 3600


def render(receipt: Receipt, fmt: str) -> bytes:
    receipt_fmt = receipt_format(fmt)
    tag = hashlib.sha256(receipt.signature.encode("ascii")).hexdigest()[:16]
    signer = "-"
    if receipt_fmt.signed_by is not None:
        certificate = document_certificates().signer(receipt_fmt.signed_by)
        signer = certificate.id if certificate is not None else "unsigned"
    key = f"receipt:{RENDER_VERSION}:{fmt}:{receipt.series.code}:{receipt.number}:{tag}:{signer}"
    content = cache.get(key)
    if content is None:
        content = receipt_fmt.render(receipt)
        cache.set(key, content, CACHE_SECONDS)
    return bytes(content)


def filename(receipt: Receipt, fmt: str) -> str:
    return f"{receipt.series.code}-{receipt.number_text}.{receipt_format(fmt).extension}"


def download(receipt: Receipt, fmt: str) -> HttpResponse:
    """The receipt's file in ``fmt`` as a download, named by its code and number."""
    response = HttpResponse(render(receipt, fmt), content_type=receipt_format(fmt).content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename(receipt, fmt)}"'
    return response


def read_document(content: bytes) -> SignedReceipt:
    """The signed data carried by an uploaded file of any format that can be read back."""
    fmt = format_of(content)
    if fmt is not None:
        return fmt.read(content)
    *others, last = [fmt.code.upper() for fmt in FORMATS.values()]
    raise UnreadableDocument(f"file: not a {', '.join(others)} or {last} file")
