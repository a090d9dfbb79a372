"""The OFD's electronic seal signature (电子签章): GB/T 38540-2020 inside a GB/T 33190 package.

A sealed receipt OFD has, beside the parts of ``ofd.py`` (``OFD.xml`` then names the list in
``DocBody/Signatures``)::

    Doc_0/Signs/Signatures.xml            MaxSignId and one Signature (Type "Seal")
    Doc_0/Signs/Sign_0/Signature.xml      SignedInfo: Provider, SignatureMethod (SM3withSM2
                                          1.2.156.10197.1.501), SignatureDateTime, the
                                          References (CheckMethod SM3 1.2.156.10197.1.401): one
                                          per file of the package but the Signs folder, with
                                          the base64 SM3 of its bytes; the StampAnnot over the
                                          seal drawn on page 1; then SignedValue's location
    Doc_0/Signs/Sign_0/SignedValue.dat    the DER SES_Signature (version 4)

``SES_Signature`` = toSign ``TBS_Sign`` {version 4, the electronic seal ``SESeal``, the
signing time, dataHash = SM3 of the bytes of Signature.xml, propertyInfo = its path}, the
signer's certificate, the algorithm (SM3withSM2) and the SM2 signature (DER, signer id
1234567812345678) over the DER of toSign. The ``SESeal`` is the seal itself: its
information (header "ES" 4 "ipdesk", id, type 1 (unit seal), name, the certificates that may
sign with it, dates, and the picture: the same seal drawing as on the page, as a one-page
OFD), the maker's certificate and the maker's SM2 signature over the DER of (information,
certificate, algorithm). In development the seal certificate is its own maker.

So a reader that checks seals verifies: each reference's SM3, Signature.xml's SM3 against
dataHash, the SM2 signature with the signer certificate, and the seal's own signature. The
nonce of both SM2 signatures is derived from the key and the data (``signing.py``), so the
sealed OFD is the same bytes every time, like the rest of the rendering.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import zipfile
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from asn1crypto import core, x509
from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException

from .certificates import (
    ABSENT,
    INVALID,
    SM3_OID,
    SM3_WITH_SM2_OID,
    VALID,
    DocumentCertificate,
    DocumentCheck,
    sm2_public_hex,
)
from .models import Receipt
from .ofd import NAMESPACE, PAGE_ID, SIGNATURES_PART, package, receipt_parts, seal_picture
from .signing import SM2_SM3_DER, Sm2Public, Sm2Signer, sm3

SIGNATURE_PART = "Doc_0/Signs/Sign_0/Signature.xml"
SIGNED_VALUE_PART = "Doc_0/Signs/Sign_0/SignedValue.dat"
SIGNS_FOLDER = "Doc_0/Signs/"
SEAL_TYPE_UNIT = 1  # 单位印章
CERT_LIST_CERTS = 1  # the seal lists its signers' certificates (not their digests)
MAX_PART = 4 * 1024 * 1024
# An uploaded OFD is hashed part by part: a bound on what a hostile package makes us read.
MAX_PARTS = 200
MAX_TOTAL = 32 * 1024 * 1024
NS = {"ofd": NAMESPACE}


# --- GB/T 38540-2020 structures (version 4) -------------------------------------------------


class SesHeader(core.Sequence):
    _fields = [("id", core.IA5String), ("version", core.Integer), ("vid", core.IA5String)]


class CertInfoList(core.SequenceOf):
    _child_spec = core.OctetString


class SesPropertyInfo(core.Sequence):
    _fields = [
        ("type", core.Integer),
        ("name", core.UTF8String),
        ("cert_list_type", core.Integer),
        ("cert_list", CertInfoList),
        ("create_date", core.GeneralizedTime),
        ("valid_start", core.GeneralizedTime),
        ("valid_end", core.GeneralizedTime),
    ]


class SesPictureInfo(core.Sequence):
    _fields = [
        ("type", core.IA5String),
        ("data", core.OctetString),
        ("width", core.Integer),
        ("height", core.Integer),
    ]


class SesSealInfo(core.Sequence):
    _fields = [
        ("header", SesHeader),
        ("es_id", core.IA5String),
        ("property", SesPropertyInfo),
        ("picture", SesPictureInfo),
        ("ext_datas", core.Any, {"optional": True}),
    ]


class SESeal(core.Sequence):
    _fields = [
        ("eseal_info", SesSealInfo),
        ("cert", core.OctetString),
        ("sign_alg_id", core.ObjectIdentifier),
        ("signed_value", core.OctetBitString),
    ]


class TbsSign(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("eseal", SESeal),
        ("time_info", core.GeneralizedTime),
        ("data_hash", core.OctetBitString),
        ("property_info", core.IA5String),
        ("ext_datas", core.Any, {"optional": True}),
    ]


class SesSignature(core.Sequence):
    _fields = [
        ("to_sign", TbsSign),
        ("cert", core.OctetString),
        ("signature_alg_id", core.ObjectIdentifier),
        ("signature", core.OctetBitString),
        ("time_stamp", core.OctetBitString, {"implicit": 0, "optional": True}),
    ]


def _seal_signed_part(info: SesSealInfo, cert: bytes) -> bytes:
    """What the seal maker signs: the DER of SEQUENCE {esealInfo, cert, signAlgID}."""
    return core.Sequence(
        contents=info.dump()
        + core.OctetString(cert).dump()
        + core.ObjectIdentifier(SM3_WITH_SM2_OID).dump()
    ).dump()


_seals: dict[tuple[str, str], SESeal] = {}


def _seal(payee: str, seal: DocumentCertificate) -> SESeal:
    """The electronic seal of ``payee`` with this certificate, built once per process."""
    made = _seals.get((seal.id, payee))
    if made is None:
        made = _seals[seal.id, payee] = _make_seal(payee, seal)
    return made


def _make_seal(payee: str, seal: DocumentCertificate) -> SESeal:
    signer: Sm2Signer = seal.private
    cert = seal.leaf.dump()
    start = seal.not_before
    picture = seal_picture(payee, start)
    info = SesSealInfo(
        {
            "header": {"id": "ES", "version": 4, "vid": "ipdesk"},
            "es_id": seal.id,
            "property": {
                "type": SEAL_TYPE_UNIT,
                "name": f"{payee} 票据专用章",
                "cert_list_type": CERT_LIST_CERTS,
                "cert_list": [cert],
                "create_date": start,
                "valid_start": start,
                "valid_end": seal.not_after,
            },
            "picture": {"type": "ofd", "data": picture, "width": 32, "height": 32},
        }
    )
    return SESeal(
        {
            "eseal_info": info,
            "cert": cert,
            "sign_alg_id": SM3_WITH_SM2_OID,
            "signed_value": signer.sign_deterministic(_seal_signed_part(info, cert)),
        }
    )


def _q(tag: str) -> str:
    return f"ofd:{tag}"


def _xml(root: Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(
        root, encoding="utf-8", xml_declaration=False
    )


def _n(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def signature_xml(
    parts: dict[str, bytes],
    *,
    signed_at: dt.datetime,
    stamp: tuple[float, float, float, float],
    provider: str,
) -> bytes:
    """Signature.xml: the SM3 of every part of ``parts`` and where the seal stands."""
    root = Element(_q("Signature"), {"xmlns:ofd": NAMESPACE})
    info = SubElement(root, _q("SignedInfo"))
    SubElement(
        info, _q("Provider"), {"ProviderName": "ipdesk", "Company": provider, "Version": "1"}
    )
    SubElement(info, _q("SignatureMethod")).text = SM3_WITH_SM2_OID
    SubElement(info, _q("SignatureDateTime")).text = signed_at.strftime("%Y%m%d%H%M%SZ")
    references = SubElement(info, _q("References"), {"CheckMethod": SM3_OID})
    for name in sorted(parts):
        reference = SubElement(references, _q("Reference"), {"FileRef": f"/{name}"})
        SubElement(reference, _q("CheckValue")).text = base64.b64encode(sm3(parts[name])).decode()
    SubElement(
        info,
        _q("StampAnnot"),
        {"ID": "1", "PageRef": PAGE_ID, "Boundary": " ".join(_n(v) for v in stamp)},
    )
    SubElement(root, _q("SignedValue")).text = f"/{SIGNED_VALUE_PART}"
    return _xml(root)


def signatures_xml() -> bytes:
    root = Element(_q("Signatures"), {"xmlns:ofd": NAMESPACE})
    SubElement(root, _q("MaxSignId")).text = "1"
    SubElement(root, _q("Signature"), {"ID": "1", "Type": "Seal", "BaseLoc": f"/{SIGNATURE_PART}"})
    return _xml(root)


def sealed_receipt_ofd(receipt: Receipt, seal: DocumentCertificate) -> bytes:
    """The receipt's OFD with the issuing unit's electronic seal signature."""
    parts, page = receipt_parts(receipt, sealed=True)
    assert page.seal is not None
    signed_at = seal.signing_time(receipt.issued_at)
    payee = page.author
    description = signature_xml(parts, signed_at=signed_at, stamp=page.seal, provider=payee)
    to_sign = TbsSign(
        {
            "version": 4,
            "eseal": _seal(payee, seal),
            "time_info": signed_at,
            "data_hash": sm3(description),
            "property_info": f"/{SIGNATURE_PART}",
        }
    )
    signer: Sm2Signer = seal.private
    value = SesSignature(
        {
            "to_sign": to_sign,
            "cert": seal.leaf.dump(),
            "signature_alg_id": SM3_WITH_SM2_OID,
            "signature": signer.sign_deterministic(to_sign.dump()),
        }
    )
    parts[SIGNATURES_PART] = signatures_xml()
    parts[SIGNATURE_PART] = description
    parts[SIGNED_VALUE_PART] = value.dump()
    return package(parts, receipt.issued_at.astimezone(dt.UTC))


# --- checking --------------------------------------------------------------------------------


class _Refused(Exception):
    """The seal signature does not hold; the message says why."""


def _part(package: zipfile.ZipFile, location: str) -> bytes:
    name = location.lstrip("/")
    try:
        info = package.getinfo(name)
    except KeyError as exc:
        raise _Refused(f"the OFD lacks {name}") from exc
    if info.file_size > MAX_PART:
        raise _Refused(f"the OFD part {name} is too large")
    with package.open(info) as handle:
        return handle.read(MAX_PART + 1)[:MAX_PART]


def _parse_xml(content: bytes, name: str) -> Any:
    try:
        return SafeElementTree.fromstring(content)
    except (SafeElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise _Refused(f"{name} is not well-formed XML") from exc


def _sm2_valid(cert: x509.Certificate, data: bytes, signature: bytes) -> bool:
    return Sm2Public(public_hex=sm2_public_hex(cert)).verify(data, signature, SM2_SM3_DER)


def _check(package: zipfile.ZipFile, trusted: list[DocumentCertificate]) -> DocumentCheck:
    ofd = _parse_xml(_part(package, "OFD.xml"), "OFD.xml")
    list_location = (ofd.findtext("ofd:DocBody/ofd:Signatures", "", NS) or "").strip()
    if not list_location:
        return DocumentCheck(ABSENT)
    signatures = _parse_xml(_part(package, list_location), list_location)
    entries = signatures.findall("ofd:Signature", NS)
    if len(entries) != 1:
        raise _Refused("the OFD should carry exactly one signature")
    location = entries[0].get("BaseLoc", "")
    description = _part(package, location)
    signature = _parse_xml(description, location)
    info = signature.find("ofd:SignedInfo", NS)
    if info is None or info.findtext("ofd:SignatureMethod", "", NS).strip() != SM3_WITH_SM2_OID:
        raise _Refused("the signature is not SM3withSM2")
    references = info.find("ofd:References", NS)
    if references is None or references.get("CheckMethod") != SM3_OID:
        raise _Refused("the references are not checked with SM3")
    covered = set()
    if len(package.infolist()) > MAX_PARTS or (
        sum(info.file_size for info in package.infolist()) > MAX_TOTAL
    ):
        raise _Refused("the OFD package is too large to check")
    for reference in references.findall("ofd:Reference", NS):
        name = reference.get("FileRef", "").lstrip("/")
        expected = reference.findtext("ofd:CheckValue", "", NS).strip()
        if base64.b64encode(sm3(_part(package, name))).decode() != expected:
            raise _Refused(f"{name} was changed after the OFD was sealed")
        covered.add(name)
    unsigned = [
        name
        for name in package.namelist()
        if not name.endswith("/") and not name.startswith(SIGNS_FOLDER) and name not in covered
    ]
    if unsigned:
        raise _Refused(f"{unsigned[0]} was added after the OFD was sealed")
    value_location = signature.findtext("ofd:SignedValue", "", NS).strip()
    try:
        value = SesSignature.load(_part(package, value_location))
        to_sign = value["to_sign"]
        seal = to_sign["eseal"]
        seal_info = seal["eseal_info"]
        signer_der = value["cert"].native
        maker_der = seal["cert"].native
        signed_at: dt.datetime = to_sign["time_info"].native
        fields = (
            to_sign["version"].native,
            to_sign["data_hash"].native,
            to_sign["property_info"].native,
            value["signature_alg_id"].dotted,
            seal["sign_alg_id"].dotted,
            [bytes(c.native) for c in seal_info["property"]["cert_list"]],
        )
        signer_cert = x509.Certificate.load(signer_der)
        maker_cert = x509.Certificate.load(maker_der)
        signer_cert.native  # noqa: B018 -- parses it now, inside the try
        maker_cert.native  # noqa: B018
    except (ValueError, TypeError, KeyError) as exc:
        raise _Refused("SignedValue.dat is not a GB/T 38540 SES_Signature") from exc
    version, data_hash, property_info, algorithm, seal_algorithm, signers = fields
    if (
        version != 4
        or SM3_WITH_SM2_OID not in (algorithm, seal_algorithm)
        or algorithm != seal_algorithm
    ):
        raise _Refused("the SES_Signature is not version 4 with SM3withSM2")
    if data_hash != sm3(description) or property_info != "/" + location.lstrip("/"):
        raise _Refused("Signature.xml was changed after the OFD was sealed")
    ours = {cert.leaf.dump(): cert for cert in trusted}
    signed_by = ours.get(signer_der)
    subject = str(signer_cert.subject.human_friendly)
    if not _sm2_valid(signer_cert, to_sign.dump(), value["signature"].native):
        raise _Refused("the SM2 signature does not match")
    if not _sm2_valid(
        maker_cert, _seal_signed_part(seal_info, maker_der), seal["signed_value"].native
    ):
        raise _Refused("the seal's own signature does not match")
    if signed_by is None or maker_der not in ours or signer_der not in signers:
        return DocumentCheck(
            INVALID, "the seal certificate is not one of the issuing unit's", subject, "", signed_at
        )
    if not signed_by.not_before <= signed_at <= signed_by.not_after:
        raise _Refused("the seal certificate was not valid when it signed")
    return DocumentCheck(VALID, signer=subject, certificate=signed_by.id, signed_at=signed_at)


def check_ofd_seal(content: bytes, trusted: list[DocumentCertificate]) -> DocumentCheck:
    """Check the OFD's seal signature: every reference's SM3, the SM2 signatures, and that
    the seal certificate is one of ``trusted``. ABSENT for an OFD without signatures."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return _check(archive, trusted)
    except _Refused as refused:
        return DocumentCheck(INVALID, str(refused))
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
        return DocumentCheck(INVALID, f"a damaged OFD package ({exc.__class__.__name__})")
