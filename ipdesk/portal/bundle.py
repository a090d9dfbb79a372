"""A ZIP of receipt files plus an Excel list of them, produced as a stream of chunks.

The archive is written entry by entry to a write-only pipe (``zipfile`` falls back to data
descriptors when it cannot seek), and each rendered file leaves memory as soon as its bytes
are handed on, so memory stays flat however many receipts go in. The Excel list is built
with openpyxl's write-only workbook (rows go to a temporary file) and appended last.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from ipdesk.receipts import documents
from ipdesk.receipts.formats import FORMATS
from ipdesk.receipts.models import Receipt, ReceiptKind

LIST_NAME = "receipts.xlsx"


class _Pipe(io.RawIOBase):
    """A write-only, unseekable file whose contents are taken away chunk by chunk."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        return len(chunk)

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def list_header() -> list[str]:
    return [
        _("Receipt code (票据代码)"),
        _("Receipt number (票据号码)"),
        _("Check code (校验码)"),
        _("Issue date (开票日期)"),
        _("Kind"),
        _("Status"),
        _("Payer"),
        _("Application number"),
        _("Amount (yuan)"),
        _("Files"),
    ]


def list_row(receipt: Receipt, names: Sequence[str]) -> list[Any]:
    reversed_ = bool(getattr(receipt, "reversed", False))
    return [
        receipt.series.code,
        receipt.number_text,
        receipt.check_code,
        receipt.issue_date,
        str(ReceiptKind(receipt.kind).label),
        _("Reversed (冲红)") if reversed_ else _("In force"),
        receipt.payer_name,
        receipt.payment.application_number,
        receipt.total,
        " ".join(names),
    ]


def stream_bundle(
    receipts: Iterable[Receipt],
    formats: Sequence[str] = ("pdf",),
    *,
    progress: Callable[[int], None] | None = None,
    every: int = 100,
) -> Iterator[bytes]:
    """Yield the bytes of a ZIP holding each receipt in ``formats`` and the Excel list."""
    pipe = _Pipe()
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Receipts"))
    sheet.append(list_header())
    count = 0
    with zipfile.ZipFile(pipe, "w", allowZip64=True) as archive:
        for receipt in receipts:
            names = []
            stamp = timezone.localtime(receipt.issued_at).timetuple()[:6]
            for fmt in formats:
                name = documents.filename(receipt, fmt)
                entry = zipfile.ZipInfo(name, date_time=stamp)
                # A compressed format deflated again costs time for nothing.
                entry.compress_type = (
                    zipfile.ZIP_STORED if FORMATS[fmt].compressed else zipfile.ZIP_DEFLATED
                )
                archive.writestr(entry, documents.render(receipt, fmt))
                names.append(name)
                yield pipe.take()
            sheet.append(list_row(receipt, names))
            count += 1
            if progress is not None and count % every == 0:
                progress(count)
        with tempfile.TemporaryDirectory(prefix="ipdesk-list-") as directory:
            path = Path(directory) / LIST_NAME
            book.save(path)
            archive.write(path, LIST_NAME, compress_type=zipfile.ZIP_DEFLATED)
        yield pipe.take()
    if progress is not None:
        progress(count)
    yield pipe.take()
