"""The receipt's XML data file, and what every rendering carries to be verified offline.

The XML follows the structure of the fiscal e-receipt data file: a header (receipt id, the
tag ``CZ-EI-<region>``, a version) and a body with the main part and the line items. It
ends with ``<Signature>``: the canonical bytes that were signed (base64), the signature,
the key id and the algorithm. A verifier checks the signature over those bytes, then that
every visible field says what the signed data says, then (online) that the record agrees.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException

from .models import Receipt

VERSION = "1.0"


class UnreadableDocument(ValueError):
    """The file is not a receipt rendering ipdesk can read."""


@dataclass(frozen=True)
class SignedReceipt:
    """What a receipt document carries: the signed bytes and their signature."""

    signed: bytes
    signature: bytes
    key_id: str
    algorithm: str

    @property
    def data(self) -> dict[str, Any]:
        return dict(json.loads(self.signed))

    @classmethod
    def of(cls, receipt: Receipt) -> SignedReceipt:
        return cls(
            signed=receipt.data.encode("utf-8"),
            signature=base64.b64decode(receipt.signature),
            key_id=receipt.key_id,
            algorithm=receipt.algorithm,
        )


# What XML 1.0 cannot carry in element text: C0 controls but tab and line feed (carriage
# return is turned into a line end by every parser), and the two non-characters.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def shown(value: Any) -> str:
    """A value as the XML's visible fields show it: its text, line ends as an XML parser
    gives them back (CR LF and CR become LF), and each character XML cannot carry replaced
    by U+FFFD. The signed data keeps the exact text; this is only how it is displayed."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _NOT_IN_XML.sub("\ufffd", text)


def _text(parent: Element, tag: str, value: Any) -> Element:
    child = SubElement(parent, tag)
    child.text = shown(value)
    return child


def _visible_fields(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, value) of the fields the XML shows, in document order."""
    issued = data["issued_at"]
    fields = [
        ("Main/EInvoiceName", data["name"]),
        ("Main/EInvoiceCode", data["code"]),
        ("Main/EInvoiceNumber", data["number"]),
        ("Main/RandomNumber", data["check_code"]),
        ("Main/EInvoiceType", data["kind"]),
        ("Main/TotalAmount", data["total"]),
        ("Main/TotalAmountInWords", data["total_in_words"]),
        ("Main/IssueDate", data["issue_date"]),
        ("Main/IssueTime", issued),
        ("Main/InvoicingParty/InvoicingPartyName", data["payee"]),
        ("Main/PayerParty/PayerPartyType", str(data["payer"]["type"])),
        ("Main/PayerParty/PayerPartyCode", data["payer"]["id_code"]),
        ("Main/PayerParty/PayerPartyName", data["payer"]["name"]),
        ("Main/Handler", data["issuer"]),
        ("Main/Checker", data["checker"]),
        ("Main/Remark", data["remark"]),
    ]
    related = data.get("related")
    if related:
        fields += [
            ("Main/RelatedInvoice/EInvoiceCode", related["code"]),
            ("Main/RelatedInvoice/EInvoiceNumber", related["number"]),
            ("Main/RelatedInvoice/Reason", related["reason"]),
        ]
    return fields


ITEM_FIELDS = (
    ("ItemCode", "code"),
    ("ItemName", "name"),
    ("ItemUnit", "unit"),
    ("ItemQuantity", "quantity"),
    ("ItemStd", "standard"),
    ("ItemAmount", "amount"),
    ("ItemRemark", "remark"),
)


def receipt_xml(receipt: Receipt) -> bytes:
    """The XML data file of a receipt; the same receipt always gives the same bytes."""
    signed = SignedReceipt.of(receipt)
    data = signed.data
    root = Element("EInvoice")
    header = SubElement(root, "Header")
    _text(header, "EInvoiceID", f"{data['code']}-{data['number']}")
    _text(header, "EInvoiceTag", f"CZ-EI-{data['code'][:2]}")
    _text(header, "Version", VERSION)
    body = SubElement(root, "EInvoiceData")
    nodes: dict[str, Element] = {"": body}
    for path, value in _visible_fields(data):
        parent_path, _sep, tag = path.rpartition("/")
        parent = nodes.get(parent_path)
        if parent is None:
            grand, _sep, name = parent_path.rpartition("/")
            parent = nodes[parent_path] = SubElement(nodes[grand], name)
        _text(parent, tag, value)
    details = SubElement(body, "Details")
    for item in data["items"]:
        element = SubElement(details, "Item")
        for tag, key in ITEM_FIELDS:
            _text(element, tag, item[key])
    signature = SubElement(
        root, "Signature", {"keyId": signed.key_id, "algorithm": signed.algorithm}
    )
    _text(signature, "SignedData", base64.b64encode(signed.signed).decode("ascii")).set(
        "encoding", "base64"
    )
    _text(signature, "SignatureValue", base64.b64encode(signed.signature).decode("ascii"))
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(
        root, encoding="utf-8", xml_declaration=False
    )


def read_receipt_xml(content: bytes) -> SignedReceipt:
    """The signed data of an XML data file, refusing one whose visible fields disagree."""
    try:
        root = SafeElementTree.fromstring(content)
    except (SafeElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise UnreadableDocument(f"file: not a well-formed XML data file ({exc})") from exc
    signature = root.find("Signature")
    if root.tag != "EInvoice" or signature is None:
        raise UnreadableDocument("file: not an ipdesk receipt data file (no <Signature>)")
    try:
        signed = SignedReceipt(
            signed=base64.b64decode(signature.findtext("SignedData", ""), validate=True),
            signature=base64.b64decode(signature.findtext("SignatureValue", ""), validate=True),
            key_id=signature.get("keyId", ""),
            algorithm=signature.get("algorithm", ""),
        )
        data = signed.data
    except (binascii.Error, ValueError) as exc:
        raise UnreadableDocument("file: the <Signature> block is damaged") from exc
    body = root.find("EInvoiceData")
    if body is None:
        raise UnreadableDocument("file: no <EInvoiceData>")
    try:
        expected = _visible_fields(data)
        items = [[shown(item[key]) for _tag, key in ITEM_FIELDS] for item in data["items"]]
    except (KeyError, TypeError) as exc:
        raise UnreadableDocument("file: the signed data lacks receipt fields") from exc
    for path, value in expected:
        if (body.findtext(path) or "") != shown(value):
            raise UnreadableDocument(f"file: {path} differs from the signed data")
    displayed = [
        [(item.findtext(tag) or "") for tag, _key in ITEM_FIELDS]
        for item in body.findall("Details/Item")
    ]
    if displayed != items:
        raise UnreadableDocument("file: the line items differ from the signed data")
    return signed
