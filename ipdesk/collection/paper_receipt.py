"""The four-part paper receipt (收据) a counter payer may ask for (seed 004).

Part 1 brown goes to the fee office in order; part 2 black to the payer (by hand, or by
registered mail with the sending date logged); part 3 red to the fee office sorted by
receipt number; part 4 blue is bound with the vouchers as the office's book.
"""

from __future__ import annotations

import io

from reportlab.lib import colors
from reportlab.lib.pagesizes import A5, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from ipdesk.core.money import amount_in_words, money_str
from ipdesk.core.pdf import cjk_font

from .models import Payment

PARTS = [
    (
        "第一联（棕色）",
        "Part 1 (brown)",
        "交收费处，按序排列 · to the fee office, in order",
        colors.HexColor("#8b5a2b"),
    ),
    ("第二联（黑色）", "Part 2 (black)", "交缴费人（面交或挂号寄送） · to the payer", colors.black),
    (
        "第三联（红色）",
        "Part 3 (red)",
        "交收费处，按收据号排序 · to the fee office, by receipt number",
        colors.HexColor("#c0392b"),
    ),
    (
        "第四联（蓝色）",
        "Part 4 (blue)",
        "与记账凭证合订成帐本 · bound with the vouchers",
        colors.HexColor("#1f4e9c"),
    ),
]


def receipt_number(payment: Payment) -> str:
    return f"{payment.office.code}-{payment.pk:08d}"


def render_paper_receipt(payment: Payment) -> bytes:
    font = cjk_font()
    buffer = io.BytesIO()
    width, height = landscape(A5)
    canvas = Canvas(buffer, pagesize=(width, height), invariant=True)
    canvas.setTitle(f"专利收费收据 {receipt_number(payment)}")
    lines = list(payment.lines.select_related("fee_type"))
    for part_zh, part_en, destination, colour in PARTS:
        canvas.setFillColor(colour)
        canvas.rect(0, height - 14 * mm, width, 14 * mm, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        canvas.setFont(font, 13)
        canvas.drawString(10 * mm, height - 9.5 * mm, f"专利收费收据  {part_zh} {part_en}")
        canvas.setFillColor(colour)
        canvas.setFont(font, 9)
        canvas.drawString(10 * mm, height - 20 * mm, destination)
        canvas.setFillColor(colors.black)
        canvas.setFont(font, 10)
        y = height - 30 * mm
        for label, value in [
            ("收据号 Receipt no.", receipt_number(payment)),
            ("代办处 Office", payment.office.name),
            ("缴费人 Payer", payment.receipt_title),
            (
                "申请号/专利号 Application no.",
                payment.application_number[:12] + "." + payment.application_number[12:],
            ),
            ("缴费日 Payment date", payment.payment_date.isoformat()),
        ]:
            canvas.drawString(10 * mm, y, f"{label}: {value}")
            y -= 6 * mm
        y -= 2 * mm
        canvas.setFont(font, 9)
        canvas.drawString(10 * mm, y, "费用名称 Fee")
        canvas.drawString(95 * mm, y, "数量 Qty")
        canvas.drawRightString(width - 12 * mm, y, "金额 Amount")
        canvas.line(10 * mm, y - 2 * mm, width - 10 * mm, y - 2 * mm)
        y -= 7 * mm
        for line in lines:
            name = line.fee_type.name_zh + (f" 第{line.year}年" if line.year else "")
            canvas.drawString(10 * mm, y, name)
            canvas.drawString(95 * mm, y, str(line.quantity))
            canvas.drawRightString(width - 12 * mm, y, money_str(line.amount))
            y -= 6 * mm
        canvas.line(10 * mm, y + 2 * mm, width - 10 * mm, y + 2 * mm)
        canvas.setFont(font, 10)
        canvas.drawString(
            10 * mm, y - 4 * mm, f"合计（大写）Total: {amount_in_words(payment.total)}"
        )
        canvas.drawRightString(width - 12 * mm, y - 4 * mm, f"¥{money_str(payment.total)}")
        canvas.setFont(font, 9)
        reviewer = payment.reviewed_by.username if payment.reviewed_by else ""
        canvas.drawString(
            10 * mm,
            10 * mm,
            f"记账 Collector: {payment.entered_by.username}    复核 Reviewer: {reviewer}",
        )
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
