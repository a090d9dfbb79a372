"""Signed receipt documents: the PDF's PAdES signature and the OFD's GB/T 38540 seal.

The PDF is checked with pyHanko's own validator; the OFD with OpenSSL's SM3 and SM2 (the
``openssl`` command, an implementation other than the gmssl ipdesk signs with), its
SES_Signature taken apart with a generic DER parser.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import core
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from ipdesk.collection.models import Payment
from ipdesk.receipts import certificates, documents, ofd, pdf, services
from ipdesk.receipts.certificates import document_certificates
from ipdesk.receipts.models import Receipt
from ipdesk.testing import api_client


@pytest.fixture
def receipt(reviewed_payment: Payment) -> Receipt:
    return services.current_receipt(reviewed_payment)


def _pdf_roots() -> list[Any]:
    return [cert.root for cert in document_certificates().of_kind(certificates.PDF)]


def _pyhanko_status(content: bytes) -> Any:
    [signature] = PdfFileReader(io.BytesIO(content), strict=False).embedded_signatures
    context = ValidationContext(trust_roots=_pdf_roots(), allow_fetching=False)
    return validate_pdf_signature(signature, context)


def _status_unless_unreadable(content: bytes) -> Any:
    """pyHanko's verdict, or None when the change broke the file beyond reading."""
    try:
        return _pyhanko_status(content)
    except Exception:
        return None


# --- PDF -------------------------------------------------------------------------------------


def test_pyhanko_accepts_the_receipt_pdf_and_rejects_a_one_byte_change(receipt: Receipt) -> None:
    content = documents.render(receipt, "pdf")
    status = _pyhanko_status(content)
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.docmdp_ok is not False
    active = document_certificates().signer(certificates.PDF)
    assert active is not None and status.signing_cert.dump() == active.leaf.dump()
    assert "ETSI.CAdES.detached" in content.decode("latin-1")
    # The signature is over every byte but its own value: change one anywhere in the page
    # (the rendered document before the signature's revision) and the digest differs.
    signature_start = content.index(b"/Contents <")
    for offset in (200, len(content) // 3, signature_start - 40):
        changed = bytearray(content)
        changed[offset] ^= 0x01
        broken = _status_unless_unreadable(bytes(changed))
        assert broken is None or not (broken.intact and broken.valid), offset
    # A change inside the signature value itself: the digest holds, the signature does not.
    [embedded] = PdfFileReader(io.BytesIO(content)).embedded_signatures
    value = embedded.signer_info["signature"].native.hex().encode()
    at = content.lower().index(value, signature_start) + len(value) // 2
    changed = bytearray(content)
    changed[at : at + 1] = b"0" if content[at : at + 1] != b"0" else b"1"
    broken = _pyhanko_status(bytes(changed))
    assert broken.intact and not broken.valid


def test_signed_pdf_is_the_same_bytes_every_time_and_says_the_issue_time(
    receipt: Receipt,
) -> None:
    first = documents.FORMATS["pdf"].render(receipt)
    again = documents.FORMATS["pdf"].render(Receipt.objects.get(pk=receipt.pk))
    assert first == again
    [signature] = PdfFileReader(io.BytesIO(first)).embedded_signatures
    assert signature.self_reported_timestamp == receipt.issued_at.replace(microsecond=0)
    # The rendering underneath is the unsigned one, unchanged: the signature is a revision.
    assert first.startswith(pdf.receipt_pdf(receipt))
    # The embedded data file is still read and verified as before.
    assert pdf.read_receipt_pdf(first).signed == receipt.data.encode()


def test_signing_time_and_certificate_validity(receipt: Receipt) -> None:
    cert = document_certificates().signer(certificates.PDF)
    assert cert is not None
    early = cert.not_before - dt.timedelta(days=30)
    assert cert.signing_time(early) == cert.not_before
    with pytest.raises(ImproperlyConfigured, match="expired"):
        cert.signing_time(cert.not_after + dt.timedelta(seconds=1))


def test_documents_are_cached_per_signing_certificate(
    receipt: Receipt, tmp_path: Path, settings: Any
) -> None:
    signed = documents.render(receipt, "pdf")
    # Without document certificates the PDF is rendered unsigned, and cached apart.
    settings.IPDESK_DOCUMENT_CERT_DIR = str(tmp_path)
    document_certificates.cache_clear()
    try:
        unsigned = documents.render(receipt, "pdf")
        assert unsigned == pdf.receipt_pdf(receipt) != signed
        assert not PdfFileReader(io.BytesIO(unsigned)).embedded_signatures
        assert documents.render(receipt, "ofd") == ofd.receipt_ofd(receipt)
    finally:
        document_certificates.cache_clear()


# --- OFD -------------------------------------------------------------------------------------


def _openssl(*args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=False)


def _sm3(data: bytes) -> bytes:
    return _openssl("dgst", "-sm3", "-binary", data=data).stdout


def _sm2_verified(cert_der: bytes, data: bytes, signature: bytes, folder: Path) -> bool:
    (folder / "cert.der").write_bytes(cert_der)
    (folder / "data").write_bytes(data)
    (folder / "sig").write_bytes(signature)
    public = _openssl(
        "x509", "-inform", "DER", "-in", str(folder / "cert.der"), "-pubkey", "-noout"
    )
    (folder / "pub.pem").write_bytes(public.stdout)
    result = _openssl(
        "dgst",
        "-sm3",
        "-verify",
        str(folder / "pub.pem"),
        "-sigopt",
        "distid:1234567812345678",
        "-signature",
        str(folder / "sig"),
        str(folder / "data"),
    )
    return result.returncode == 0 and b"Verified OK" in result.stdout


class _AnySequence(core.SequenceOf):
    _child_spec = core.Any


def _children(der: bytes) -> list[bytes]:
    """The encoded children of a DER SEQUENCE, by a generic parser (no ipdesk code)."""
    return [child.dump() for child in _AnySequence.load(der)]


def openssl_checks_ofd_seal(content: bytes, folder: Path) -> list[str]:
    """What fails when OpenSSL checks the OFD's seal signature; [] when it holds."""
    failures = []
    package = zipfile.ZipFile(io.BytesIO(content))
    parts = {name: package.read(name) for name in package.namelist()}
    description = parts["Doc_0/Signs/Sign_0/Signature.xml"]
    references = description.split(b"<ofd:Reference FileRef=")[1:]
    assert len(references) >= 7
    for reference in references:
        name = reference.split(b'"')[1].decode().lstrip("/")
        check_value = reference.split(b"<ofd:CheckValue>")[1].split(b"<")[0]
        if base64.b64encode(_sm3(parts[name])) != check_value:
            failures.append(name)
    signature = _children(parts["Doc_0/Signs/Sign_0/SignedValue.dat"])
    to_sign, cert, _algorithm, value = signature[:4]
    tbs = _children(to_sign)
    data_hash = core.BitString.load(tbs[3])
    if bytes(data_hash.contents[1:]) != _sm3(description):
        failures.append("Signature.xml")
    if not _sm2_verified(
        core.OctetString.load(cert).native, to_sign, core.BitString.load(value).contents[1:], folder
    ):
        failures.append("SignedValue.dat")
    seal = _children(tbs[1])
    seal_info, maker_cert, _seal_algorithm, seal_value = seal
    signed_part = core.Sequence(contents=seal_info + maker_cert + _seal_algorithm).dump()
    if not _sm2_verified(
        core.OctetString.load(maker_cert).native,
        signed_part,
        core.BitString.load(seal_value).contents[1:],
        folder,
    ):
        failures.append("SESeal")
    return failures


def test_ofd_seal_verifies_with_openssl_and_fails_after_any_change(
    receipt: Receipt, tmp_path: Path
) -> None:
    content = documents.render(receipt, "ofd")
    assert openssl_checks_ofd_seal(content, tmp_path) == []
    trusted = document_certificates().of_kind(certificates.SEAL)
    from ipdesk.receipts.ofdseal import check_ofd_seal

    assert check_ofd_seal(content, trusted).status == certificates.VALID
    package = zipfile.ZipFile(io.BytesIO(content))
    names = [n for n in package.namelist() if not n.startswith("Doc_0/Signs/")]
    assert "Doc_0/Pages/Page_0/Content.xml" in names and "OFD.xml" in names
    for name in names:
        parts = {n: package.read(n) for n in package.namelist()}
        changed = bytearray(parts[name])
        changed[len(changed) // 2] ^= 0x01
        parts[name] = bytes(changed)
        tampered = ofd.package(parts, receipt.issued_at)
        assert openssl_checks_ofd_seal(tampered, tmp_path) == [name], name
        answer = check_ofd_seal(tampered, trusted)
        assert answer.status == certificates.INVALID and name in answer.reason, name
    # The signature's own files: Signature.xml and the SES_Signature.
    for name, failure in (
        ("Doc_0/Signs/Sign_0/Signature.xml", "Signature.xml"),
        ("Doc_0/Signs/Sign_0/SignedValue.dat", "SignedValue.dat"),
    ):
        parts = {n: package.read(n) for n in package.namelist()}
        changed = bytearray(parts[name])
        changed[-10] ^= 0x01
        parts[name] = bytes(changed)
        tampered = ofd.package(parts, receipt.issued_at)
        assert failure in openssl_checks_ofd_seal(tampered, tmp_path)
        assert check_ofd_seal(tampered, trusted).status == certificates.INVALID


def test_sealed_ofd_structure_and_determinism(receipt: Receipt) -> None:
    content = documents.FORMATS["ofd"].render(receipt)
    assert content == documents.FORMATS["ofd"].render(Receipt.objects.get(pk=receipt.pk))
    package = zipfile.ZipFile(io.BytesIO(content))
    entry = package.read("OFD.xml").decode()
    assert "<ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures>" in entry
    signatures = package.read("Doc_0/Signs/Signatures.xml").decode()
    assert 'Type="Seal"' in signatures and "/Doc_0/Signs/Sign_0/Signature.xml" in signatures
    description = package.read("Doc_0/Signs/Sign_0/Signature.xml").decode()
    assert "<ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod>" in description
    assert 'CheckMethod="1.2.156.10197.1.401"' in description
    # Bound to the seal drawn on the page: the stamp annotation covers the red ring.
    assert '<ofd:StampAnnot ID="1" PageRef="1" Boundary="162 ' in description
    # The seal's picture is the same seal, drawn alone as a one-page OFD.
    to_sign = _children(_children(package.read("Doc_0/Signs/Sign_0/SignedValue.dat"))[0])
    seal_info = _children(_children(to_sign[1])[0])
    picture = _children(seal_info[3])
    assert core.IA5String.load(picture[0]).native == "ofd"
    seal_page = zipfile.ZipFile(io.BytesIO(core.OctetString.load(picture[1]).native))
    assert b"PathObject" in seal_page.read("Doc_0/Pages/Page_0/Content.xml")
    # The data file attached is still read and verified as before.
    assert ofd.read_receipt_ofd(content).signed == receipt.data.encode()


def test_ofd_sealed_by_someone_else_is_refused(receipt: Receipt, tmp_path: Path) -> None:
    from ipdesk.receipts.ofdseal import check_ofd_seal, sealed_receipt_ofd

    stranger = certificates.generate_seal_certificate(tmp_path, "某某公司")
    content = sealed_receipt_ofd(receipt, stranger)
    assert openssl_checks_ofd_seal(content, tmp_path) == []  # well made, by someone else
    trusted = document_certificates().of_kind(certificates.SEAL)
    answer = check_ofd_seal(content, trusted)
    assert answer.status == certificates.INVALID and "not one of the issuing unit" in answer.reason


# --- verification: API, page and command -----------------------------------------------------


def _upload(content: bytes, name: str = "receipt") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return api_client().post("/api/v1/verify/file", {"file": file}, format="multipart").json()


def _visible_change(content: bytes) -> bytes:
    """The PDF with one byte of its page changed, its embedded data file left intact."""
    changed = bytearray(content)
    offset = content.index(b"/Creator (ipdesk)") + len(b"/Creator (ip")
    changed[offset] = ord("X")
    return bytes(changed)


def test_file_verification_names_the_part_that_failed(receipt: Receipt) -> None:
    signed_pdf = documents.render(receipt, "pdf")
    answer = _upload(signed_pdf)
    assert answer["status"] == "genuine" and answer["format"] == "pdf"
    assert answer["signature"] == "valid" and answer["failed"] is None
    assert answer["document_signature"]["status"] == "valid"
    assert answer["document_signature"]["certificate"].startswith("pdf-")
    assert answer["payer"] == receipt.payer_name

    changed = _upload(_visible_change(signed_pdf))
    assert changed["status"] == "mismatch" and changed["failed"] == "pdf_signature"
    assert changed["signature"] == "valid"  # the data file inside was not touched
    assert changed["document_signature"]["status"] == "invalid"
    assert "payer" not in changed

    package = zipfile.ZipFile(io.BytesIO(documents.render(receipt, "ofd")))
    parts = {n: package.read(n) for n in package.namelist()}
    parts["Doc_0/Pages/Page_0/Content.xml"] = parts["Doc_0/Pages/Page_0/Content.xml"].replace(
        b"900.00", b"990.00"
    )
    ofd_answer = _upload(ofd.package(parts, receipt.issued_at))
    assert ofd_answer["status"] == "mismatch" and ofd_answer["failed"] == "ofd_signature"
    assert "Content.xml" in ofd_answer["document_signature"]["reason"]
    assert _upload(documents.render(receipt, "ofd"))["failed"] is None

    # Files made before documents were signed still verify by their data file.
    legacy = _upload(pdf.receipt_pdf(receipt))
    assert legacy["status"] == "genuine" and legacy["document_signature"]["status"] == "absent"


def test_verify_page_says_which_signature_failed(receipt: Receipt) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    signed_pdf = documents.render(receipt, "pdf")
    good = Client().post("/verify/", {"file": SimpleUploadedFile("r.pdf", signed_pdf)})
    assert good.status_code == 200
    assert "document-signature-valid" in good.content.decode()
    bad = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        "/verify/", {"file": SimpleUploadedFile("r.pdf", _visible_change(signed_pdf))}
    )
    page = bad.content.decode()
    assert "document-signature-invalid" in page
    assert "The PDF's own signature is not valid" in page
    zh = Client().post(
        "/verify/", {"file": SimpleUploadedFile("r.pdf", _visible_change(signed_pdf))}
    )
    assert "PDF 自身的签名无效" in zh.content.decode()


def test_verify_command_checks_document_signatures_offline(
    receipt: Receipt, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys.json"
    keys.write_bytes(Client().get("/.well-known/ipdesk/keys.json").content)
    for fmt, label in (("pdf", "PDF signature: valid"), ("ofd", "OFD signature: valid")):
        path = tmp_path / f"r.{fmt}"
        path.write_bytes(documents.render(receipt, fmt))
        call_command("receipts", "verify", str(path), "--keys", str(keys))
        out = capsys.readouterr().out
        assert "signature: valid" in out and label in out
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(_visible_change(documents.render(receipt, "pdf")))
    with pytest.raises(CommandError, match="PDF signature: INVALID"):
        call_command("receipts", "verify", str(changed), "--keys", str(keys))
    # Published keys without the certificates: the PDF's signer is not trusted.
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"keys": json.loads(keys.read_text())["keys"]}))
    with pytest.raises(CommandError, match="not one of the issuing unit"):
        call_command("receipts", "verify", str(tmp_path / "r.pdf"), "--keys", str(bare))


# --- certificates: published, configured, rotated ----------------------------------------------


def test_certificates_are_published(tmp_path: Path) -> None:
    document = Client().get("/.well-known/ipdesk/keys.json").json()
    published = {entry["id"]: entry for entry in document["certificates"]}
    active = document_certificates().active
    assert {cert.id for cert in active.values()} <= set(published)
    assert all(published[cert.id]["active"] for cert in active.values())
    pdf_entry = published[active[certificates.PDF].id]
    assert pdf_entry["use"] == "pdf-signature" and len(pdf_entry["x5c"]) == 2
    response = Client().get("/.well-known/ipdesk/certificates.pem")
    assert response.status_code == 200 and response["Content-Type"] == "application/x-pem-file"
    bundle = tmp_path / "certs.pem"
    bundle.write_bytes(response.content)
    seal = active[certificates.SEAL]
    leaf = tmp_path / "seal.pem"
    leaf.write_bytes(seal.pem())
    # OpenSSL reads the bundle and checks the SM2 seal certificate's own signature.
    assert _openssl("verify", "-CAfile", str(leaf), str(leaf)).returncode == 0
    assert b"-----BEGIN CERTIFICATE-----" in bundle.read_bytes()


def test_rotation_keeps_documents_of_the_old_certificate_checkable(
    receipt: Receipt, tmp_path: Path, settings: Any
) -> None:
    old = certificates.generate_pdf_certificate(tmp_path, "国家知识产权局")
    certificates.generate_seal_certificate(tmp_path, "国家知识产权局")
    settings.IPDESK_DOCUMENT_CERT_DIR = str(tmp_path)
    document_certificates.cache_clear()
    try:
        signed_by_old = documents.render(receipt, "pdf")
        new = certificates.generate_pdf_certificate(tmp_path, "国家知识产权局")
        with pytest.raises(ImproperlyConfigured, match="IPDESK_PDF_CERT_ID"):
            document_certificates()
        settings.IPDESK_PDF_CERT_ID = new.id
        document_certificates.cache_clear()
        (tmp_path / f"{old.id}.key.pem").unlink()  # retired: only its chain stays
        document_certificates.cache_clear()
        certs = document_certificates()
        assert certs.signer(certificates.PDF) == new
        assert {c.id for c in certs.of_kind(certificates.PDF)} == {old.id, new.id}
        signed_by_new = documents.render(receipt, "pdf")
        assert signed_by_new != signed_by_old
        for content, cert in ((signed_by_old, old), (signed_by_new, new)):
            answer = _upload(content)
            assert answer["failed"] is None
            assert answer["document_signature"]["certificate"] == cert.id
    finally:
        settings.IPDESK_PDF_CERT_ID = ""
        document_certificates.cache_clear()


def test_certificate_configuration_errors_are_clear(tmp_path: Path) -> None:
    cert = certificates.generate_pdf_certificate(tmp_path / "a", "国家知识产权局")
    other = certificates.generate_pdf_certificate(tmp_path / "b", "国家知识产权局")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "x.chain.pem").write_bytes(cert.pem())
    (mixed / "x.key.pem").write_bytes((tmp_path / "b" / f"{other.id}.key.pem").read_bytes())
    with pytest.raises(ImproperlyConfigured, match="not the certificate's"):
        certificates.load_certificates(mixed, {}, {})
    (mixed / "x.chain.pem").write_text("not a certificate")
    with pytest.raises(ImproperlyConfigured, match="not a PEM certificate chain"):
        certificates.load_certificates(mixed, {}, {})
    with pytest.raises(ImproperlyConfigured, match="go together"):
        certificates.load_certificates(tmp_path / "none", {"IPDESK_PDF_SIGNING_KEY": "x"}, {})
    with pytest.raises(ImproperlyConfigured, match="IPDESK_SEAL_CERT_ID"):
        certificates.load_certificates(tmp_path / "a", {}, {certificates.SEAL: "seal-0000"})


def test_certificates_from_the_environment(tmp_path: Path) -> None:
    seal = certificates.generate_seal_certificate(tmp_path, "国家知识产权局")
    pdf_cert = certificates.generate_pdf_certificate(tmp_path, "国家知识产权局")
    env = {
        "IPDESK_SEAL_KEY": (tmp_path / f"{seal.id}.key.sm2").read_text(),
        "IPDESK_SEAL_CERT_CHAIN": seal.pem().decode(),
        "IPDESK_PDF_SIGNING_KEY": (tmp_path / f"{pdf_cert.id}.key.pem").read_text(),
        "IPDESK_PDF_CERT_CHAIN": pdf_cert.pem().decode(),
    }
    loaded = certificates.load_certificates(tmp_path / "absent", env, {})
    assert loaded.signer(certificates.SEAL) == seal
    assert loaded.signer(certificates.PDF) == pdf_cert
    assert (tmp_path / f"{seal.id}.key.sm2").stat().st_mode & 0o077 == 0


def test_certgen_command(tmp_path: Path, settings: Any, capsys: pytest.CaptureFixture[str]) -> None:
    settings.IPDESK_DOCUMENT_CERT_DIR = str(tmp_path)
    try:
        call_command("receipts", "certgen", "--days", "30")
        out = capsys.readouterr().out
        assert "pdf-" in out and "seal-" in out
        certs = certificates.load_certificates(tmp_path, {}, {})
        assert set(certs.active) == {certificates.PDF, certificates.SEAL}
        pdf_cert = certs.active[certificates.PDF]
        assert (pdf_cert.not_after - pdf_cert.not_before).days == 30
        with pytest.raises(CommandError, match="--days"):
            call_command("receipts", "certgen", "--days", "0")
    finally:
        document_certificates.cache_clear()


def test_a_hostile_ofd_package_is_refused_before_hashing_it(receipt: Receipt) -> None:
    from ipdesk.receipts.ofdseal import MAX_PARTS, check_ofd_seal

    package = zipfile.ZipFile(io.BytesIO(documents.render(receipt, "ofd")))
    parts = {n: package.read(n) for n in package.namelist()}
    parts.update({f"Doc_0/Res/filler_{i}.bin": b"x" for i in range(MAX_PARTS)})
    answer = check_ofd_seal(ofd.package(parts, receipt.issued_at), [])
    assert answer.status == certificates.INVALID and "too large" in answer.reason
