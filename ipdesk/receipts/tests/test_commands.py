"""``ipdesk receipts issue-pending`` and ``ipdesk receipts verify FILE``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from ipdesk.collection.models import Payment
from ipdesk.receipts import services
from ipdesk.receipts.datafile import receipt_xml
from ipdesk.receipts.models import Receipt
from ipdesk.testing import bulk_reviewed_payments


@pytest.mark.django_db
def test_issue_pending_issues_everything_once(capsys: pytest.CaptureFixture[str]) -> None:
    ids = bulk_reviewed_payments(25)
    services.issue_receipts(ids[:5])  # as if an earlier run was stopped after one batch
    call_command("receipts", "issue-pending", "--batch", "7")
    assert "issued 20 receipts" in capsys.readouterr().out
    assert sorted(Receipt.objects.values_list("number", flat=True)) == list(range(1, 26))
    call_command("receipts", "issue-pending")
    assert "issued 0 receipts" in capsys.readouterr().out
    with pytest.raises(CommandError, match="--batch"):
        call_command("receipts", "issue-pending", "--batch", "0")


def test_verify_offline_with_the_published_keys(
    reviewed_payment: Payment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    receipt = services.current_receipt(reviewed_payment)
    keys = tmp_path / "keys.json"
    keys.write_bytes(Client().get("/.well-known/ipdesk/keys.json").content)
    good = tmp_path / "r.xml"
    good.write_bytes(receipt_xml(receipt))
    call_command("receipts", "verify", str(good), "--keys", str(keys))
    out = capsys.readouterr().out
    assert "signature: valid" in out and receipt.number_text in out

    other_keys = tmp_path / "other.json"
    other_keys.write_text(json.dumps({"keys": []}))
    with pytest.raises(CommandError, match="INVALID"):
        call_command("receipts", "verify", str(good), "--keys", str(other_keys))
    junk = tmp_path / "junk.txt"
    junk.write_text("hello")
    with pytest.raises(CommandError, match="file:"):
        call_command("receipts", "verify", str(junk))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("receipts", "verify", str(tmp_path / "missing.xml"))
    broken_keys = tmp_path / "broken.json"
    broken_keys.write_text("{")
    with pytest.raises(CommandError, match="--keys"):
        call_command("receipts", "verify", str(good), "--keys", str(broken_keys))
