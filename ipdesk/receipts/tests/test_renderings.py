"""Renderings of a receipt: PDF and OFD, deterministic, readable, verifiable offline."""

from __future__ import annotations

import base64
import copy
import io
import posixpath
import subprocess
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import segno
import zxingcpp
from defusedxml import ElementTree as SafeElementTree
from django.conf import settings
from PIL import Image
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFontFile

from ipdesk.collection.models import Payment
from ipdesk.core.pdf import cjk_font, report_pdf
from ipdesk.receipts import layout, ofd, pdf, qr, services
from ipdesk.receipts.datafile import SignedReceipt, UnreadableDocument, receipt_xml
from ipdesk.receipts.documents import read_document
from ipdesk.receipts.fontsubset import truetype_subset
from ipdesk.receipts.models import Receipt
from ipdesk.receipts.signing import keyring
from ipdesk.testing import api_client, pdf_text

NS = {"ofd": ofd.NAMESPACE}


@pytest.fixture
def receipt(reviewed_payment: Payment) -> Receipt:
    return services.current_receipt(reviewed_payment)


@pytest.fixture
def red(receipt: Receipt, clerk: Any) -> Receipt:
    return services.reverse_receipt(receipt, reason="refund", actor=clerk)


def qr_codes(content: bytes, tmp_path: Path, dpi: int = 200) -> list[str]:
    """Render the first page with poppler and decode every QR code on it."""
    path = tmp_path / "page.pdf"
    path.write_bytes(content)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(path), str(tmp_path / "page")],
        check=True,
    )
    with Image.open(tmp_path / "page.png") as image:
        found = zxingcpp.read_barcodes(image)
    return [code.text for code in found if code.format == zxingcpp.BarcodeFormat.QRCode]


def verifies(signed: SignedReceipt) -> bool:
    return keyring().verify(signed.key_id, signed.signed, signed.signature)


def tampered_xml(receipt: Receipt, old: str, new: str, *, in_signed_data: bool) -> bytes:
    """The receipt's data file with ``old`` replaced by ``new`` where it is shown, and in the
    signed bytes too when ``in_signed_data`` (so only the signature can tell)."""
    xml = receipt_xml(receipt).decode("utf-8")
    assert old in xml
    xml = xml.replace(old, new)
    if in_signed_data:
        signed = receipt.data.replace(old, new).encode("utf-8")
        original = base64.b64encode(receipt.data.encode("utf-8")).decode("ascii")
        xml = xml.replace(original, base64.b64encode(signed).decode("ascii"))
    return xml.encode("utf-8")


# --- QR code -----------------------------------------------------------------------------


def test_verification_url_carries_every_input_of_verification(receipt: Receipt) -> None:
    expected = (
        f"{settings.IPDESK_PUBLIC_URL}/verify/?code={receipt.series.code}"
        f"&number={receipt.number_text}&check_code={receipt.check_code}"
        f"&date={receipt.issue_date.isoformat()}&amount=900.00"
    )
    assert qr.verification_url(receipt) == expected


@pytest.mark.parametrize("length", [5, 40, 110, 150, 300])
def test_qr_candidates_are_segnos_symbols_and_the_lowest_penalty_wins(length: int) -> None:
    url = "https://ipdesk.example/verify/?" + "x1" * (length // 2)
    geometry, symbols, forms = qr._candidates(url)
    for mask in range(8):
        reference = segno.make(url, error="m", micro=False, boost_error=False, mask=mask)
        assert symbols[mask] == qr._as_int(reference.matrix), mask
    scores = [qr._penalty(s, f, geometry) for s, f in zip(symbols, forms, strict=True)]
    chosen = qr._to_matrix(symbols[scores.index(min(scores))], geometry.size)
    assert qr.qr_matrix(url) == chosen
    assert all(len(row) == geometry.size for row in chosen)


# --- PDF ---------------------------------------------------------------------------------


def test_pdf_shows_the_receipt_fields(receipt: Receipt, tmp_path: Path) -> None:
    content = pdf.receipt_pdf(receipt)
    text = pdf_text(content, tmp_path)
    for shown in (
        "中央非税收入统一票据（电子）",
        receipt.series.code,
        receipt.number_text,
        receipt.check_code,
        receipt.issue_date.isoformat(),
        "陈发明",
        receipt.payer_id_code,
        "申请费",
        "900.00",
        "玖佰元整",
        "国家知识产权局",
        "张三",
        "李四",
        receipt.payment.application_number,
        "开票单位（签章）",
        "财政部门监制章",
    ):
        assert shown in text, shown
    assert "红字冲销" not in text


def test_pdf_qr_code_decodes_to_the_verification_url(receipt: Receipt, tmp_path: Path) -> None:
    [url] = qr_codes(pdf.receipt_pdf(receipt), tmp_path)
    assert url == qr.verification_url(receipt)
    # The scanned link, asked of the verification API, says the receipt is genuine.
    query = urlsplit(url).query
    answer = api_client().get(f"/api/v1/verify?{query}").json()
    assert answer["status"] == "genuine" and answer["number"] == receipt.number_text


def test_pdf_embeds_the_font_and_draws_the_qr_as_vectors(receipt: Receipt) -> None:
    reader = PdfReader(io.BytesIO(pdf.receipt_pdf(receipt)))
    page = reader.pages[0]
    fonts = page["/Resources"]["/Font"]
    assert fonts and all(
        "/FontFile2" in font.get_object()["/FontDescriptor"] for font in fonts.values()
    )
    assert "/XObject" not in page["/Resources"]  # no image anywhere
    assert b" re\n" in page.get_contents().get_data()


def test_pdf_is_the_same_bytes_every_time(
    receipt: Receipt, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = pdf.receipt_pdf(receipt)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234567890")  # ReportLab's clock: not used
    qr.qr_matrix.cache_clear()
    font = pdf.receipt_font()
    assert font is not None
    font._cached.clear()
    again = pdf.receipt_pdf(Receipt.objects.select_related("series").get(pk=receipt.pk))
    assert first == again


def test_pdf_gives_back_the_signed_data(receipt: Receipt) -> None:
    content = pdf.receipt_pdf(receipt)
    attachments = PdfReader(io.BytesIO(content)).attachments
    assert list(attachments) == [f"{receipt.series.code}-{receipt.number_text}.xml"]
    signed = pdf.read_receipt_pdf(content)
    assert signed.signed == receipt.data.encode("utf-8")
    assert signed.key_id == receipt.key_id and verifies(signed)
    assert read_document(content) == signed


def test_pdf_with_changed_signed_data_fails_verification(
    receipt: Receipt, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = tampered_xml(receipt, "陈发明", "陈发朋", in_signed_data=True)
    monkeypatch.setattr(pdf, "receipt_xml", lambda _receipt: changed)
    signed = pdf.read_receipt_pdf(pdf.receipt_pdf(receipt))
    assert signed.signed != receipt.data.encode("utf-8")
    assert not verifies(signed)


def test_pdf_whose_shown_data_differs_from_the_signed_data_is_refused(
    receipt: Receipt, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = tampered_xml(receipt, "陈发明", "陈发朋", in_signed_data=False)
    monkeypatch.setattr(pdf, "receipt_xml", lambda _receipt: changed)
    with pytest.raises(UnreadableDocument, match="PayerPartyName differs"):
        pdf.read_receipt_pdf(pdf.receipt_pdf(receipt))


def test_read_pdf_refuses_what_carries_no_receipt(receipt: Receipt) -> None:
    with pytest.raises(UnreadableDocument, match="not a PDF"):
        pdf.read_receipt_pdf(b"GIF89a not a pdf")
    plain = report_pdf("报表", "subtitle", [("section", [["a", "b"], ["1", "2"]])])
    with pytest.raises(UnreadableDocument, match="no receipt data file"):
        pdf.read_receipt_pdf(plain)
    with pytest.raises(UnreadableDocument, match="damaged PDF"):
        pdf.read_receipt_pdf(b"%PDF-1.4\n" + b"\x00garbage" * 20)


def test_red_receipt_pdf_is_marked_with_negative_amounts(
    receipt: Receipt, red: Receipt, tmp_path: Path
) -> None:
    content = pdf.receipt_pdf(red)
    text = pdf_text(content, tmp_path)
    for shown in (
        "红字冲销",
        "冲红",
        red.series.code,
        red.number_text,
        "-900.00",
        "负玖佰元整",
        f"票据代码 {receipt.series.code}",
        f"票据号码 {receipt.number_text}",
        "退款",
    ):
        assert shown in text, shown
    assert qr_codes(content, tmp_path) == [qr.verification_url(red)]
    assert "amount=-900.00" in qr.verification_url(red)
    signed = pdf.read_receipt_pdf(content)
    assert signed.data["kind"] == "red" and verifies(signed)


def test_a_long_cell_is_set_smaller_then_cut() -> None:
    text, size = layout._fit("著录事项变更费（代理机构、代理人变更）", 50.0, 9.0)
    assert layout.text_width(text, size) <= 50.0 and size < 9.0
    text, size = layout._fit("著" * 80, 50.0, 9.0)
    assert text.endswith("…") and size == 5.0 and layout.text_width(text, size) <= 50.0


def test_font_subsets_are_reportlabs() -> None:
    face = pdfmetrics.getFont(cjk_font()).face
    codes = [0, *map(ord, "中央非税收入统一票据（电子）陈发明 0123456789")]
    assert truetype_subset(face, codes, unicode_cmap=False) == face.makeSubset(codes)


# --- OFD ---------------------------------------------------------------------------------


def ofd_parts(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        return {name: package.read(name) for name in package.namelist()}


def test_ofd_package_is_well_formed_and_every_reference_resolves(receipt: Receipt) -> None:
    parts = ofd_parts(ofd.receipt_ofd(receipt))
    assert list(parts) == sorted(parts)
    trees = {
        name: SafeElementTree.fromstring(body)
        for name, body in parts.items()
        if name.endswith(".xml") and not name.startswith("Doc_0/Attachs/")
    }
    for name, root in trees.items():
        assert root.tag.startswith(f"{{{ofd.NAMESPACE}}}"), name

    entry = trees["OFD.xml"]
    assert entry.find("ofd:DocBody/ofd:DocInfo/ofd:DocID", NS) is not None
    doc_root = entry.findtext("ofd:DocBody/ofd:DocRoot", namespaces=NS)
    assert doc_root in trees
    document = trees[doc_root]
    box = document.findtext("ofd:CommonData/ofd:PageArea/ofd:PhysicalBox", namespaces=NS)
    assert box and box.startswith("0 0 210 ")
    base = posixpath.dirname(doc_root)
    public_res = posixpath.join(base, document.findtext("ofd:CommonData/ofd:PublicRes", "", NS))
    res = trees[public_res]
    font = res.find("ofd:Fonts/ofd:Font", NS)
    font_file = posixpath.join(base, res.get("BaseLoc"), font.findtext("ofd:FontFile", "", NS))
    page_loc = posixpath.join(base, document.find("ofd:Pages/ofd:Page", NS).get("BaseLoc"))
    page = trees[page_loc]
    attachments_loc = posixpath.join(base, document.findtext("ofd:Attachments", "", NS))
    attachment = trees[attachments_loc].find("ofd:Attachment", NS)
    data_loc = posixpath.join(base, attachment.findtext("ofd:FileLoc", "", NS))
    assert parts[data_loc] == receipt_xml(receipt)
    assert attachment.get("Name") == f"{receipt.series.code}-{receipt.number_text}.xml"

    # Ids are unique in the document and at most MaxUnitID; every text uses the font.
    ids = [int(e.get("ID")) for tree in trees.values() for e in tree.iter() if e.get("ID")]
    assert len(ids) == len(set(ids))
    assert max(ids) <= int(document.findtext("ofd:CommonData/ofd:MaxUnitID", "0", NS))
    texts = page.findall(".//ofd:TextObject", NS)
    assert texts and {t.get("Font") for t in texts} == {font.get("ID")}
    shown = "".join(t.findtext("ofd:TextCode", "", NS) for t in texts)
    for value in (receipt.series.code, receipt.number_text, "陈发明", "玖佰元整", "申请费"):
        assert value in shown
    for text in texts:  # one advance per character after the first
        code = text.find("ofd:TextCode", NS)
        if len(code.text) > 1:
            assert len(code.get("DeltaX").split()) == len(code.text) - 1
    assert len(page.findall(".//ofd:PathObject", NS)) >= 6

    # The embedded font is a TrueType file with a glyph for every character shown.
    face = TTFontFile(io.BytesIO(parts[font_file]))
    assert all(ord(char) in face.charToGlyph for char in set(shown))


def test_ofd_is_the_same_bytes_every_time(receipt: Receipt) -> None:
    first = ofd.receipt_ofd(receipt)
    qr.qr_matrix.cache_clear()
    assert ofd.receipt_ofd(Receipt.objects.select_related("series").get(pk=receipt.pk)) == first


def test_ofd_gives_back_the_signed_data(receipt: Receipt) -> None:
    content = ofd.receipt_ofd(receipt)
    signed = ofd.read_receipt_ofd(content)
    assert signed.signed == receipt.data.encode("utf-8") and verifies(signed)
    assert read_document(content) == signed


def test_ofd_with_changed_data_is_refused_or_fails_verification(
    receipt: Receipt, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = tampered_xml(receipt, "陈发明", "陈发朋", in_signed_data=True)
    monkeypatch.setattr(ofd, "receipt_xml", lambda _receipt: changed)
    assert not verifies(ofd.read_receipt_ofd(ofd.receipt_ofd(receipt)))
    shown_only = tampered_xml(receipt, "陈发明", "陈发朋", in_signed_data=False)
    monkeypatch.setattr(ofd, "receipt_xml", lambda _receipt: shown_only)
    with pytest.raises(UnreadableDocument, match="differs"):
        ofd.read_receipt_ofd(ofd.receipt_ofd(receipt))


def test_read_ofd_refuses_what_carries_no_receipt(receipt: Receipt) -> None:
    with pytest.raises(UnreadableDocument, match="not an OFD"):
        ofd.read_receipt_ofd(b"PK\x03\x04 broken")
    parts = ofd_parts(ofd.receipt_ofd(receipt))
    for missing in ("OFD.xml", "Doc_0/Attachments.xml"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as package:
            for name, body in parts.items():
                if name != missing:
                    package.writestr(name, body)
        with pytest.raises(UnreadableDocument, match=missing):
            ofd.read_receipt_ofd(buffer.getvalue())


def test_red_receipt_ofd_is_marked(red: Receipt) -> None:
    page = ofd_parts(ofd.receipt_ofd(red))["Doc_0/Pages/Page_0/Content.xml"].decode("utf-8")
    assert "红字冲销 / 冲红" in page and "-900.00" in page and "负玖佰元整" in page


def test_ofd_opens_in_an_independent_reader(
    receipt: Receipt, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """easyofd (a third-party OFD reader) converts the OFD to a PDF showing the receipt."""
    easyofd = pytest.importorskip("easyofd.ofd")

    # easyofd draws all text with a font it calls 宋体 (SimSun, a Windows font): give it the
    # CJK font of this machine under that name, as a reader's font substitution would.
    monkeypatch.chdir(tmp_path)  # easyofd unpacks into the working directory
    if "宋体" not in pdfmetrics.getRegisteredFontNames():
        alias = copy.copy(pdfmetrics.getFont(cjk_font()))
        alias.fontName = "宋体"
        pdfmetrics.registerFont(alias)  # an alias of the loaded face
    reader = easyofd.OFD()
    reader.read(ofd.receipt_ofd(receipt), fmt="binary")
    converted = reader.to_pdf()
    text = pdf_text(converted, tmp_path)
    for shown in (receipt.series.code, receipt.number_text, "陈发明", "玖佰元整", "国家知识产权局"):
        assert shown in text, shown
    assert qr_codes(converted, tmp_path, dpi=150) == [qr.verification_url(receipt)]
