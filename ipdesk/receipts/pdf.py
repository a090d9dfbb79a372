"""The receipt as a PDF: the layout of ``layout.py`` drawn with ReportLab, plus its data file.

The PDF carries the XML data file (``datafile.receipt_xml``) as an embedded file named
``<code>-<number>.xml``, so whoever holds the PDF can verify it offline; the QR code is
drawn as vector rectangles (one per run of dark modules). The same receipt always gives
the same bytes: ReportLab's invariant mode, the receipt's issue time as the creation date
and a document id derived from the receipt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import re
import zlib
from functools import cache
from typing import Any
from weakref import WeakKeyDictionary

from pypdf import PdfReader
from pypdf.errors import PyPdfError
from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.pdfdoc import (
    PDFArray,
    PDFDictionary,
    PDFName,
    PDFStream,
    PDFString,
    PDFZCompress,
)
from reportlab.pdfbase.ttfonts import (
    FF_NONSYMBOLIC,
    FF_SYMBOLIC,
    SUBSETN,
    TTFont,
    makeToUnicodeCMap,
)
from reportlab.pdfgen import canvas

from ipdesk.core.pdf import cjk_font

from .datafile import SignedReceipt, UnreadableDocument, read_receipt_xml, receipt_xml
from .fontsubset import truetype_subset
from .layout import BLACK, Color, Ellipse, Lines, Page, Polygon, QrCode, Text, draw, receipt_layout
from .models import Receipt
from .qr import dark_runs

DATA_FILE_NAME = re.compile(r"^[0-9]{8}-[0-9]{10}\.xml$")
# What pypdf may raise on a damaged or hostile file.
PDF_READ_ERRORS = (
    PyPdfError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    AssertionError,
    RecursionError,
    OverflowError,
    zlib.error,
)


def data_file_name(receipt: Receipt) -> str:
    return f"{receipt.series.code}-{receipt.number_text}.xml"


# --- the font: the shared CJK font, with a first subset that never changes ----------------
#
# ReportLab embeds a TrueType font as subsets of 256 codes, numbered in the order the
# characters first appear, and builds (and compresses) each subset's font file for every
# document: about a third of a receipt's rendering time. Receipts draw the same labels
# every time, so every document first claims all the free codes of subset 0 (1-31 and
# 128-255; ASCII holds 32-127) for a fixed list of characters. Subset 0 is then always the
# same, its PDF objects are built once per process, and only what is particular to a
# receipt (a payer's name, a rare character) goes to a small subset 1.

FIRST_SUBSET_FREE_CODES = 159
FIRST_SUBSET_CHARACTERS = (
    # Labels of the layout, the receipt's name and the reversal marking.
    "中央非税收入统一票据（电子）代码号校验开日期交款人社会信用身份证项目编名称单位数量标准元"
    "金额备注合计大写小￥财政部门监制章扫查收复核签专红字冲销原因退抬头错误其他：；…"
    # Amounts in capitals.
    "零壹贰叁肆伍陆柒捌玖拾佰仟万亿角分整负"
    # The remark, the payee, the most frequent fees and units.
    "申请缴费第年度国家知识产权局件实质审查公布印刷登记"
)
# The rest of subset 0 is filled with box-drawing characters, never drawn: their glyphs
# are a few bytes each, where a CJK glyph takes about 230.
FILLER = "".join(chr(code) for code in range(0x2500, 0x2580))


class _ReceiptFont(TTFont):
    """The shared CJK font (``ipdesk.core.pdf.cjk_font``) under its own name for receipts,
    building the PDF objects of the fixed first subset once per process."""

    def __init__(self, base: TTFont) -> None:
        self.__dict__.update(base.__dict__)
        self.fontName = f"{base.fontName}-receipt"
        self.state: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()
        self.shapable = False
        self._cached: dict[tuple[int, ...], tuple[bytes, bytes, bytes, bytes]] = {}
        seed: list[str] = []
        for char in FIRST_SUBSET_CHARACTERS + FILLER:
            if ord(char) in self.face.charToGlyph and char not in seed:
                seed.append(char)
        self.seed = "".join(seed[:FIRST_SUBSET_FREE_CODES])

    def start(self, doc: Any) -> None:
        """Give the fixed characters the free codes of subset 0 of a new document."""
        self.splitString(self.seed, doc)

    def _objects(self, subset: list[int], base_name: str) -> tuple[bytes, bytes, bytes, bytes]:
        key = tuple(subset)
        cached = self._cached.get(key)
        if cached is None:
            font_file = truetype_subset(self.face, subset, unicode_cmap=False)
            cached = (
                zlib.compress(font_file),
                str(len(font_file)).encode(),
                zlib.compress(makeToUnicodeCMap(base_name, subset).encode("latin-1")),
                ("[ " + " ".join(str(self.face.getCharWidth(c)) for c in subset) + " ]").encode(),
            )
            if len(subset) == 256 and len(self._cached) < 16:
                self._cached[key] = cached
        return cached

    def addObjects(self, doc: Any) -> None:
        """As ``TTFont.addObjects``, with the subsets' objects prebuilt when cached."""
        state = self.state[doc]
        state.frozen = 1
        face = self.face
        font_dict = doc.idToObject["BasicFonts"].dict
        for n, subset in enumerate(state.subsets):
            internal_name = self.getSubsetInternalName(n, doc)[1:]
            base_name = b"".join((SUBSETN(n), b"+", face.name, face.subfontNameX)).decode("pdfdoc")
            font_file, length, to_unicode, widths = self._objects(subset, base_name)
            flate = PDFArray([PDFName("FlateDecode")])
            file_ref = doc.Reference(
                PDFStream(PDFDictionary({"Length1": length, "Filter": flate}), font_file),
                f"fontFile:{face.filename}({base_name})",
            )
            descriptor = PDFDictionary(
                {
                    "Type": "/FontDescriptor",
                    "Ascent": face.ascent,
                    "CapHeight": face.capHeight,
                    "Descent": face.descent,
                    "Flags": (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC,
                    "FontBBox": PDFArray(face.bbox),
                    "FontName": PDFName(base_name),
                    "ItalicAngle": face.italicAngle,
                    "StemV": face.stemV,
                    "FontFile2": file_ref,
                    "MissingWidth": face.defaultWidth,
                }
            )
            pdf_font = pdfdoc.PDFTrueTypeFont()
            pdf_font.Name = internal_name
            pdf_font.BaseFont = base_name
            pdf_font.FirstChar = 0
            pdf_font.LastChar = len(subset) - 1
            pdf_font.Widths = widths
            pdf_font.ToUnicode = doc.Reference(
                PDFStream(PDFDictionary({"Filter": flate}), to_unicode),
                f"toUnicodeCMap:{base_name}",
            )
            pdf_font.FontDescriptor = doc.Reference(descriptor, f"fontDescriptor:{base_name}")
            doc.Reference(pdf_font, internal_name)
            font_dict[internal_name] = pdf_font
        del self.state[doc]


@cache
def receipt_font() -> _ReceiptFont | None:
    """The receipt font, registered once; None when only a non-embedded CID font exists."""
    base = pdfmetrics.getFont(cjk_font())
    if not isinstance(base, TTFont):
        return None
    font = _ReceiptFont(base)
    pdfmetrics.registerFont(font)
    return font


KAPPA = 0.5522847498  # control-point distance of a quarter ellipse, per radius


def _rgb(color: Color) -> str:
    return " ".join(fp_str(v / 255) for v in color)


class _Writer:
    """Turns the layout's primitives into PDF content operators (points, y up)."""

    def __init__(self, c: canvas.Canvas, page: Page) -> None:
        self.doc = c._doc
        self.height = page.height * mm
        self.ops: list[str] = []
        self.font = receipt_font()
        if self.font is not None:
            self.font.start(self.doc)
            self.cid_name = ""
        else:  # no TrueType font on this machine: the CID font viewers must supply
            self.cid_name = cjk_font()
        self.fill: Color | None = None
        self.stroke: Color | None = None
        self.line_width = -1.0

    def x(self, value: float) -> str:
        return fp_str(value * mm)

    def y(self, value: float) -> str:
        return fp_str(self.height - value * mm)

    def set_fill(self, color: Color) -> None:
        if color != self.fill:
            self.ops.append(f"{_rgb(color)} rg")
            self.fill = color

    def set_stroke(self, color: Color, width: float) -> None:
        if color != self.stroke:
            self.ops.append(f"{_rgb(color)} RG")
            self.stroke = color
        if width != self.line_width:
            self.ops.append(f"{fp_str(width * mm)} w")
            self.line_width = width

    def text(self, item: Text) -> None:
        self.set_fill(item.color)
        if item.angle:
            # Turned around the middle of its baseline.
            cos, sin = math.cos(math.radians(item.angle)), math.sin(math.radians(item.angle))
            half = item.width / 2 * mm
            cx, cy = (item.x + item.width / 2) * mm, self.height - item.y * mm
            matrix = " ".join(
                fp_str(v) for v in (cos, sin, -sin, cos, cx - cos * half, cy - sin * half)
            )
        else:
            matrix = f"1 0 0 1 {self.x(item.x)} {self.y(item.y)}"
        size = fp_str(item.size)
        ops = [f"BT {matrix} Tm"]
        if self.font is not None:
            name = self.font.getSubsetInternalName
            for subset, chunk in self.font.splitString(item.text, self.doc):
                ops.append(f"{name(subset, self.doc)} {size} Tf ({escapePDF(chunk)}) Tj")
        else:
            cid = pdfmetrics.getFont(self.cid_name)
            internal = self.doc.getInternalFontName(self.cid_name)
            ops.append(f"{internal} {size} Tf ({cid.formatForPdf(item.text)}) Tj")
        ops.append("ET")
        self.ops.append(" ".join(ops))

    def lines(self, item: Lines) -> None:
        self.set_stroke(item.color, item.line_width)
        x, y = self.x, self.y
        self.ops.append(
            " ".join(f"{x(x1)} {y(y1)} m {x(x2)} {y(y2)} l" for x1, y1, x2, y2 in item.segments)
            + " S"
        )

    def ellipse(self, item: Ellipse) -> None:
        self.set_stroke(item.color, item.line_width)
        cx, cy = item.cx * mm, self.height - item.cy * mm
        rx, ry = item.rx * mm, item.ry * mm
        kx, ky = rx * KAPPA, ry * KAPPA
        points = (
            (cx + rx, cy),
            (cx + rx, cy + ky, cx + kx, cy + ry, cx, cy + ry),
            (cx - kx, cy + ry, cx - rx, cy + ky, cx - rx, cy),
            (cx - rx, cy - ky, cx - kx, cy - ry, cx, cy - ry),
            (cx + kx, cy - ry, cx + rx, cy - ky, cx + rx, cy),
        )
        start, *curves = points
        self.ops.append(
            " ".join(
                [f"{fp_str(start[0])} {fp_str(start[1])} m"]
                + [" ".join(fp_str(v) for v in curve) + " c" for curve in curves]
            )
            + " S"
        )

    def polygon(self, item: Polygon) -> None:
        self.set_fill(item.color)
        (x0, y0), *rest = item.points
        self.ops.append(
            " ".join(
                [f"{self.x(x0)} {self.y(y0)} m"] + [f"{self.x(x)} {self.y(y)} l" for x, y in rest]
            )
            + " h f"
        )

    def qr(self, item: QrCode) -> None:
        """One rectangle per run of dark modules, in module units under one transformation."""
        self.set_fill(BLACK)
        module = fp_str(item.module * mm)
        ops = [f"q {module} 0 0 -{module} {self.x(item.x)} {self.y(item.y)} cm"]
        ops += [f"{column} {row} {length} 1 re" for row, column, length in dark_runs(item.matrix)]
        ops.append("f Q")
        self.ops.append("\n".join(ops))


def _draw(c: canvas.Canvas, page: Page) -> None:
    writer = _Writer(c, page)
    draw(page, writer)
    c.addLiteral("\n".join(writer.ops))


def _attach(c: canvas.Canvas, name: str, content: bytes, description: str) -> None:
    """Embed ``content`` as the document's file attachment ``name`` (EmbeddedFiles)."""
    doc = c._doc
    stream = PDFStream(
        PDFDictionary(
            {
                "Type": PDFName("EmbeddedFile"),
                "Subtype": "/text#2Fxml",
                "Params": PDFDictionary({"Size": len(content)}),
            }
        ),
        content,
        filters=[PDFZCompress],
    )
    spec = PDFDictionary(
        {
            "Type": PDFName("Filespec"),
            "F": PDFString(name),
            "UF": PDFString(name),
            "Desc": PDFString(description),
            "AFRelationship": PDFName("Data"),
            "EF": PDFDictionary({"F": stream}),
        }
    )
    reference = doc.Reference(spec)
    doc.Catalog.Names = PDFDictionary(
        {"EmbeddedFiles": PDFDictionary({"Names": PDFArray([PDFString(name), reference])})}
    )


def receipt_pdf(receipt: Receipt) -> bytes:
    """The receipt's PDF; the same receipt always gives the same bytes."""
    page = receipt_layout(receipt)
    buffer = io.BytesIO()
    c = canvas.Canvas(
        buffer,
        pagesize=(page.width * mm, page.height * mm),
        invariant=1,
        pageCompression=1,
        initialFontName=cjk_font(),  # no unused Helvetica in the resources
    )
    # A document id and dates that depend on the receipt only (not on SOURCE_DATE_EPOCH).
    c._doc.signature = hashlib.md5(
        f"ipdesk receipt {receipt.series.code}-{receipt.number_text}".encode(),
        usedforsecurity=False,
    )
    stamp = receipt.issued_at.astimezone(dt.UTC).strftime("D:%Y%m%d%H%M%S+00'00'")
    c.setDateFormatter(lambda *_: stamp)
    c.setTitle(page.title)
    c.setAuthor(page.author)
    c.setSubject(page.url)
    c.setCreator("ipdesk")
    c.setKeywords(f"{receipt.series.code} {receipt.number_text}")
    _draw(c, page)
    _attach(
        c,
        data_file_name(receipt),
        receipt_xml(receipt),
        "Receipt data file, signed (ipdesk e-receipt XML)",
    )
    c.showPage()
    c.save()
    return buffer.getvalue()


def read_receipt_pdf(content: bytes) -> SignedReceipt:
    """The signed data of a receipt PDF, from its embedded XML data file."""
    if not content[:1024].lstrip().startswith(b"%PDF-"):
        raise UnreadableDocument("file: not a PDF")
    try:
        attachments = PdfReader(io.BytesIO(content)).attachments
        found = {name: files for name, files in attachments.items() if DATA_FILE_NAME.match(name)}
    except PDF_READ_ERRORS as exc:
        raise UnreadableDocument(f"file: a damaged PDF ({exc.__class__.__name__})") from exc
    if not found:
        raise UnreadableDocument("file: the PDF carries no receipt data file (<code>-<number>.xml)")
    if len(found) > 1 or len(next(iter(found.values()))) != 1:
        raise UnreadableDocument("file: the PDF carries more than one receipt data file")
    name, (xml,) = next(iter(found.items()))
    signed = read_receipt_xml(xml)
    data = signed.data
    if name != f"{data.get('code')}-{data.get('number')}.xml":
        raise UnreadableDocument("file: the data file's name differs from its signed data")
    return signed
