"""The file formats of a receipt as one registry: name, content type, rendering, reading back.

Downloads (API, portal, pickup, wallet apps), ZIPs, e-mails and the verification of uploaded
files all read this table; none of them lists formats of its own.

To add a format: a renderer (``Receipt`` → bytes, deterministic, carrying the signed data),
a reader for uploaded files if they can be verified, and one row in ``FORMATS`` (see
docs/architecture.md). A format whose documents carry a signature of their own (PDF, OFD)
names the kind of certificate that signs them and how that signature is checked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from .certificates import PDF, SEAL, document_certificates
from .datafile import read_receipt_xml, receipt_xml

if TYPE_CHECKING:
    from django.utils.functional import Promise

    from .certificates import DocumentCertificate, DocumentCheck
    from .datafile import SignedReceipt
    from .models import Receipt


# The PDF and OFD writers load fonts, layout and signing code; they are imported when first
# used. Without a certificate of its kind configured, a document is rendered unsigned.
def _render_pdf(receipt: Receipt) -> bytes:
    from .pdf import receipt_pdf

    content = receipt_pdf(receipt)
    certificate = document_certificates().signer(PDF)
    if certificate is None:
        return content
    from .pdfsign import sign_receipt_pdf

    return sign_receipt_pdf(content, receipt, certificate)


def _check_pdf(content: bytes, trusted: list[DocumentCertificate]) -> DocumentCheck:
    from .pdfsign import check_pdf_signature

    return check_pdf_signature(content, trusted)


def _read_pdf(content: bytes) -> SignedReceipt:
    from .pdf import read_receipt_pdf

    return read_receipt_pdf(content)


def _render_ofd(receipt: Receipt) -> bytes:
    seal = document_certificates().signer(SEAL)
    if seal is None:
        from .ofd import receipt_ofd

        return receipt_ofd(receipt)
    from .ofdseal import sealed_receipt_ofd

    return sealed_receipt_ofd(receipt, seal)


def _check_ofd(content: bytes, trusted: list[DocumentCertificate]) -> DocumentCheck:
    from .ofdseal import check_ofd_seal

    return check_ofd_seal(content, trusted)


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
    # The kind of document certificate that signs the file itself (certificates.PDF, SEAL),
    # and how that signature is checked against the issuing unit's certificates of that kind.
    signed_by: str | None = None
    check: Callable[[bytes, list[DocumentCertificate]], DocumentCheck] | None = None


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
            signed_by=PDF,
            check=_check_pdf,
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
            signed_by=SEAL,
            check=_check_ofd,
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


def format_of(content: bytes) -> ReceiptFormat | None:
    """The format an uploaded file is in, by how it begins."""
    head = content[:8].lstrip()
    return next((fmt for fmt in FORMATS.values() if head.startswith(fmt.magic)), None)


def attached_to_email() -> list[ReceiptFormat]:
    return [fmt for fmt in FORMATS.values() if fmt.attached_to_email]
