"""Excel workbooks of reports: one sheet per section, the same sections as the PDF."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font


def report_xlsx(
    title: str, subtitle: str, sections: Sequence[tuple[str, Sequence[Sequence[Any]]]]
) -> bytes:
    """A workbook with a sheet per section: the report title, subtitle, then the table.

    Sheets are named after the section's first word (the Chinese name), made unique.
    Amounts stay the two-decimal strings of the PDF so that no float ever holds money.
    """
    book = Workbook()
    book.remove(book.active)
    for heading, rows in sections:
        name = heading.split(" ")[0][:31]
        if name in book.sheetnames:
            name = heading[:31]
        sheet = book.create_sheet(name)
        sheet.append([title])
        sheet.append([heading])
        sheet.append([subtitle])
        for index, row in enumerate(rows):
            sheet.append(list(row))
            if index == 0:
                for cell in sheet[sheet.max_row]:
                    cell.font = Font(bold=True)
        sheet.column_dimensions["A"].width = 36
        for column in "BCDEFG":
            sheet.column_dimensions[column].width = 16
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
