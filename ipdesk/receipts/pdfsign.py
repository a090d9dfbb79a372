"""The receipt PDF's own signature: PAdES baseline B-B, by the document-signing certificate.

The rendered PDF (``pdf.py``) gets one incremental update holding an invisible certification
signature (DocMDP: no change permitted) in the field ``IssuerSignature``: a CMS
``ETSI.CAdES.detached`` container with the signing-certificate-v2 attribute and the whole
certificate chain, SHA-256, over every byte of the file but the signature itself. Any PDF
reader shows the document signed by the issuing unit, and any change breaks it.

The signed PDF is a function of the receipt and the certificate only, so the cache serves
earlier bytes as if fresh and every web process gives the same file: the signing time (the
signature dictionary's ``/M``; PAdES puts no signing-time attribute in the CMS) is the
receipt's issue time (or the certificate's first valid second, if later), the update keeps
the document information as rendered, the file id's second half comes from the receipt, and
RSA PKCS#1 v1.5 signs deterministically. An ECDSA certificate works too, its signature
differing at each rendering. There is no timestamp (B-T) and no revocation data (B-LT).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from typing import Any

from asn1crypto import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata, PdfSigner, PdfSigningSession
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .certificates import ABSENT, INVALID, VALID, DocumentCertificate, DocumentCheck
from .models import Receipt

SIGNATURE_FIELD = "IssuerSignature"
REASON = "财政电子票据 开票单位签章 (issued and signed by the issuing unit)"
HASHES = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}


class _KeySigner(signers.Signer):
    """pyHanko's signer over a private key loaded once (its SimpleSigner parses the key
    again for every signature, which for RSA costs half a second)."""

    def __init__(self, certificate: DocumentCertificate) -> None:
        self.key = certificate.private
        super().__init__(
            signing_cert=certificate.leaf,
            cert_registry=SimpleCertificateStore.from_certs(certificate.chain[1:]),
        )

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        key = self.key
        if isinstance(key, rsa.RSAPrivateKey):
            signature: bytes = key.sign(data, padding.PKCS1v15(), HASHES[digest_algorithm])
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            signature = key.sign(data, ec.ECDSA(HASHES[digest_algorithm]))
        elif isinstance(key, ed25519.Ed25519PrivateKey):
            signature = key.sign(data)
        else:  # certificates.py loads no other kind
            raise TypeError(f"no PDF signature with a {type(key).__name__}")
        return signature


_signers: dict[str, _KeySigner] = {}


def _signer(certificate: DocumentCertificate) -> _KeySigner:
    signer = _signers.get(certificate.id)
    if signer is None or signer.key is not certificate.private:
        signer = _signers[certificate.id] = _KeySigner(certificate)
    return signer


class _AtSigningTime(PdfSigner):
    """A PdfSigner whose signature says the signing time it is given, not the clock's."""

    def __init__(self, *args: Any, signing_time: dt.datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signing_time = signing_time

    def init_signing_session(
        self, pdf_out: Any, existing_fields_only: bool = False
    ) -> PdfSigningSession:
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self.signing_time
        return session


class _UnchangedInfo(IncrementalPdfFileWriter):
    """The signature's revision leaves the document information (dates, producer) as it was
    rendered, instead of stamping the time of signing into it."""

    def _update_meta(self) -> None:
        return None


def _reserved(certificate: DocumentCertificate) -> int:
    """Room kept for the CMS container, in hex digits: the chain, the signature (up to
    RSA-8192) and the attributes, with a margin."""
    return 2 * (sum(len(cert.dump()) for cert in certificate.chain) + 2048)


def sign_receipt_pdf(content: bytes, receipt: Receipt, certificate: DocumentCertificate) -> bytes:
    """``content`` (the receipt's rendered PDF) with the issuing unit's signature added."""
    writer = _UnchangedInfo(io.BytesIO(content))
    first_id = writer.document_id[0]
    second_id = hashlib.md5(  # an identifier, not a protection: the file is signed
        first_id + certificate.sha256.encode() + b"signed", usedforsecurity=False
    ).digest()
    writer._document_id = generic.ArrayObject(
        [generic.ByteStringObject(first_id), generic.ByteStringObject(second_id)]
    )
    metadata = PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=MDPPerm.NO_CHANGES,
        reason=REASON,
        location=receipt.series.code + "-" + receipt.number_text,
    )
    pdf_signer = _AtSigningTime(
        metadata,
        _signer(certificate),
        signing_time=certificate.signing_time(receipt.issued_at),
    )
    output = io.BytesIO()
    pdf_signer.sign_pdf(writer, bytes_reserved=_reserved(certificate), output=output)
    return output.getvalue()


def check_pdf_signature(content: bytes, trusted: list[DocumentCertificate]) -> DocumentCheck:
    """Check the PDF's signature with pyHanko's validator: intact, valid, covering the whole
    file, by a certificate that chains to one of ``trusted`` at the time it says it signed.

    A PDF without any signature is ABSENT (a receipt downloaded before PDFs were signed).
    """
    try:
        reader = PdfFileReader(io.BytesIO(content), strict=False)
        embedded = reader.embedded_signatures
    except Exception as exc:
        return DocumentCheck(INVALID, f"the PDF cannot be read ({exc.__class__.__name__})")
    if not embedded:
        return DocumentCheck(ABSENT)
    if len(embedded) > 1:
        return DocumentCheck(INVALID, "the PDF carries more than one signature")
    signature = embedded[0]
    signed_at = signature.self_reported_timestamp
    roots = {cert.root.dump(): cert.root for cert in trusted}
    by_leaf = {cert.leaf.dump(): cert for cert in trusted}
    context = ValidationContext(
        trust_roots=list(roots.values()),
        allow_fetching=False,
        revocation_mode="soft-fail",
        moment=signed_at,
    )
    try:
        status = validate_pdf_signature(signature, context)
    except Exception as exc:
        return DocumentCheck(INVALID, f"the signature cannot be read ({exc.__class__.__name__})")
    leaf: x509.Certificate = status.signing_cert
    signer = str(leaf.subject.human_friendly) if leaf is not None else ""
    ours = by_leaf.get(leaf.dump()) if leaf is not None else None
    if not status.intact:
        reason = "the PDF was changed after it was signed"
    elif not status.valid:
        reason = "the signature value does not match"
    elif status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        reason = "the PDF was extended after it was signed"
    elif not status.trusted:
        reason = "the signing certificate is not one of the issuing unit's"
    else:
        return DocumentCheck(
            VALID, signer=signer, certificate=ours.id if ours else "", signed_at=signed_at
        )
    return DocumentCheck(INVALID, reason, signer=signer, signed_at=signed_at)
