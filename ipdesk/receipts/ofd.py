"""The receipt as an OFD (GB/T 33190-2016), the layout format of China's fiscal e-receipts.

An OFD is a ZIP package of XML parts in the namespace ``http://www.ofdspec.org/2016``::

    OFD.xml                          entry: DocInfo (id, title, dates, the receipt's numbers
                                     as CustomData) and the DocRoot
    Doc_0/Document.xml               CommonData (MaxUnitID, PageArea, PublicRes), the page,
                                     the attachments
    Doc_0/PublicRes.xml              the font (a subset of the CJK font, Unicode cmap)
    Doc_0/Res/font_<id>.ttf
    Doc_0/Pages/Page_0/Content.xml   TextObject and PathObject of the layout of ``layout.py``
                                     (the same as the PDF's), the QR code as a PathObject
    Doc_0/Attachments.xml            lists the XML data file ...
    Doc_0/Attachs/<code>-<number>.xml  ... the signed data, to verify the receipt offline

Units are millimetres, y downwards, as in the layout. The package is deterministic: its
entries sorted, every timestamp the receipt's issue time, ids numbered in drawing order.

The QR code is one PathObject whose subpaths are the runs of dark modules, each stroked
along its middle with the width of a module: it shows the same with any reader, also one
that only strokes paths.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import posixpath
import zipfile
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from ipdesk.core.money import money_str
from ipdesk.core.pdf import cjk_font

from .datafile import SignedReceipt, UnreadableDocument, read_receipt_xml, receipt_xml
from .fontsubset import truetype_subset
from .layout import (
    PT,
    Color,
    Ellipse,
    Lines,
    Page,
    Polygon,
    QrCode,
    Text,
    draw,
    receipt_layout,
    seal_layout,
)
from .models import Receipt
from .pdf import DATA_FILE_NAME, KAPPA, data_file_name
from .qr import dark_runs

NAMESPACE = "http://www.ofdspec.org/2016"
Q = f"{{{NAMESPACE}}}"
MAX_PART = 4 * 1024 * 1024  # bytes read from one part of an uploaded OFD
XML_HEADER = b'<?xml version="1.0" encoding="UTF-8"?>\n'
# Ids are unique in the whole document (ST_ID): the page, its layer, the font, then the
# page objects in drawing order, then the attachment (MaxUnitID).
PAGE_ID, LAYER_ID, FONT_ID = "1", "2", "3"
FIRST_OBJECT_ID = 4


def _n(value: float) -> str:
    """A length in millimetres, to a thousandth, without trailing zeros."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _color(color: Color) -> str:
    return " ".join(str(v) for v in color)


def _xml(root: Element) -> bytes:
    return XML_HEADER + tostring(root, encoding="utf-8", xml_declaration=False)


def _ofd(tag: str, attributes: dict[str, str] | None = None) -> Element:
    return Element(f"ofd:{tag}", {"xmlns:ofd": NAMESPACE, **(attributes or {})})


def _sub(parent: Element, tag: str, text: str | None = None, **attributes: str) -> Element:
    child = SubElement(parent, f"ofd:{tag}", attributes)
    if text is not None:
        child.text = text
    return child


class _Content:
    """Writes the layout's primitives as OFD page objects, numbering their ids."""

    def __init__(self, layer: Element, font_id: str, first_id: int) -> None:
        self.layer = layer
        self.font_id = font_id
        self.next_id = first_id

    def _id(self) -> str:
        self.next_id += 1
        return str(self.next_id - 1)

    def text(self, item: Text) -> None:
        size = item.size * PT
        attributes = {"ID": self._id()}
        if item.angle:
            # Turned around the middle of its baseline, as in the PDF (angle counter-clockwise
            # on the page; y runs downwards here, hence the signs).
            side = size * 1.6
            pivot_x, pivot_y = item.x + item.width / 2, item.y
            cos, sin = math.cos(math.radians(item.angle)), math.sin(math.radians(item.angle))
            half = item.width / 2
            attributes["Boundary"] = " ".join(
                _n(v) for v in (pivot_x - side, pivot_y - side, 2 * side, 2 * side)
            )
            attributes["CTM"] = " ".join(
                _n(v) if abs(v) >= 0.0005 else "0"
                for v in (cos, -sin, sin, cos, side - cos * half, side + sin * half)
            )
            x, y = 0.0, 0.0
        else:
            top = item.y - size
            attributes["Boundary"] = " ".join(
                _n(v) for v in (item.x, top, max(item.width, 0.1), size * 1.3)
            )
            x, y = 0.0, size
        attributes["Font"] = self.font_id
        attributes["Size"] = _n(size)
        element = _sub(self.layer, "TextObject", **attributes)
        _sub(element, "FillColor", Value=_color(item.color))
        code = _sub(element, "TextCode", item.text, X=_n(x), Y=_n(y))
        if len(item.text) > 1:
            code.set(
                "DeltaX",
                " ".join(_advance(char, size) for char in item.text[:-1]),
            )

    def _path(
        self,
        box: tuple[float, float, float, float],
        data: str,
        *,
        color: Color,
        line_width: float = 0.0,
        fill: bool = False,
    ) -> None:
        attributes = {"ID": self._id(), "Boundary": " ".join(_n(v) for v in box)}
        if fill:
            attributes.update({"Stroke": "false", "Fill": "true"})
        else:
            attributes["LineWidth"] = _n(line_width)
        element = _sub(self.layer, "PathObject", **attributes)
        if not fill:
            _sub(element, "StrokeColor", Value=_color(color))
        # Readers that only stroke paths take the fill colour as the stroke colour.
        _sub(element, "FillColor", Value=_color(color))
        _sub(element, "AbbreviatedData", data)

    def lines(self, item: Lines) -> None:
        margin = item.line_width
        xs = [v for s in item.segments for v in (s[0], s[2])]
        ys = [v for s in item.segments for v in (s[1], s[3])]
        x0, y0 = min(xs) - margin, min(ys) - margin
        box = (x0, y0, max(xs) - x0 + margin, max(ys) - y0 + margin)
        data = " ".join(
            f"M {_n(x1 - x0)} {_n(y1 - y0)} L {_n(x2 - x0)} {_n(y2 - y0)}"
            for x1, y1, x2, y2 in item.segments
        )
        self._path(box, data, color=item.color, line_width=item.line_width)

    def ellipse(self, item: Ellipse) -> None:
        margin = item.line_width
        x0, y0 = item.cx - item.rx - margin, item.cy - item.ry - margin
        cx, cy, rx, ry = item.cx - x0, item.cy - y0, item.rx, item.ry
        kx, ky = rx * KAPPA, ry * KAPPA
        curves = (
            (cx + rx, cy - ky, cx + kx, cy - ry, cx, cy - ry),
            (cx - kx, cy - ry, cx - rx, cy - ky, cx - rx, cy),
            (cx - rx, cy + ky, cx - kx, cy + ry, cx, cy + ry),
            (cx + kx, cy + ry, cx + rx, cy + ky, cx + rx, cy),
        )
        data = f"M {_n(cx + rx)} {_n(cy)} " + " ".join(
            "B " + " ".join(_n(v) for v in curve) for curve in curves
        )
        box = (x0, y0, 2 * (rx + margin), 2 * (ry + margin))
        self._path(box, data + " C", color=item.color, line_width=item.line_width)

    def polygon(self, item: Polygon) -> None:
        xs = [p[0] for p in item.points]
        ys = [p[1] for p in item.points]
        x0, y0 = min(xs), min(ys)
        first, *rest = item.points
        data = f"M {_n(first[0] - x0)} {_n(first[1] - y0)} " + " ".join(
            f"L {_n(x - x0)} {_n(y - y0)}" for x, y in rest
        )
        self._path((x0, y0, max(xs) - x0, max(ys) - y0), data + " C", color=item.color, fill=True)

    def qr(self, item: QrCode) -> None:
        module = item.module
        size = len(item.matrix)
        side = module * size
        across = [_n(k * module) for k in range(size + 1)]
        middles = [_n((k + 0.5) * module) for k in range(size)]
        data = " ".join(
            f"M {across[column]} {middles[row]} L {across[column + length]} {middles[row]}"
            for row, column, length in dark_runs(item.matrix)
        )
        self._path((item.x, item.y, side, side), data, color=(0, 0, 0), line_width=module)


@lru_cache(maxsize=4096)
def _advance(char: str, size: float) -> str:
    """Advance of a character at ``size`` mm, in millimetres, as written in DeltaX."""
    return _n(pdfmetrics.stringWidth(char, cjk_font(), 1.0) * size)


def _font_part(texts: Iterable[str]) -> tuple[Element, bytes | None]:
    """PublicRes.xml's root and the embedded font file (None: a font the reader supplies)."""
    root = _ofd("Res", {"BaseLoc": "Res"})
    fonts = _sub(root, "Fonts")
    base = pdfmetrics.getFont(cjk_font())
    if isinstance(base, TTFont):
        face = base.face
        family = face.familyName.decode("latin-1") if face.familyName else "WenQuanYi Zen Hei"
        font = _sub(fonts, "Font", ID=FONT_ID, FontName=family, FamilyName=family)
        _sub(font, "FontFile", "font_1.ttf")
        codes = sorted({ord(char) for text in texts for char in text} | {32})
        return root, truetype_subset(face, codes, unicode_cmap=True)
    _sub(fonts, "Font", ID=FONT_ID, FontName="宋体", FamilyName="宋体")
    return root, None


def _page_parts(page: Page) -> tuple[bytes, bytes | None, bytes, int]:
    """Content.xml, the font file, PublicRes.xml and the largest id used."""
    root = _ofd("Page")
    area = _sub(root, "Area")
    _sub(area, "PhysicalBox", f"0 0 {_n(page.width)} {_n(page.height)}")
    content = _sub(root, "Content")
    layer = _sub(content, "Layer", ID=LAYER_ID, Type="Body")
    writer = _Content(layer, font_id=FONT_ID, first_id=FIRST_OBJECT_ID)
    draw(page, writer)
    res_root, font_file = _font_part(item.text for item in page.items if isinstance(item, Text))
    return _xml(root), font_file, _xml(res_root), writer.next_id - 1


def _zip(parts: dict[str, bytes], when: dt.datetime) -> bytes:
    buffer = io.BytesIO()
    stamp = when.timetuple()[:6] if when.year >= 1980 else (1980, 1, 1, 0, 0, 0)
    with zipfile.ZipFile(buffer, "w") as package:
        for name in sorted(parts):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            package.writestr(info, parts[name], compresslevel=6)
    return buffer.getvalue()


SIGNATURES_PART = "Doc_0/Signs/Signatures.xml"


def _document(page: Page, max_id: int, *, attachments: bool) -> bytes:
    document = _ofd("Document")
    common = _sub(document, "CommonData")
    _sub(common, "MaxUnitID", str(max_id + 1 if attachments else max_id))
    page_area = _sub(common, "PageArea")
    _sub(page_area, "PhysicalBox", f"0 0 {_n(page.width)} {_n(page.height)}")
    _sub(common, "PublicRes", "PublicRes.xml")
    pages = _sub(document, "Pages")
    _sub(pages, "Page", ID=PAGE_ID, BaseLoc="Pages/Page_0/Content.xml")
    if attachments:
        _sub(document, "Attachments", "Attachments.xml")
    return _xml(document)


def receipt_parts(receipt: Receipt, *, sealed: bool = False) -> tuple[dict[str, bytes], Page]:
    """The parts of the receipt's OFD package, and its page. ``sealed``: OFD.xml names the
    signature list (``ofdseal`` adds it and the signature)."""
    page = receipt_layout(receipt)
    code, number = receipt.series.code, receipt.number_text
    issued = receipt.issued_at.astimezone(dt.UTC)
    content, font_file, public_res, max_id = _page_parts(page)
    attachment_name = data_file_name(receipt)
    data_file = receipt_xml(receipt)

    ofd = _ofd("OFD", {"Version": "1.0", "DocType": "OFD"})
    body = _sub(ofd, "DocBody")
    info = _sub(body, "DocInfo")
    _sub(info, "DocID", hashlib.md5(f"{code}-{number}".encode(), usedforsecurity=False).hexdigest())
    _sub(info, "Title", page.title)
    _sub(info, "Author", page.author)
    _sub(info, "CreationDate", receipt.issue_date.isoformat())
    _sub(info, "Creator", "ipdesk")
    _sub(info, "CreatorVersion", "1")
    custom = _sub(info, "CustomDatas")
    for name, value in (
        ("票据代码", code),
        ("票据号码", number),
        ("校验码", receipt.check_code),
        ("开票日期", receipt.issue_date.isoformat()),
        ("金额", money_str(receipt.total)),
        ("查验地址", page.url),
    ):
        _sub(custom, "CustomData", value, Name=name)
    _sub(body, "DocRoot", "Doc_0/Document.xml")
    if sealed:
        _sub(body, "Signatures", SIGNATURES_PART)

    attachments = _ofd("Attachments")
    attachment = _sub(
        attachments,
        "Attachment",
        ID=str(max_id + 1),
        Name=attachment_name,
        Format="xml",
        CreationDate=issued.strftime("%Y-%m-%dT%H:%M:%S"),
        Size=_n(len(data_file) / 1024),
        Visible="true",
    )
    _sub(attachment, "FileLoc", f"Attachs/{attachment_name}")

    parts = {
        "OFD.xml": _xml(ofd),
        "Doc_0/Document.xml": _document(page, max_id, attachments=True),
        "Doc_0/PublicRes.xml": public_res,
        "Doc_0/Pages/Page_0/Content.xml": content,
        "Doc_0/Attachments.xml": _xml(attachments),
        f"Doc_0/Attachs/{attachment_name}": data_file,
    }
    if font_file is not None:
        parts["Doc_0/Res/font_1.ttf"] = font_file
    return parts, page


def package(parts: dict[str, bytes], when: dt.datetime) -> bytes:
    """The OFD (ZIP) of ``parts``, entries sorted, every timestamp ``when``."""
    return _zip(parts, when)


def receipt_ofd(receipt: Receipt) -> bytes:
    """The receipt's OFD package, unsigned; the same receipt always gives the same bytes."""
    parts, _page = receipt_parts(receipt)
    return _zip(parts, receipt.issued_at.astimezone(dt.UTC))


@lru_cache(maxsize=16)
def seal_picture(payee: str, when: dt.datetime) -> bytes:
    """The seal drawn alone as a one-page OFD: the picture an electronic seal carries."""
    page = seal_layout(payee)
    content, font_file, public_res, max_id = _page_parts(page)
    ofd = _ofd("OFD", {"Version": "1.0", "DocType": "OFD"})
    body = _sub(ofd, "DocBody")
    info = _sub(body, "DocInfo")
    _sub(info, "DocID", hashlib.md5(page.title.encode(), usedforsecurity=False).hexdigest())
    _sub(info, "Title", page.title)
    _sub(info, "Creator", "ipdesk")
    _sub(body, "DocRoot", "Doc_0/Document.xml")
    parts = {
        "OFD.xml": _xml(ofd),
        "Doc_0/Document.xml": _document(page, max_id, attachments=False),
        "Doc_0/PublicRes.xml": public_res,
        "Doc_0/Pages/Page_0/Content.xml": content,
    }
    if font_file is not None:
        parts["Doc_0/Res/font_1.ttf"] = font_file
    return _zip(parts, when)


# --- reading -------------------------------------------------------------------------------


def _resolve(base_part: str, location: str) -> str:
    """The package path of ``location`` as written in ``base_part`` (ST_Loc)."""
    if location.startswith("/"):
        path = posixpath.normpath(location.lstrip("/"))
    else:
        path = posixpath.normpath(posixpath.join(posixpath.dirname(base_part), location))
    if path.startswith("../") or path == "..":
        raise UnreadableDocument("file: an OFD location points outside the package")
    return path


def _read(package: zipfile.ZipFile, name: str) -> bytes:
    try:
        info = package.getinfo(name)
    except KeyError as exc:
        raise UnreadableDocument(f"file: the OFD lacks its part {name}") from exc
    if info.file_size > MAX_PART:
        raise UnreadableDocument(f"file: the OFD part {name} is too large")
    with package.open(info) as handle:
        return handle.read(MAX_PART + 1)[:MAX_PART]


def _parse(package: zipfile.ZipFile, name: str) -> Any:
    try:
        return SafeElementTree.fromstring(_read(package, name))
    except (SafeElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise UnreadableDocument(f"file: the OFD part {name} is not well-formed XML") from exc


def _text_of(root: Any, path: str, part: str) -> str:
    value = root.findtext(path, default="", namespaces={"ofd": NAMESPACE}).strip()
    if not value:
        raise UnreadableDocument(f"file: {part} has no {path.split('/')[-1].removeprefix('ofd:')}")
    return str(value)


def read_receipt_ofd(content: bytes) -> SignedReceipt:
    """The signed data of a receipt OFD, from its attached XML data file."""
    try:
        package = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise UnreadableDocument("file: not an OFD (not a ZIP package)") from exc
    with package:
        try:
            ofd = _parse(package, "OFD.xml")
            if ofd.tag != f"{Q}OFD":
                raise UnreadableDocument("file: OFD.xml is not an OFD entry file")
            document_part = _resolve("OFD.xml", _text_of(ofd, "ofd:DocBody/ofd:DocRoot", "OFD.xml"))
            document = _parse(package, document_part)
            attachments_part = _resolve(
                document_part, _text_of(document, "ofd:Attachments", document_part)
            )
            attachments = _parse(package, attachments_part)
            found = [
                a
                for a in attachments.findall("ofd:Attachment", {"ofd": NAMESPACE})
                if DATA_FILE_NAME.match(a.get("Name", ""))
            ]
            if not found:
                raise UnreadableDocument("file: the OFD carries no receipt data file")
            if len(found) > 1:
                raise UnreadableDocument("file: the OFD carries more than one receipt data file")
            name = found[0].get("Name", "")
            location = _resolve(attachments_part, _text_of(found[0], "ofd:FileLoc", name))
            xml = _read(package, location)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
            raise UnreadableDocument("file: a damaged OFD package") from exc
    signed = read_receipt_xml(xml)
    data = signed.data
    if name != f"{data.get('code')}-{data.get('number')}.xml":
        raise UnreadableDocument("file: the data file's name differs from its signed data")
    return signed
