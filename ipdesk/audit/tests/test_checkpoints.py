"""Issue 11 item 8: the audit chain is anchored outside the database by signed checkpoints."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from ipdesk.accounts.models import Role
from ipdesk.audit import checkpoints
from ipdesk.audit.models import AuditEvent
from ipdesk.audit.selectors import chain_head, verify_chain
from ipdesk.audit.services import event_digest, record_event
from ipdesk.audit.tasks import checkpoint as checkpoint_task
from ipdesk.core.canonical import canonical_json
from ipdesk.receipts import signing
from ipdesk.testing import api_client, user

from .test_chain import _tamper

pytestmark = pytest.mark.django_db


def _events(count: int) -> None:
    for n in range(count):
        record_event("test.event", object_type="thing", object_id=str(n), payload={"n": n})


def _truncate_to(sequence: int) -> None:
    """Delete the newest events and rewrite the head, as someone with database rights can."""
    _tamper("DELETE FROM audit_auditevent WHERE sequence > %s", [sequence])
    kept = AuditEvent.objects.get(sequence=sequence)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_audithead SET sequence = %s, hash = %s WHERE id = 1",
            [sequence, kept.hash],
        )


def _verify() -> str:
    out = StringIO()
    call_command("audit", "verify", "--quiet", stdout=out)
    return out.getvalue()


def test_truncated_chain_with_rewritten_head_fails_against_a_checkpoint() -> None:
    """Issue 11 item 8: deleting the newest events and rewriting ``audit_audithead`` passed
    ``ipdesk audit verify``; the signed checkpoint of the longer chain now refuses it."""
    _events(5)
    call_command("audit", "checkpoint", stdout=StringIO())
    assert "through 1 signed checkpoints, the newest at #5" in _verify()
    _truncate_to(3)
    assert verify_chain().ok  # the chain alone cannot tell: the defect
    with pytest.raises(CommandError, match=r"#4: chain ends before a signed checkpoint"):
        _verify()


def test_a_rewritten_chain_that_diverges_from_a_checkpoint_fails() -> None:
    """Issue 11 item 8: a forger who rewrites the newest event and its hash, and the head,
    keeps a consistent chain; it no longer runs through the checkpoint's hash."""
    _events(3)
    checkpoints.write_checkpoint("scheduled")
    third = AuditEvent.objects.get(sequence=3)
    forged = event_digest(
        sequence=3,
        occurred_at=canonical_json(third.occurred_at).strip('"'),
        actor_id=None,
        actor_label=third.actor_label,
        action=third.action,
        object_type=third.object_type,
        object_id=third.object_id,
        payload='{"n":99}',
        prev_hash=third.prev_hash,
    )
    _tamper(
        "UPDATE audit_auditevent SET payload = %s, hash = %s WHERE sequence = 3",
        ['{"n":99}', forged],
    )
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_audithead SET hash = %s WHERE id = 1", [forged])
    assert verify_chain().ok
    with pytest.raises(CommandError, match=r"#3: differs from a signed checkpoint"):
        _verify()


def _checkpoint_files() -> list[Path]:
    return sorted(checkpoints.checkpoint_dir().glob("*.jsonl"))


def test_a_checkpoint_with_a_bad_signature_fails(settings: Any) -> None:
    """Issue 11 item 8: a checkpoint line changed to match a shortened chain is refused."""
    _events(4)
    checkpoints.write_checkpoint("scheduled")
    (path,) = _checkpoint_files()
    line = json.loads(path.read_text())
    sequence, digest = 2, AuditEvent.objects.get(sequence=2).hash
    path.write_text(json.dumps({**line, "sequence": sequence, "hash": digest}) + "\n")
    with pytest.raises(CommandError, match=r"signature of checkpoint #2 .* does not hold"):
        _verify()


def test_a_checkpoint_signed_by_an_unknown_key_fails(tmp_path: Path) -> None:
    """Issue 11 item 8: only the office's keys sign checkpoints."""
    _events(2)
    stranger = signing.load_keyring(tmp_path / "none")
    other = signing.generate_key(tmp_path / "other")
    signing.keyring.cache_clear()

    class StrangerKeys:
        def sign(self, data: bytes) -> tuple[str, str, bytes]:
            return other.key_id, other.algorithm, other.sign(data)

        def verify(self, key_id: str, data: bytes, signature: bytes) -> bool:
            return stranger.verify(key_id, data, signature)

    checkpoints.append_checkpoint(checkpoints.make_checkpoint("manual", signer=StrangerKeys()))
    with pytest.raises(CommandError, match="does not hold"):
        _verify()


def test_an_unreadable_checkpoint_line_fails() -> None:
    _events(1)
    checkpoints.write_checkpoint("scheduled")
    (path,) = _checkpoint_files()
    with path.open("a") as handle:
        handle.write("not json\n")
    with pytest.raises(CommandError, match=r"audit-checkpoints-.*\.jsonl:2: not a checkpoint"):
        _verify()


def test_checkpoints_are_appended_never_rewritten() -> None:
    """Issue 11 item 8: each checkpoint is one more line; earlier lines stay as they were."""
    _events(1)
    first = checkpoints.write_checkpoint("scheduled")
    (path,) = _checkpoint_files()
    before = path.read_bytes()
    _events(2)
    second = checkpoints.write_checkpoint("scheduled")
    after = path.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == 2
    assert [c.sequence for c in checkpoints.read_checkpoints()] == [first.sequence, 3]
    assert second.signature_holds(checkpoints.keys())
    assert path.stat().st_mode & 0o777 == 0o640


def test_the_hourly_job_writes_a_checkpoint(settings: Any) -> None:
    """Issue 11 item 8: Celery beat signs the head every hour."""
    schedule = settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]
    assert schedule["task"] == "ipdesk.audit.checkpoint"
    assert schedule["schedule"].hour == set(range(24))
    _events(2)
    assert checkpoint_task.delay().get() == f"#2 {chain_head()[1]}"
    (mark,) = checkpoints.read_checkpoints()
    assert (mark.sequence, mark.reason) == (2, "scheduled")


def test_the_api_verification_compares_with_the_checkpoints() -> None:
    """Issue 11 item 8: ``GET /api/v1/audit/verify`` tells the same as the command."""
    auditor = user(Role.AUDITOR, "auditor")
    client = api_client(auditor)
    checkpoints.write_checkpoint("scheduled")
    head = chain_head()[0]
    ok = client.get("/api/v1/audit/verify").json()
    assert ok["ok"] and ok["newest_checkpoint"] == head
    _truncate_to(head - 1)
    broken = client.get("/api/v1/audit/verify").json()
    assert not broken["ok"] and broken["reason"] == "chain ends before a signed checkpoint"


def test_verify_reads_a_checkpoint_file_given_to_it(tmp_path: Path) -> None:
    """Issue 11 item 8: a checkpoint kept elsewhere (a mail, a copy) is checked with
    ``--checkpoints``."""
    _events(3)
    mark = checkpoints.make_checkpoint("manual")
    kept = checkpoints.append_checkpoint(mark, tmp_path / "elsewhere")
    _truncate_to(2)
    _verify()
    with pytest.raises(CommandError, match="chain ends before a signed checkpoint"):
        call_command("audit", "verify", "--quiet", "--checkpoints", str(kept))
