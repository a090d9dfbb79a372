"""The daily reports as PDF and Excel: 日结单, 汇总表1 (by fee), 汇总表2 (by channel and date)."""

from __future__ import annotations

from typing import Any

from ipdesk.core.money import money_str
from ipdesk.core.pdf import report_pdf
from ipdesk.core.xlsx import report_xlsx

from .selectors import DailyReport, ReportRow


def _sections(report: DailyReport) -> list[tuple[str, list[list[Any]]]]:
    def rows(header: str, items: list[ReportRow]) -> list[list[Any]]:
        body: list[list[Any]] = [[header, "笔数/数量 count", "金额 amount"]]
        body += [[r.label, r.count, money_str(r.amount)] for r in items]
        body.append(
            [
                "合计 total",
                sum(r.count for r in items),
                money_str(sum((r.amount for r in items), 0)),
            ]
        )
        return body

    return [
        ("日结单 Day closing (by volume)", rows("记账卷 volume", report.closing)),
        ("日结单 Day closing (by channel)", rows("渠道 channel", report.by_channel)),
        ("汇总表1 Summary by fee", rows("费用 fee", report.by_fee)),
        (
            "汇总表2 Summary by channel and payment date",
            rows("渠道 缴费日 channel, payment date", report.by_channel_and_date),
        ),
        ("退款 Refunds approved", rows("原因 reason", report.refunds)),
    ]


def _subtitle(report: DailyReport) -> str:
    return (
        f"{report.office.name} ({report.office.code}) · {report.day.isoformat()} · "
        f"{report.count} 笔 entries · 合计 total {money_str(report.total)}"
    )


def daily_report_pdf(report: DailyReport) -> bytes:
    return report_pdf("专利费用日报表 Daily fee report", _subtitle(report), _sections(report))


def daily_report_xlsx(report: DailyReport) -> bytes:
    return report_xlsx("专利费用日报表 Daily fee report", _subtitle(report), _sections(report))
