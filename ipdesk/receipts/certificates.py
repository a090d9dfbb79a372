"""Document certificates of the issuing unit: the PDF signing certificate and the OFD seal.

A receipt's data is signed with the receipt keys (``signing.py``). Its PDF and its OFD are
signed once more as documents, so that a PDF reader or an OFD reader shows them signed and
any change breaks them:

- the PDF with a PAdES signature (``pdfsign.py``) by the **document-signing certificate**:
  an X.509 certificate (RSA or ECDSA) and the CA certificates above it. With RSA (PKCS#1
  v1.5, deterministic) the same receipt always gives the same signed bytes;
- the OFD with a GB/T 38540 electronic seal (``ofdseal.py``) by the **seal certificate**:
  an SM2 certificate, since OFD readers check seals with SM2/SM3.

Both live in ``IPDESK_DOCUMENT_CERT_DIR`` (default ``$IPDESK_DATA_DIR/certs``), a certificate
and its key sharing a file stem::

    <stem>.chain.pem   the certificate, then the CA certificates above it, PEM
    <stem>.key.pem     the private key of a document-signing certificate, PKCS#8 PEM
    <stem>.key.sm2     the private key of a seal certificate, 64 hex digits

or in the environment: ``IPDESK_PDF_SIGNING_KEY`` with ``IPDESK_PDF_CERT_CHAIN`` (PEM), and
``IPDESK_SEAL_KEY`` (hex) with ``IPDESK_SEAL_CERT_CHAIN`` (PEM). A certificate's id is
``pdf-`` or ``seal-`` and the first 16 hex digits of the SHA-256 of its DER.

Rotation: add the new pair; while two of a kind have keys, name the one that signs in
``IPDESK_PDF_CERT_ID`` or ``IPDESK_SEAL_CERT_ID``; then delete the old key and keep its
chain, so the documents it signed stay checkable. Every chain, active or retired, is
published in ``/.well-known/ipdesk/keys.json`` (``certificates``) and as PEM at
``/.well-known/ipdesk/certificates.pem``; verification trusts exactly these.
``ipdesk receipts certgen`` makes a development pair of each kind.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from asn1crypto import algos, keys, pem, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .signing import Sm2Signer, generate_sm2_private_hex, sm2_signer

PDF = "pdf"
SEAL = "seal"
KINDS = (PDF, SEAL)

SM2_CURVE_OID = "1.2.156.10197.1.301"
SM3_WITH_SM2_OID = "1.2.156.10197.1.501"
SM3_OID = "1.2.156.10197.1.401"
keys.NamedCurve.register("sm2p256v1", SM2_CURVE_OID, 32)

# The document-signing key: RSA signs deterministically, which keeps renderings identical.
PDF_KEY_SIZE = 3072


@dataclass(frozen=True)
class DocumentCheck:
    """What checking a document's own signature found."""

    status: str  # VALID, INVALID or ABSENT
    reason: str = ""
    signer: str = ""
    certificate: str = ""  # the signing certificate's id, when it is one of ours
    signed_at: dt.datetime | None = None


VALID = "valid"
INVALID = "invalid"
ABSENT = "absent"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True, eq=False)
class DocumentCertificate:
    """A certificate chain (leaf first) and, unless it is retired, the leaf's private key.
    Two are equal when their leaf certificates are."""

    kind: str
    chain: tuple[x509.Certificate, ...]
    private: Any = field(default=None, repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DocumentCertificate) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]

    @property
    def id(self) -> str:
        return f"{self.kind}-{hashlib.sha256(self.leaf.dump()).hexdigest()[:16]}"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.leaf.dump()).hexdigest()

    @property
    def not_before(self) -> dt.datetime:
        value: dt.datetime = self.leaf["tbs_certificate"]["validity"]["not_before"].native
        return value

    @property
    def not_after(self) -> dt.datetime:
        value: dt.datetime = self.leaf["tbs_certificate"]["validity"]["not_after"].native
        return value

    @property
    def subject(self) -> str:
        return str(self.leaf.subject.human_friendly)

    @property
    def root(self) -> x509.Certificate:
        return self.chain[-1]

    def pem(self) -> bytes:
        return b"".join(pem.armor("CERTIFICATE", cert.dump()) for cert in self.chain)

    def signing_time(self, issued_at: dt.datetime) -> dt.datetime:
        """When a document of a receipt issued at ``issued_at`` is signed, as it says.

        The receipt's issue time, or the certificate's first valid second if it is later
        (a receipt issued before this certificate existed): a function of the receipt and
        the certificate only, so a document signed again is the same bytes. A certificate
        that expired before the receipt was issued cannot sign it.
        """
        moment = max(issued_at.astimezone(dt.UTC).replace(microsecond=0), self.not_before)
        if moment > self.not_after:
            raise ImproperlyConfigured(
                f"{self.id}: the certificate expired on {self.not_after:%Y-%m-%d}, before "
                "the receipt was issued; add a new one (ipdesk receipts certgen) and name it "
                f"in IPDESK_{self.kind.upper()}_CERT_ID"
            )
        return moment

    def published(self, active: bool) -> dict[str, Any]:
        """Its entry in keys.json: ``x5c`` is the chain in base64 DER, as in a JWK."""
        return {
            "id": self.id,
            "use": "pdf-signature" if self.kind == PDF else "ofd-seal",
            "subject": self.subject,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "sha256": self.sha256,
            "active": active,
            "x5c": [base64.b64encode(cert.dump()).decode("ascii") for cert in self.chain],
        }


def _kind_of(leaf: x509.Certificate) -> str:
    info = leaf.public_key
    if info.algorithm == "ec" and info["algorithm"]["parameters"].chosen.dotted == SM2_CURVE_OID:
        return SEAL
    return PDF


def sm2_public_hex(leaf: x509.Certificate) -> str:
    """x ‖ y of an SM2 certificate's public key, 128 hex digits."""
    point: bytes = leaf.public_key["public_key"].native
    if len(point) != 65 or point[0] != 4:
        raise ValueError("not an uncompressed SM2 point")
    return point[1:].hex()


def parse_chain(text: bytes, source: str) -> tuple[x509.Certificate, ...]:
    try:
        chain = tuple(
            x509.Certificate.load(der)
            for kind, _headers, der in pem.unarmor(text, multiple=True)
            if kind == "CERTIFICATE"
        )
        for cert in chain:
            cert.native  # noqa: B018 -- parses every field now, not at first use
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{source}: not a PEM certificate chain ({exc})") from exc
    if not chain:
        raise ImproperlyConfigured(f"{source}: no certificate in it")
    return chain


def _with_key(chain: tuple[x509.Certificate, ...], key_text: bytes, source: str) -> Any:
    """The private key of the chain's leaf, refusing one that belongs to another certificate."""
    leaf = chain[0]
    if _kind_of(leaf) == SEAL:
        signer = sm2_signer(key_text.decode("ascii", "replace").removeprefix("sm2:"), source)
        if signer.public_hex != sm2_public_hex(leaf):
            raise ImproperlyConfigured(f"{source}: the SM2 key is not the certificate's")
        return signer
    try:
        private = serialization.load_pem_private_key(key_text, password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{source}: not a PEM private key ({exc})") from exc
    if not isinstance(
        private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    ):
        raise ImproperlyConfigured(f"{source}: an RSA, ECDSA or Ed25519 key is needed")
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if public != leaf.public_key.dump():
        raise ImproperlyConfigured(f"{source}: the private key is not the certificate's")
    return private


@dataclass(frozen=True)
class DocumentCertificates:
    """The certificates that sign documents now, and every one that ever did."""

    active: dict[str, DocumentCertificate]  # by kind
    known: dict[str, DocumentCertificate]  # by id

    def signer(self, kind: str) -> DocumentCertificate | None:
        return self.active.get(kind)

    def of_kind(self, kind: str) -> list[DocumentCertificate]:
        return [cert for cert in self.known.values() if cert.kind == kind]

    def published(self) -> list[dict[str, Any]]:
        active = {cert.id for cert in self.active.values()}
        return [cert.published(cert.id in active) for _id, cert in sorted(self.known.items())]

    def pem(self) -> bytes:
        return b"".join(cert.pem() for _id, cert in sorted(self.known.items()))


def load_certificates(
    directory: Path, env: Mapping[str, str], active_ids: Mapping[str, str]
) -> DocumentCertificates:
    found: list[DocumentCertificate] = []
    for kind, key_name, chain_name in (
        (PDF, "IPDESK_PDF_SIGNING_KEY", "IPDESK_PDF_CERT_CHAIN"),
        (SEAL, "IPDESK_SEAL_KEY", "IPDESK_SEAL_CERT_CHAIN"),
    ):
        if bool(env.get(key_name)) != bool(env.get(chain_name)):
            raise ImproperlyConfigured(f"{key_name} and {chain_name} go together")
        if env.get(chain_name):
            chain = parse_chain(env[chain_name].encode(), chain_name)
            if _kind_of(chain[0]) != kind:
                raise ImproperlyConfigured(f"{chain_name}: not a {kind} certificate")
            found.append(
                DocumentCertificate(kind, chain, _with_key(chain, env[key_name].encode(), key_name))
            )
    if directory.is_dir():
        for path in sorted(directory.glob("*.chain.pem")):
            chain = parse_chain(path.read_bytes(), str(path))
            stem = path.name.removesuffix(".chain.pem")
            private = None
            for suffix in (".key.pem", ".key.sm2"):
                key_path = directory / f"{stem}{suffix}"
                if key_path.exists():
                    private = _with_key(chain, key_path.read_bytes(), str(key_path))
            found.append(DocumentCertificate(_kind_of(chain[0]), chain, private))
    known: dict[str, DocumentCertificate] = {}
    for cert in found:
        if cert.id not in known or known[cert.id].private is None:
            known[cert.id] = cert
    active: dict[str, DocumentCertificate] = {}
    for kind in KINDS:
        setting = f"IPDESK_{kind.upper()}_CERT_ID"
        signers = {c.id: c for c in known.values() if c.kind == kind and c.private is not None}
        wanted = active_ids.get(kind, "")
        if wanted:
            if wanted not in signers:
                raise ImproperlyConfigured(
                    f"{setting}: no {kind} certificate {wanted!r} with its key in {directory} "
                    "or the environment"
                )
            active[kind] = signers[wanted]
        elif len(signers) > 1:
            raise ImproperlyConfigured(
                f"{setting}: several {kind} certificates have keys ({', '.join(sorted(signers))}); "
                "name the one that signs"
            )
        elif signers:
            active[kind] = next(iter(signers.values()))
    return DocumentCertificates(active, known)


def published_certificates(document: Mapping[str, Any]) -> DocumentCertificates:
    """The certificates of a published keys.json (``certificates``), for checking offline."""
    known: dict[str, DocumentCertificate] = {}
    for entry in document.get("certificates", []):
        try:
            chain = tuple(x509.Certificate.load(base64.b64decode(c)) for c in entry["x5c"])
            cert = DocumentCertificate(_kind_of(chain[0]), chain)
        except (KeyError, TypeError, ValueError, IndexError, binascii.Error):
            continue
        known[cert.id] = cert
    return DocumentCertificates({}, known)


@cache
def document_certificates() -> DocumentCertificates:
    """The configured document certificates, loaded once per process (restart to rotate)."""
    return load_certificates(
        Path(settings.IPDESK_DOCUMENT_CERT_DIR),
        os.environ,
        {PDF: settings.IPDESK_PDF_CERT_ID, SEAL: settings.IPDESK_SEAL_CERT_ID},
    )


# --- development certificates (ipdesk receipts certgen) -----------------------------------


def _write_private(path: Path, body: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(body)


def _save(directory: Path, cert: DocumentCertificate, key_suffix: str, key_body: bytes) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    _write_private(directory / f"{cert.id}{key_suffix}", key_body)
    (directory / f"{cert.id}.chain.pem").write_bytes(cert.pem())
    document_certificates.cache_clear()


def _name(common_name: str, organisation: str) -> cx509.Name:
    return cx509.Name(
        [
            cx509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            cx509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            cx509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def generate_pdf_certificate(
    directory: Path, organisation: str, *, days: int = 3 * 366
) -> DocumentCertificate:
    """A development CA and the document-signing certificate (RSA) it issues; the CA's key
    is thrown away, so it issues nothing else. A real deployment puts its CA-issued chain
    and key in the directory instead."""
    start = _now() - dt.timedelta(hours=1)  # some tolerance for a clock that runs behind
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{organisation} 开发用根证书 (ipdesk development CA)", organisation)
    ca = (
        cx509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(cx509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days + 1))
        .add_extension(cx509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            cx509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(cx509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=PDF_KEY_SIZE)
    leaf = (
        cx509.CertificateBuilder()
        .subject_name(_name(f"{organisation} 电子票据签章", organisation))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(cx509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(cx509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            # digitalSignature and nonRepudiation (contentCommitment), as PDF signers need.
            cx509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(
            cx509.ExtendedKeyUsage(
                [cx509.ObjectIdentifier("1.3.6.1.5.5.7.3.36"), ExtendedKeyUsageOID.EMAIL_PROTECTION]
            ),
            critical=False,
        )
        .add_extension(cx509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            cx509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    chain = tuple(
        x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in (leaf, ca)
    )
    cert = DocumentCertificate(PDF, chain, key)
    body = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _save(directory, cert, ".key.pem", body)
    return cert


def sm2_certificate(
    signer: Sm2Signer, subject: x509.Name, start: dt.datetime, end: dt.datetime
) -> x509.Certificate:
    """A self-signed SM2 certificate (SM3withSM2, DER signature as GB/T 35276 has it)."""
    algorithm = algos.SignedDigestAlgorithm({"algorithm": SM3_WITH_SM2_OID})
    public = keys.PublicKeyInfo(
        {
            "algorithm": {
                "algorithm": "ec",
                "parameters": keys.ECDomainParameters(name="named", value="sm2p256v1"),
            },
            "public_key": bytes.fromhex("04" + signer.public_hex),
        }
    )
    key_id = hashlib.sha1(bytes.fromhex("04" + signer.public_hex), usedforsecurity=False).digest()
    tbs = x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": int.from_bytes(secrets.token_bytes(16), "big") >> 1,
            "signature": algorithm,
            "issuer": subject,
            "validity": {
                "not_before": x509.Time(name="utc_time", value=start),
                "not_after": x509.Time(name="utc_time", value=end),
            },
            "subject": subject,
            "subject_public_key_info": public,
            "extensions": [
                {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": False}},
                {
                    "extn_id": "key_usage",
                    "critical": True,
                    "extn_value": {"digital_signature", "non_repudiation"},
                },
                {"extn_id": "key_identifier", "critical": False, "extn_value": key_id},
            ],
        }
    )
    return x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": algorithm,
            "signature_value": signer.sign(tbs.dump()),
        }
    )


def generate_seal_certificate(
    directory: Path, organisation: str, *, days: int = 3 * 366
) -> DocumentCertificate:
    """An SM2 seal key and its self-signed certificate: in development the issuing unit is
    its own seal maker (制章人). A real deployment puts the seal certificate its CA issued."""
    start = _now() - dt.timedelta(hours=1)
    signer = sm2_signer(generate_sm2_private_hex(), "generated")
    subject = x509.Name.build(
        {
            "country_name": "CN",
            "organization_name": organisation,
            "common_name": f"{organisation} 票据专用章",
        },
        use_printable=False,
    )
    leaf = sm2_certificate(signer, subject, start, start + dt.timedelta(days=days))
    cert = DocumentCertificate(SEAL, (leaf,), signer)
    _save(directory, cert, ".key.sm2", signer.private_hex.encode("ascii") + b"\n")
    return cert
