"""Backup → wipe → restore → identical totals, a verifying audit chain, a recovery record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from ipdesk.accounts.models import OrganisationKind, Role
from ipdesk.audit import guards
from ipdesk.audit.models import AuditEvent
from ipdesk.audit.selectors import verify_chain
from ipdesk.collection import selectors, services
from ipdesk.collection.backup import snapshot_facts
from ipdesk.collection.models import Payment, RecoveryRecord, VolumeKind
from ipdesk.testing import organisation, user

from .conftest import booking


def _bookings() -> Any:
    office = organisation(OrganisationKind.AGENCY_OFFICE, "BJ")
    collector = user(Role.COLLECTOR, "zhang", org=office)
    reviewer = user(Role.REVIEWER, "li", org=office)
    volume = services.open_volume(
        office=office, kind=VolumeKind.COUNTER, day=timezone.localdate(), actor=collector
    )
    services.book_payment(volume=volume, data=booking(), actor=collector)
    services.book_payment(
        volume=volume, data=booking(fee="examination", amount="2500"), actor=collector
    )
    services.close_volume(volume, actor=collector)
    services.review_volume(volume, actor=reviewer)
    return office


@pytest.mark.django_db(transaction=True)
def test_backup_wipe_restore(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    office = _bookings()
    before = snapshot_facts()
    call_command("backup", "--dir", str(tmp_path))
    data_path, manifest_path = capsys.readouterr().out.split()
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    assert manifest["totals"]["reviewed_payments"] == "3400.00"
    assert manifest["counts"]["collection_payment"] == 2
    assert manifest["audit_head"]["sequence"] == AuditEvent.objects.count()

    # The crash: everything is gone.
    with guards.flush_allowed():
        call_command("flush", "--noinput")
    assert not Payment.objects.exists()

    call_command("restore", manifest_path, "--yes", "--operator", "ops", "--note", "disk failure")
    after = snapshot_facts()
    # The restore itself appends one audit event (system.restored) after checking the copy.
    expected_counts = {**before["counts"]}
    expected_counts["audit_auditevent"] += 1
    assert after["counts"] == expected_counts
    assert after["totals"] == before["totals"]
    assert selectors.daily_report(office, timezone.localdate()).total == 3400
    record = RecoveryRecord.objects.get()
    assert record.verified and record.operator == "ops" and record.note == "disk failure"
    assert record.audit_events_verified == manifest["audit_head"]["sequence"]
    assert verify_chain().ok
    assert AuditEvent.objects.last().action == "system.restored"
    assert Path(data_path).is_file()


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_changed_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _bookings()
    call_command("backup", "--dir", str(tmp_path))
    data_path, manifest_path = capsys.readouterr().out.split()
    with Path(data_path).open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(CommandError, match="SHA-256"):
        call_command("restore", manifest_path, "--yes")
    with pytest.raises(CommandError, match=r"manifest: .* does not exist"):
        call_command("restore", str(tmp_path / "missing.json"), "--yes")
    assert not RecoveryRecord.objects.exists()
    assert Payment.objects.count() == 2


def test_daily_backup_is_scheduled(settings: Any) -> None:
    assert settings.CELERY_BEAT_SCHEDULE["daily-backup"]["task"] == "ipdesk.collection.daily_backup"
