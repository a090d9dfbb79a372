"""Issue 11 item 8: a backup's manifest carries a signed checkpoint of the audit chain, and a
restore starts a new span of checkpoints."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ipdesk.audit import checkpoints, guards
from ipdesk.audit.models import AuditEvent
from ipdesk.audit.services import record_event
from ipdesk.collection.models import RecoveryRecord


def _backup(directory: Path) -> Path:
    out = StringIO()
    call_command("backup", "--dir", str(directory), stdout=out)
    return Path(out.getvalue().split()[1])


def _verify() -> str:
    out = StringIO()
    call_command("audit", "verify", "--quiet", stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_backup_manifest_carries_a_signed_checkpoint_and_restore_starts_anew(
    tmp_path: Path,
) -> None:
    """Issue 11 item 8: the manifest holds the snapshot's head, signed, and the checkpoint
    directory gets it too; after a restore the chain (shorter than the checkpoints written
    since the backup) verifies from the restore's own checkpoint on."""
    for n in range(3):
        record_event("test.event", object_type="thing", object_id=str(n))
    manifest_path = _backup(tmp_path)
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    mark = checkpoints.Checkpoint.from_dict(manifest["audit_checkpoint"])
    assert (mark.sequence, mark.hash) == (
        manifest["audit_head"]["sequence"],
        manifest["audit_head"]["hash"],
    )
    assert mark.reason == "backup" and mark.signature_holds(checkpoints.keys())
    assert [c.reason for c in checkpoints.read_checkpoints()] == ["backup"]

    # Work goes on after the backup and is checkpointed; then the disk fails.
    for n in range(3):
        record_event("test.later", object_type="thing", object_id=str(n))
    checkpoints.write_checkpoint("scheduled")
    with guards.flush_allowed():
        call_command("flush", "--noinput")
    call_command("restore", str(manifest_path), "--yes", "--operator", "ops", stdout=StringIO())

    assert RecoveryRecord.objects.get().verified
    assert [c.reason for c in checkpoints.read_checkpoints()] == ["backup", "scheduled", "restore"]
    # The later checkpoint is beyond the restored chain, yet the restore marks a new span.
    assert "the newest at #" in _verify()
    assert AuditEvent.objects.last().action == "system.restored"


@pytest.mark.django_db(transaction=True)
def test_restore_reports_a_manifest_checkpoint_that_does_not_hold(tmp_path: Path) -> None:
    """Issue 11 item 8: a manifest whose checkpoint was edited is a problem of the restore."""
    record_event("test.event")
    manifest_path = _backup(tmp_path)
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["audit_checkpoint"]["sequence"] = 7
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(CommandError, match="signature of checkpoint #7"):
        call_command("restore", str(manifest_path), "--yes", stdout=StringIO())
    record = RecoveryRecord.objects.get()
    assert not record.verified
    assert "signature of checkpoint #7" in record.problems
