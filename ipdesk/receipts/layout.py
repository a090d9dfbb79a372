"""The page of a 中央非税收入统一票据（电子）, once, for every format that draws it.

:func:`receipt_layout` turns a receipt's signed data into drawing primitives on a page
measured in millimetres from the top-left corner; ``pdf.py`` and ``ofd.py`` only translate
them. So the PDF and the OFD show the same fields in the same places, and what they show
is what was signed (the canonical data, never the live database rows).

Text is measured with the embedded CJK font (``ipdesk.core.pdf.cjk_font``): a text that
does not fit its cell is set smaller, down to a floor, then cut with an ellipsis.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

from reportlab.pdfbase import pdfmetrics

from ipdesk.core.pdf import cjk_font

from .models import Receipt
from .qr import Matrix, qr_matrix, verification_url

PT = 25.4 / 72  # one point in millimetres

BLACK = (0, 0, 0)
RED = (204, 0, 0)
GREY = (96, 96, 96)
Color = tuple[int, int, int]

WIDTH = 210.0
MIN_HEIGHT = 140.0
MARGIN = 10.0
ITEM_ROWS = 5  # rows drawn even when there are fewer items
HEADER_ROW = 7.0
ITEM_ROW = 6.0
TOTAL_ROW = 7.0
REMARK_ROW = 11.0
# 项目编码, 项目名称, 单位, 数量, 标准, 金额, 备注
COLUMNS = (34.0, 52.0, 12.0, 12.0, 26.0, 26.0, 28.0)
COLUMN_TITLES = ("项目编码", "项目名称", "单位", "数量", "标准（元）", "金额（元）", "备注")
NUMERIC_COLUMNS = frozenset({3, 4, 5})
QR_MODULE_AREA = 22.0
REASONS = {"refund": "退款", "wrong_title": "抬头错误", "other": "其他"}


@dataclass(frozen=True, slots=True)
class Text:
    """A line of text; ``x`` is where it starts, ``y`` its baseline; size in points."""

    x: float
    y: float
    text: str
    size: float
    color: Color = BLACK
    width: float = 0.0  # its advance, in millimetres
    angle: float = 0.0  # counter-clockwise degrees around its centre (seal lettering)


@dataclass(frozen=True, slots=True)
class Lines:
    """Straight segments (x1, y1, x2, y2), stroked."""

    segments: tuple[tuple[float, float, float, float], ...]
    line_width: float  # millimetres
    color: Color = BLACK


@dataclass(frozen=True, slots=True)
class Ellipse:
    cx: float
    cy: float
    rx: float
    ry: float
    line_width: float
    color: Color = RED


@dataclass(frozen=True, slots=True)
class Polygon:
    """A closed polygon, filled."""

    points: tuple[tuple[float, float], ...]
    color: Color = RED


@dataclass(frozen=True, slots=True)
class QrCode:
    """A QR matrix with its top-left module at (x, y); the quiet zone is left blank."""

    x: float
    y: float
    module: float
    matrix: Matrix


@dataclass
class Page:
    width: float
    height: float
    title: str
    author: str
    url: str
    items: list[Text | Lines | Ellipse | Polygon | QrCode] = field(default_factory=list)
    # The issuing unit's seal: its box (x, y, width, height), where a signature binds to it.
    seal: tuple[float, float, float, float] | None = None


# --- measuring ----------------------------------------------------------------------------


@cache
class PageWriter(Protocol):
    """What a rendering (PDF, OFD) implements to draw a page's items."""

    def text(self, item: Text) -> None: ...

    def lines(self, item: Lines) -> None: ...

    def ellipse(self, item: Ellipse) -> None: ...

    def polygon(self, item: Polygon) -> None: ...

    def qr(self, item: QrCode) -> None: ...


def draw(page: Page, writer: PageWriter) -> None:
    """Hand every item of the page, in order, to the writer's method for its kind."""
    for item in page.items:
        if isinstance(item, Text):
            writer.text(item)
        elif isinstance(item, Lines):
            writer.lines(item)
        elif isinstance(item, Ellipse):
            writer.ellipse(item)
        elif isinstance(item, Polygon):
            writer.polygon(item)
        elif isinstance(item, QrCode):
            writer.qr(item)


def _char_width(char: str) -> float:
    """Advance of one character at 1 pt, in millimetres."""
    return pdfmetrics.stringWidth(char, cjk_font(), 1.0) * PT


def text_width(text: str, size: float) -> float:
    return sum(map(_char_width, text)) * size


def _fit(text: str, room: float, size: float, floor: float = 5.0) -> tuple[str, float]:
    """The text and the size at which it fits ``room`` mm: smaller, else cut short."""
    width = text_width(text, size)
    if width <= room:
        return text, size
    smaller = max(floor, size * room / width)
    while text and text_width(text, smaller) > room:
        text = text[:-2] + "…" if len(text) > 1 else ""
    return text, smaller


def _text(
    x: float, y: float, text: str, size: float, color: Color = BLACK, anchor: str = "start"
) -> Text:
    width = text_width(text, size)
    if anchor == "middle":
        x -= width / 2
    elif anchor == "end":
        x -= width
    return Text(x, y, text, size, color, width)


def _cell(
    left: float, right: float, baseline: float, text: str, size: float, align: str = "middle"
) -> Text:
    """A text inside a cell with 1 mm padding, shrunk or cut to fit."""
    fitted, fitted_size = _fit(text, right - left - 2, size)
    if align == "end":
        return _text(right - 1, baseline, fitted, fitted_size, anchor="end")
    if align == "start":
        return _text(left + 1, baseline, fitted, fitted_size)
    return _text((left + right) / 2, baseline, fitted, fitted_size, anchor="middle")


# --- the page -----------------------------------------------------------------------------


SEAL_RADIUS = 15.0


def _seal(page: Page, cx: float, cy: float, payee: str) -> None:
    """The issuing unit's seal (开票单位签章): a red ring, the payee on an arc, a star."""
    radius = SEAL_RADIUS
    edge = radius + 1.0
    page.seal = (cx - edge, cy - edge, 2 * edge, 2 * edge)
    page.items.append(Ellipse(cx, cy, radius, radius, 0.9))
    size = 9.0
    letters = payee[:14]
    span = min(220.0, 24.0 * max(len(letters) - 1, 1))
    ring = radius - 1.2 - size * PT * 0.8
    for index, letter in enumerate(letters):
        # From the left of the arc to the right; the angle counts counter-clockwise.
        angle = (
            90 + span / 2 - (span * index / (len(letters) - 1) if len(letters) > 1 else span / 2)
        )
        theta = math.radians(angle)
        x = cx + ring * math.cos(theta)
        y = cy - ring * math.sin(theta)
        width = text_width(letter, size)
        page.items.append(Text(x - width / 2, y, letter, size, RED, width, angle - 90))
    star = []
    for k in range(10):
        r = 4.2 if k % 2 == 0 else 1.7
        theta = math.radians(90 + 36 * k)
        star.append((round(cx + r * math.cos(theta), 3), round(cy - r * math.sin(theta), 3)))
    page.items.append(Polygon(tuple(star)))
    page.items.append(_text(cx, cy + 9.5, "票据专用章", 7.0, RED, "middle"))


def seal_layout(payee: str) -> Page:
    """The seal alone on a page of its size: the picture of the OFD's electronic seal."""
    side = 2 * (SEAL_RADIUS + 1.0)
    page = Page(side, side, f"{payee} 票据专用章", payee, "")
    _seal(page, side / 2, side / 2, payee)
    return page


def receipt_layout(receipt: Receipt) -> Page:
    """Every mark on the receipt's page, in millimetres from the top-left corner."""
    data: dict[str, Any] = json.loads(receipt.data)
    red = data["kind"] == "red"
    items_data: list[dict[str, Any]] = data["items"]
    rows = max(ITEM_ROWS, len(items_data))
    table_top = 46.0
    table_height = HEADER_ROW + rows * ITEM_ROW + TOTAL_ROW + REMARK_ROW
    table_bottom = table_top + table_height
    height = max(MIN_HEIGHT, table_bottom + 36.0)
    url = verification_url(receipt)
    page = Page(
        WIDTH, height, f"{data['name']} {data['code']}-{data['number']}", data["payee"], url
    )
    add = page.items.append

    # QR code, top left, with its quiet zone kept clear.
    matrix = qr_matrix(url)
    module = QR_MODULE_AREA / len(matrix)
    add(QrCode(MARGIN + 2, 8.0, module, matrix))
    add(_text(MARGIN + 2 + QR_MODULE_AREA / 2, 34.0, "扫码查验", 6.5, GREY, "middle"))

    # Title, the finance supervisor's seal and the numbers.
    add(_text(WIDTH / 2, 18.0, data["name"], 16.0, anchor="middle"))
    add(Lines(((64.0, 21.0, 146.0, 21.0), (64.0, 22.0, 146.0, 22.0)), 0.25))
    add(Ellipse(WIDTH / 2, 30.0, 14.0, 6.0, 0.6))
    add(_text(WIDTH / 2, 31.2, "财政部门监制章", 7.5, RED, "middle"))
    right = 151.0
    for offset, (label, value) in enumerate(
        (
            ("票据代码", data["code"]),
            ("票据号码", data["number"]),
            ("校验码", data["check_code"]),
            ("开票日期", data["issue_date"]),
        )
    ):
        add(_text(right, 13.0 + offset * 5.5, f"{label}：{value}", 9.5))
    if red:
        add(_text(WIDTH / 2 - 16.0, 31.5, "红字冲销 / 冲红", 12.0, RED, "end"))

    # Payer.
    payer = data["payer"]
    id_label = "交款人统一社会信用代码" if payer["type"] == 2 else "交款人身份证号"
    name, name_size = _fit(f"交款人：{payer['name']}", 92.0, 9.5)
    add(_text(MARGIN, table_top - 2.0, name, name_size))
    add(_text(106.0, table_top - 2.0, f"{id_label}：{payer['id_code']}", 9.5))

    # The table: header, items, total, remark.
    left, right_edge = MARGIN, WIDTH - MARGIN
    edges = [left]
    for width in COLUMNS:
        edges.append(edges[-1] + width)
    y_header = table_top + HEADER_ROW
    y_items = y_header + rows * ITEM_ROW
    y_total = y_items + TOTAL_ROW
    segments = [
        (left, table_top, right_edge, table_top),
        (left, y_header, right_edge, y_header),
        (left, y_items, right_edge, y_items),
        (left, y_total, right_edge, y_total),
        (left, table_bottom, right_edge, table_bottom),
        (left, table_top, left, table_bottom),
        (right_edge, table_top, right_edge, table_bottom),
    ]
    segments += [(x, table_top, x, y_items) for x in edges[1:-1]]
    segments += [
        (edges[1], y_items, edges[1], table_bottom),
        (edges[4], y_items, edges[4], y_total),
    ]
    add(Lines(tuple(segments), 0.3))
    item_lines = [
        (left, y_header + k * ITEM_ROW, right_edge, y_header + k * ITEM_ROW) for k in range(1, rows)
    ]
    if item_lines:
        add(Lines(tuple(item_lines), 0.1, GREY))
    for column, title in enumerate(COLUMN_TITLES):
        add(_cell(edges[column], edges[column + 1], table_top + 4.8, title, 9.0))
    for row, item in enumerate(items_data):
        baseline = y_header + row * ITEM_ROW + 4.2
        values = (
            item["code"],
            item["name"],
            item["unit"],
            str(item["quantity"]),
            item["standard"],
            item["amount"],
            item["remark"],
        )
        for column, value in enumerate(values):
            align = "end" if column in NUMERIC_COLUMNS else "middle"
            if value:
                add(_cell(edges[column], edges[column + 1], baseline, value, 9.0, align))
    baseline = y_items + 4.8
    add(_cell(edges[0], edges[1], baseline, "金额合计（大写）", 9.0))
    add(_cell(edges[1], edges[4], baseline, data["total_in_words"], 10.0, "start"))
    add(_cell(edges[4], edges[5], baseline, "（小写）", 9.0))
    add(_cell(edges[5], right_edge, baseline, f"￥{data['total']}", 10.0, "start"))
    add(_cell(edges[0], edges[1], y_total + 6.5, "备注", 9.0))
    remark_lines = [data["remark"]]
    related = data.get("related")
    if related:
        reason = REASONS.get(related.get("reason", ""), related.get("reason", ""))
        remark_lines.append(
            f"冲红原票据：票据代码 {related['code']} 票据号码 {related['number']}；原因：{reason}"
        )
    for index, line in enumerate(remark_lines):
        baseline = y_total + (4.3 + 4.5 * index if len(remark_lines) > 1 else 6.5)
        add(_cell(edges[1], right_edge, baseline, line, 9.0, "start"))

    # Payee, checker, issuer, and the issuing unit's seal.
    footer = table_bottom + 7.0
    seal_x, seal_y = 178.0, table_bottom + 12.0
    # The names are fitted between the payee and the seal so that the seal never covers them.
    add(_cell(MARGIN - 1, 78.0, footer, f"收款单位：{data['payee']}", 9.5, "start"))
    add(_cell(79.0, 117.0, footer, f"复核人：{data['checker']}", 9.5, "start"))
    add(_cell(118.0, seal_x - 20.0, footer, f"开票人：{data['issuer']}", 9.5, "start"))
    _seal(page, seal_x, seal_y, data["payee"])
    add(_text(seal_x, seal_y + 19.5, "开票单位（签章）", 8.0, GREY, "middle"))
    return page
