"""Every receipt format of the registry is rendered, downloaded and read back the same way."""

from __future__ import annotations

from typing import Any

import pytest

from ipdesk.collection.models import Payment
from ipdesk.receipts import services
from ipdesk.receipts.datafile import UnreadableDocument
from ipdesk.receipts.documents import read_document, render
from ipdesk.receipts.formats import FORMATS, attached_to_email, receipt_format
from ipdesk.receipts.models import Receipt
from ipdesk.testing import api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def receipt(reviewed_payment: Payment) -> Receipt:
    return services.current_receipt(reviewed_payment)


@pytest.mark.parametrize("code", list(FORMATS))
def test_each_format_is_read_back_to_the_signed_data(receipt: Receipt, code: str) -> None:
    content = render(receipt, code)
    assert content.lstrip()[:8].startswith(FORMATS[code].magic)
    assert read_document(content).signed == receipt.data.encode("utf-8")


@pytest.mark.parametrize("code", list(FORMATS))
def test_each_format_downloads_with_its_type_and_name(
    receipt: Receipt, reviewer: Any, code: str
) -> None:
    fmt = FORMATS[code]
    answer = api_client(reviewer).get(
        f"/api/v1/receipts/{receipt.series.code}/{receipt.number_text}/{code}"
    )
    assert answer.status_code == 200
    assert answer["Content-Type"] == fmt.content_type
    name = f"{receipt.series.code}-{receipt.number_text}.{fmt.extension}"
    assert answer["Content-Disposition"] == f'attachment; filename="{name}"'
    assert answer.content == render(receipt, code)


def test_an_unknown_format_or_file_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="pdf, ofd, xml"):
        receipt_format("docx")
    with pytest.raises(UnreadableDocument, match="not a PDF, OFD or XML file"):
        read_document(b"GIF89a")


def test_email_carries_the_formats_marked_for_it() -> None:
    assert [fmt.code for fmt in attached_to_email()] == ["pdf", "ofd"]
