"""PDF building blocks shared by every document: the CJK font and report tables.

Chinese text needs an embedded font so that every viewer (Chromium's, poppler, a phone)
shows it the same. ipdesk embeds a TrueType CJK font: ``IPDESK_CJK_FONT`` if set, else the
first of the usual system fonts found (Debian: fonts-wqy-zenhei, installed by ``make``).
Without one it falls back to ReportLab's built-in STSong-Light, which viewers must supply.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

log = logging.getLogger(__name__)

FONT_NAME = "IpdeskCJK"
FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
]


@cache
def cjk_font() -> str:
    """Register the CJK font once per process and return its name."""
    configured = os.environ.get("IPDESK_CJK_FONT")
    for candidate in ([configured] if configured else []) + FONT_CANDIDATES:
        if candidate and Path(candidate).is_file():
            kwargs: dict[str, Any] = {"subfontIndex": 0} if candidate.endswith(".ttc") else {}
            pdfmetrics.registerFont(TTFont(FONT_NAME, candidate, **kwargs))
            return FONT_NAME
    log.warning("no CJK TrueType font found; PDFs use the non-embedded STSong-Light")
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def styles() -> dict[str, ParagraphStyle]:
    font = cjk_font()
    return {
        "title": ParagraphStyle(
            "title", fontName=font, fontSize=16, leading=22, alignment=1, spaceAfter=4 * mm
        ),
        "heading": ParagraphStyle(
            "heading", fontName=font, fontSize=11, leading=15, spaceBefore=4 * mm
        ),
        "body": ParagraphStyle("body", fontName=font, fontSize=9, leading=12),
    }


def table(rows: Sequence[Sequence[Any]], widths: Sequence[float] | None = None) -> Table:
    font = cjk_font()
    out = Table([[str(cell) for cell in row] for row in rows], colWidths=widths, repeatRows=1)
    out.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
            ]
        )
    )
    return out


def report_pdf(
    title: str, subtitle: str, sections: Sequence[tuple[str, Sequence[Sequence[Any]]]]
) -> bytes:
    """A plain A4 report: a title and one table per section (first row: the header)."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=title,
        author="ipdesk",
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        invariant=True,
    )
    st = styles()
    story: list[Any] = [Paragraph(title, st["title"]), Paragraph(subtitle, st["body"])]
    for heading, rows in sections:
        story += [Paragraph(heading, st["heading"]), Spacer(1, 2 * mm), table(rows)]
    doc.build(story)
    return buffer.getvalue()
