"""The file formats of a receipt as one registry: name, content type, rendering, reading back.

Downloads (API, portal, pickup, wallet apps), ZIPs, e-mails and the verification of uploaded
files all read this table; none of them lists formats of its own.

To add a format: a renderer (``Receipt`` → bytes, deterministic, carrying the signed data),
a reader for uploaded files if they can be verified, and one row in ``FORMATS`` (see
docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from .datafile import read_receipt_xml, receipt_xml

if TYPE_CHECKING:
    from django.utils.functional import Promise

    from .datafile import SignedReceipt
    from .models import Receipt


# The PDF and OFD writers load fonts and layout code; they are imported when first used.
def _render_pdf(receipt: Receipt) -> bytes:
    from .pdf import receipt_pdf

    return receipt_pdf(receipt)


def _read_pdf(content: bytes) -> SignedReceipt:
    from .pdf import read_receipt_pdf

    return read_receipt_pdf(content)


def _render_ofd(receipt: Receipt) -> bytes:
    from .ofd import receipt_ofd

    return receipt_ofd(receipt)


def _read_ofd(content: bytes) -> SignedReceipt:
    from .ofd import read_receipt_ofd

    return read_receipt_ofd(content)


@dataclass(frozen=True)
class ReceiptFormat:
    # In URLs (``…/pdf``) and the ``format`` parameter.
    code: str
    label: str | Promise
    content_type: str
    extension: str
    render: Callable[[Receipt], bytes]
    # How an uploaded file of this format begins, and how its signed data is read back.
    magic: bytes
    read: Callable[[bytes], SignedReceipt]
    # Compressed already: stored in a ZIP as it is, not deflated again.
    compressed: bool
    # Attached to the e-mail that delivers a receipt.
    attached_to_email: bool


FORMATS: Mapping[str, ReceiptFormat] = {
    fmt.code: fmt
    for fmt in (
        ReceiptFormat(
            code="pdf",
            label="PDF",
            content_type="application/pdf",
            extension="pdf",
            render=_render_pdf,
            magic=b"%PDF",
            read=_read_pdf,
            compressed=True,
            attached_to_email=True,
        ),
        ReceiptFormat(
            code="ofd",
            label="OFD",
            content_type="application/ofd",
            extension="ofd",
            render=_render_ofd,
            magic=b"PK",
            read=_read_ofd,
            compressed=True,
            attached_to_email=True,
        ),
        ReceiptFormat(
            code="xml",
            label=_("XML data file"),
            content_type="application/xml; charset=utf-8",
            extension="xml",
            render=receipt_xml,
            magic=b"<",
            read=read_receipt_xml,
            compressed=False,
            attached_to_email=False,
        ),
    )
}


def receipt_format(code: str) -> ReceiptFormat:
    """The format with ``code``; ``ValueError`` naming the known ones otherwise."""
    fmt = FORMATS.get(code)
    if fmt is None:
        raise ValueError(f"format: one of {', '.join(FORMATS)}")
    return fmt


def attached_to_email() -> list[ReceiptFormat]:
    return [fmt for fmt in FORMATS.values() if fmt.attached_to_email]
