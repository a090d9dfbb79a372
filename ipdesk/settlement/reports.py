"""The monthly reports and the national summary as PDF and Excel (same sections in both)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ipdesk.core.money import money_str
from ipdesk.core.pdf import report_pdf
from ipdesk.core.xlsx import report_xlsx

from .selectors import MonthlyReports, NationalSummary

MONTHLY_TITLE = "代办处月报表 Monthly reports of the agency office"
NATIONAL_TITLE = "全国代办处月度汇总 National summary of the agency offices"


def _pair(pair: tuple[Decimal, Decimal]) -> list[str]:
    return [money_str(pair[0]), money_str(pair[1])]


def _monthly_sections(reports: MonthlyReports) -> list[tuple[str, list[list[Any]]]]:
    trial: list[list[Any]] = [
        [
            "科目 account",
            "期初借方 opening Dr",
            "期初贷方 opening Cr",
            "本期借方 month Dr",
            "本期贷方 month Cr",
            "期末借方 closing Dr",
            "期末贷方 closing Cr",
        ]
    ]
    for row in reports.trial_balance.rows:
        trial.append([row.name, *_pair(row.opening), *_pair(row.period), *_pair(row.closing)])
    tb = reports.trial_balance
    trial.append(
        [
            "合计 total",
            *_pair(tb.total("opening")),
            *_pair(tb.total("period")),
            *_pair(tb.total("closing")),
        ]
    )
    payable = reports.payable
    detail: list[list[Any]] = [["项目 item", "数量 quantity", "金额 amount"]]
    detail.append(["期初应交 owed at the start of the month", "", money_str(payable.opening)])
    for line in payable.fee_lines:
        detail.append([f"{line['fee']} {line['name']}", line["quantity"], line["amount"]])
    detail.append(["本月收费 fees of the month", "", money_str(payable.fees)])
    detail.append(["减：退费 less refunds", "", money_str(payable.refunds)])
    detail.append(["减：已上缴 less remitted", "", money_str(payable.remitted)])
    detail.append(["期末应交 owed at the end of the month", "", money_str(payable.closing)])
    sheet = reports.balance_sheet
    balance: list[list[Any]] = [["项目 item", "期末 closing"]]
    balance += [[f"资产 asset: {name}", money_str(amount)] for name, amount in sheet.assets]
    balance.append(["资产合计 total assets", money_str(sheet.total_assets)])
    balance += [
        [f"负债 liability: {name}", money_str(amount)] for name, amount in sheet.liabilities
    ]
    balance.append(["负债合计 total liabilities", money_str(sheet.total_liabilities)])
    balance.append(["净资产 equity", money_str(sheet.equity)])
    balance.append(
        [
            "负债和净资产合计 liabilities and equity",
            money_str(sheet.total_liabilities + sheet.equity),
        ]
    )
    checks: list[list[Any]] = [["核对 check", "左 left", "右 right", "结果 result"]]
    checks += [
        [c.label, money_str(c.left), money_str(c.right), "一致 ok" if c.ok else "不符 MISMATCH"]
        for c in reports.checks
    ]
    return [
        ("科目余额表 Trial balance", trial),
        ("应交局费用明细表 Fees payable to the office", detail),
        ("资产负债表 Balance sheet", balance),
        ("核对 Reconciliation", checks),
    ]


def _monthly_subtitle(reports: MonthlyReports) -> str:
    statement = reports.statement
    state = (
        f"月结算单 statement r{statement.revision} ({statement.get_status_display()})"
        if statement
        else "月结算单未出 no statement yet"
    )
    return (
        f"{reports.office.name} ({reports.office.code}) · {reports.month:%Y-%m} · "
        f"报送期限 due by {reports.due_on.isoformat()} · {state}"
    )


def monthly_reports_pdf(reports: MonthlyReports) -> bytes:
    return report_pdf(MONTHLY_TITLE, _monthly_subtitle(reports), _monthly_sections(reports))


def monthly_reports_xlsx(reports: MonthlyReports) -> bytes:
    return report_xlsx(MONTHLY_TITLE, _monthly_subtitle(reports), _monthly_sections(reports))


def _national_sections(summary: NationalSummary) -> list[tuple[str, list[list[Any]]]]:
    rows: list[list[Any]] = [
        [
            "代办处 office",
            "笔数 entries",
            "收费 fees",
            "退费 refunds",
            "应缴 due",
            "已缴 remitted",
            "未缴 outstanding",
            "状态 status",
        ]
    ]
    for row in summary.offices:
        statement = row.statement
        status = statement.get_status_display() if statement else "未出 not issued"
        if row.overdue:
            status = f"{status} · 逾期 overdue"
        rows.append(
            [
                f"{row.office.code} {row.office.name}",
                row.figures.entries,
                money_str(row.figures.fees),
                money_str(row.figures.refunds),
                money_str(statement.amount_due) if statement else "",
                money_str(statement.remitted_total) if statement else "",
                money_str(row.outstanding),
                status,
            ]
        )
    rows.append(
        [
            "合计 total",
            sum(row.figures.entries for row in summary.offices),
            money_str(summary.fees),
            money_str(summary.refunds),
            money_str(summary.amount_due),
            money_str(summary.remitted),
            money_str(summary.outstanding),
            "",
        ]
    )
    return [("汇总 Offices of the month", rows)]


def _national_subtitle(summary: NationalSummary) -> str:
    return f"{summary.month:%Y-%m} · {len(summary.offices)} 个代办处 offices"


def national_summary_pdf(summary: NationalSummary) -> bytes:
    return report_pdf(NATIONAL_TITLE, _national_subtitle(summary), _national_sections(summary))


def national_summary_xlsx(summary: NationalSummary) -> bytes:
    return report_xlsx(NATIONAL_TITLE, _national_subtitle(summary), _national_sections(summary))
