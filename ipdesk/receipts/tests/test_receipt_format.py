"""docs/receipt-format.md holds what the code does, byte for byte.

The document's worked example is a set of fenced blocks, each preceded by a marker
``<!-- example: NAME -->``. The ``inputs`` block and the example keys are read from the
document; everything else the code produces is compared with the document's blocks. Then the
receipt is rebuilt from its XML by the document's element table alone (with a canonical JSON
written here, not ipdesk's), and the signatures are checked with other implementations:
``cryptography`` for Ed25519, snowland-smx and the ``openssl`` command for SM2.

When the receipt format changes on purpose, rewrite the blocks from the code with
``IPDESK_UPDATE_RECEIPT_FORMAT_EXAMPLE=1 .venv/bin/pytest <this file>`` and read the
difference before committing it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import core
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from defusedxml import ElementTree
from django.test import override_settings
from pysmx.SM2 import Verify as snowland_sm2_verify

from ipdesk.core.canonical import canonical_bytes
from ipdesk.receipts import services, signing
from ipdesk.receipts.datafile import read_receipt_xml, receipt_xml, shown
from ipdesk.receipts.models import Receipt, ReceiptSeries

DOC = Path(__file__).resolve().parents[3] / "docs" / "receipt-format.md"
BLOCK = re.compile(r"<!-- example: (?P<name>[a-z0-9-]+) -->\n```[a-z]*\n(?P<body>.*?)```", re.S)
UPDATE = os.environ.get("IPDESK_UPDATE_RECEIPT_FORMAT_EXAMPLE") == "1"
# What the code produces from the inputs; the rest of the blocks are inputs.
PRODUCED = (
    "canonical",
    "canonical-sha256",
    "xml",
    "ed25519-public",
    "ed25519-key-id",
    "ed25519-signature",
    "sm2-public",
    "sm2-key-id",
    "sm2-signature-der",
    "sm2-signature-rs",
    "escaping-canonical",
    "escaping-xml",
)


def doc_blocks() -> dict[str, str]:
    return {
        m["name"]: m["body"].removesuffix("\n")
        for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))
    }


def _facts(inputs: dict[str, Any]) -> services.PaymentFacts:
    payment = inputs["payment"]
    return services.PaymentFacts(
        pk=1,
        payer_kind=payment["payer_kind"],
        payer_id_code=payment["payer_id_code"],
        receipt_title=payment["receipt_title"],
        application_number=payment["application_number"],
        payment_date=dt.date.fromisoformat(payment["payment_date"]),
        total=Decimal(payment["total"]),
        issuer=payment["issuer"],
        checker=payment["checker"],
        lines=[
            services.LineFacts(
                code=line["code"],
                name=line["name"],
                unit=line["unit"],
                year=line["year"],
                quantity=line["quantity"],
                standard=Decimal(line["standard"]),
                amount=Decimal(line["amount"]),
            )
            for line in payment["lines"]
        ],
    )


def produce(blocks: dict[str, str]) -> dict[str, str]:
    """Every produced block, from the document's inputs, by ipdesk's code."""
    inputs = json.loads(blocks["inputs"])
    with override_settings(IPDESK_RECEIPT_PAYEE=inputs["payee"]):
        data = services.receipt_data(
            payment=_facts(inputs),
            series=ReceiptSeries(code=inputs["code"]),
            number=inputs["number"],
            check_code=inputs["check_code"],
            issued_at=dt.datetime.fromisoformat(inputs["issued_at"]),
        )
    body = canonical_bytes(data)
    seed = bytes.fromhex(blocks["ed25519-private"])
    private = Ed25519PrivateKey.from_private_bytes(seed)
    ed25519 = signing.Ed25519Signer(key=private.public_key(), private=private)
    signature = ed25519.sign(body)
    sm2 = signing.sm2_signer(blocks["sm2-private"], "the example")
    sm2_rs = sm2.sign_raw(body, nonce=int(blocks["sm2-nonce"], 16))
    receipt = Receipt(
        series=ReceiptSeries(code=inputs["code"]),
        number=inputs["number"],
        data=body.decode("utf-8"),
        signature=base64.b64encode(signature).decode("ascii"),
        key_id=ed25519.key_id,
        algorithm=ed25519.signature_algorithm,
    )
    escaping = json.loads(blocks["escaping-input"])
    return {
        "canonical": body.decode("utf-8"),
        "canonical-sha256": hashlib.sha256(body).hexdigest(),
        "xml": receipt_xml(receipt).decode("utf-8").rstrip("\n"),
        "ed25519-public": ed25519.raw.hex(),
        "ed25519-key-id": ed25519.key_id,
        "ed25519-signature": base64.b64encode(signature).decode("ascii"),
        "sm2-public": sm2.public_hex,
        "sm2-key-id": sm2.key_id,
        "sm2-signature-der": signing.der_signature(sm2_rs).hex(),
        "sm2-signature-rs": sm2_rs.hex(),
        "escaping-canonical": canonical_bytes({"remark": escaping}).decode("utf-8"),
        "escaping-xml": f"<Remark>{shown(escaping)}</Remark>",
    }


def _write(blocks: dict[str, str]) -> None:
    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in blocks:
            return match.group(0)
        fence = match.group(0).split("\n", 2)[1]
        return f"<!-- example: {name} -->\n{fence}\n{blocks[name]}\n```"

    DOC.write_text(BLOCK.sub(replace, DOC.read_text(encoding="utf-8")), encoding="utf-8")


def test_the_worked_example_is_what_the_code_produces() -> None:
    blocks = doc_blocks()
    produced = produce(blocks)
    if UPDATE:
        _write(produced)
        blocks = doc_blocks()
    missing = [name for name in PRODUCED if name not in blocks]
    assert not missing, f"docs/receipt-format.md lacks the example blocks {missing}"
    for name in PRODUCED:
        assert blocks[name] == produced[name], (
            f"docs/receipt-format.md, example {name!r}, differs from the code; if the change "
            "is meant, rerun with IPDESK_UPDATE_RECEIPT_FORMAT_EXAMPLE=1"
        )


# --- a third party's view: the document only --------------------------------------------------


def element_table() -> list[tuple[str, str, str]]:
    """(XML path, canonical key, JSON type) rows of the document's element table."""
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `([A-Za-z/]+)` \| `([a-z_.\[\]]+)` \| (\w+)", line)
        if match:
            rows.append((match[1], match[2], match[3]))
    return rows


def rebuild_from_xml(xml: bytes, version: int) -> bytes:
    """The canonical bytes of an XML data file, by the document's table and rules only."""
    root = ElementTree.fromstring(xml)
    body = root.find("EInvoiceData")
    assert body is not None
    data: dict[str, Any] = {"version": version}
    items: list[dict[str, Any]] = [{} for _ in body.findall("Details/Item")]
    convert = {"string": str, "integer": int}
    for path, key, kind in element_table():
        if key.startswith("items[]."):
            for item, element in zip(items, body.findall("Details/Item"), strict=True):
                item[key.removeprefix("items[].")] = convert[kind](
                    element.findtext(path.removeprefix("Details/Item/")) or ""
                )
            continue
        element = body.find(path.removeprefix("EInvoiceData/"))
        if element is None:
            continue  # RelatedInvoice, absent on a blue receipt
        target = data
        *parents, name = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[name] = convert[kind](element.text or "")
    data["items"] = items
    data.setdefault("related", None)
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def test_a_third_party_rebuilds_and_verifies_the_example(tmp_path: Path) -> None:
    blocks = doc_blocks()
    xml = blocks["xml"].encode("utf-8")
    canonical = blocks["canonical"].encode("utf-8")
    assert len(element_table()) >= 25
    assert rebuild_from_xml(xml, json.loads(canonical)["version"]) == canonical
    # The XML carries the same bytes in SignedData, and ipdesk's reader accepts the file.
    root = ElementTree.fromstring(xml)
    assert base64.b64decode(root.findtext("Signature/SignedData") or "") == canonical
    assert read_receipt_xml(xml).signed == canonical
    # Ed25519 with cryptography, from the raw public key.
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(blocks["ed25519-public"]))
    public.verify(base64.b64decode(blocks["ed25519-signature"]), canonical)
    assert root.find("Signature").get("keyId") == blocks["ed25519-key-id"]  # type: ignore[union-attr]
    # SM2 with snowland-smx: r ‖ s taken out of the DER by a generic parser, signer id in Z.
    der = bytes.fromhex(blocks["sm2-signature-der"])
    r, s = (int(child.native) for child in _Integers.load(der))
    rs = f"{r:064x}{s:064x}"
    assert rs == blocks["sm2-signature-rs"]
    assert snowland_sm2_verify(rs, canonical, blocks["sm2-public"], 64, uid=b"1234567812345678")
    assert not snowland_sm2_verify(
        rs, canonical + b" ", blocks["sm2-public"], 64, uid=b"1234567812345678"
    )
    # ...and with OpenSSL, which reads the DER as it is.
    point = bytes.fromhex("04" + blocks["sm2-public"])
    spki = (
        bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200") + point
    )  # SubjectPublicKeyInfo: id-ecPublicKey, the SM2 curve, the point
    (tmp_path / "pub.pem").write_text(
        "-----BEGIN PUBLIC KEY-----\n"
        + base64.b64encode(spki).decode()
        + "\n-----END PUBLIC KEY-----\n"
    )
    (tmp_path / "data").write_bytes(canonical)
    (tmp_path / "sig").write_bytes(der)
    result = subprocess.run(
        [
            "openssl", "dgst", "-sm3", "-verify", str(tmp_path / "pub.pem"),
            "-sigopt", "distid:1234567812345678", "-signature", str(tmp_path / "sig"),
            str(tmp_path / "data"),
        ],
        capture_output=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0 and b"Verified OK" in result.stdout


class _Integers(core.SequenceOf):
    _child_spec = core.Integer


def test_key_ids_are_as_the_document_says() -> None:
    blocks = doc_blocks()
    ed_raw = bytes.fromhex(blocks["ed25519-public"])
    sm2_raw = bytes.fromhex(blocks["sm2-public"])
    assert blocks["ed25519-key-id"] == "ed25519-" + hashlib.sha256(ed_raw).hexdigest()[:16]
    assert blocks["sm2-key-id"] == "sm2-" + hashlib.sha256(sm2_raw).hexdigest()[:16]


def test_both_sm2_encodings_verify_under_their_own_names() -> None:
    blocks = doc_blocks()
    canonical = blocks["canonical"].encode("utf-8")
    key = signing.Sm2Public(public_hex=blocks["sm2-public"])
    der = bytes.fromhex(blocks["sm2-signature-der"])
    rs = bytes.fromhex(blocks["sm2-signature-rs"])
    assert key.verify(canonical, der, signing.SM2_SM3_DER)
    assert key.verify(canonical, rs, signing.SM2_SM3)  # receipts signed before DER
    # Each encoding only under its own name, and only in its strict form.
    assert not key.verify(canonical, rs, signing.SM2_SM3_DER)
    assert not key.verify(canonical, der, signing.SM2_SM3)
    long_form = b"\x30\x81" + der[1:]  # the same signature, length in BER's long form
    assert not key.verify(canonical, long_form, signing.SM2_SM3_DER)
    assert not key.verify(canonical, der, signing.ED25519)


@pytest.mark.parametrize(
    "text",
    ["陈\x01发明", "line\r\nbreak", "tab\tand\x7f", 'quote " back \\ slash', "\x00\x1f\ufffe"],
)
def test_any_text_survives_the_xml_data_file(text: str) -> None:
    """Control characters are escaped in the canonical JSON and shown as U+FFFD in the XML;
    the file stays well-formed, reads back and verifies."""
    data = json.loads(doc_blocks()["canonical"])
    data["payer"]["name"] = text
    data["items"][0]["remark"] = text
    body = canonical_bytes(data)
    private = Ed25519PrivateKey.generate()
    signer = signing.Ed25519Signer(key=private.public_key(), private=private)
    receipt = Receipt(
        series=ReceiptSeries(code=data["code"]),
        data=body.decode("utf-8"),
        signature=base64.b64encode(signer.sign(body)).decode("ascii"),
        key_id=signer.key_id,
        algorithm=signer.signature_algorithm,
    )
    xml = receipt_xml(receipt)
    ElementTree.fromstring(xml)  # well-formed
    read = read_receipt_xml(xml)
    assert read.signed == body and read.data["payer"]["name"] == text
    assert signer.verify(read.signed, read.signature)
