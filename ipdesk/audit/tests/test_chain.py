from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from ipdesk.audit.models import GENESIS_HASH, AppendOnlyError, AuditEvent, AuditHead
from ipdesk.audit.selectors import chain_head, verify_chain
from ipdesk.audit.services import EventSpec, record_event, record_events

pytestmark = pytest.mark.django_db


def _three_events() -> list[AuditEvent]:
    first = record_event(
        "test.created", object_type="thing", object_id="1", payload={"amount": "900.00"}
    )
    rest = record_events(
        [
            EventSpec("test.changed", object_type="thing", object_id="1", payload={"n": 2}),
            EventSpec(
                "test.changed", object_type="thing", object_id="2", payload={"名称": "申请费"}
            ),
        ]
    )
    return [first, *rest]


def _tamper(sql: str, params: list[object]) -> None:
    """Change a row the way an intruder with database access would: around the guard."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # As a superuser would: replica mode fires no ordinary triggers.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(sql, params)
            cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            cursor.execute("DROP TRIGGER audit_event_no_update")
            cursor.execute("DROP TRIGGER audit_event_no_delete")
            cursor.execute(sql, params)


def test_events_form_a_chain_from_genesis() -> None:
    events = _three_events()
    assert [e.sequence for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert len({e.hash for e in events}) == 3
    assert chain_head() == (3, events[2].hash)
    report = verify_chain()
    assert report.ok and report.checked == 3


def test_payload_is_canonical_json() -> None:
    event = record_event("test.created", payload={"b": 1, "a": "申请费"})
    assert AuditEvent.objects.get(pk=event.pk).payload == '{"a":"申请费","b":1}'


def test_orm_refuses_update_and_delete() -> None:
    event = _three_events()[0]
    event.action = "forged"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET action = 'forged' WHERE sequence = 1",
        "DELETE FROM audit_auditevent WHERE sequence = 1",
    ],
)
def test_database_refuses_update_and_delete(statement: str) -> None:
    _three_events()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEvent.objects.get(sequence=1).action == "test.created"


def test_changed_payload_is_detected() -> None:
    _three_events()
    _tamper("UPDATE audit_auditevent SET payload = %s WHERE sequence = 2", ['{"n":3}'])
    report = verify_chain()
    assert not report.ok
    assert report.broken_at == 2
    assert report.reason == "content does not match its hash"
    assert report.checked == 1


def test_rehashed_forgery_breaks_the_next_link() -> None:
    events = _three_events()
    # A forger who recomputes the hash of the row they changed still breaks the next link.
    from ipdesk.audit.services import event_digest
    from ipdesk.core.canonical import canonical_json

    second = events[1]
    forged_hash = event_digest(
        sequence=2,
        occurred_at=canonical_json(second.occurred_at).strip('"'),
        actor_id=None,
        actor_label="system",
        action="test.changed",
        object_type="thing",
        object_id="1",
        payload='{"n":99}',
        prev_hash=second.prev_hash,
    )
    _tamper(
        "UPDATE audit_auditevent SET payload = %s, hash = %s WHERE sequence = 2",
        ['{"n":99}', forged_hash],
    )
    report = verify_chain()
    assert (report.broken_at, report.reason) == (3, "previous hash does not match")


def test_deleted_link_is_detected() -> None:
    _three_events()
    _tamper("DELETE FROM audit_auditevent WHERE sequence = 2", [])
    report = verify_chain()
    assert (report.broken_at, report.reason) == (2, "missing link")


def test_truncated_tail_is_detected() -> None:
    _three_events()
    _tamper("DELETE FROM audit_auditevent WHERE sequence = 3", [])
    report = verify_chain()
    assert not report.ok
    assert report.broken_at == 3
    assert report.reason == "chain ends before the recorded head"


def test_rollback_leaves_no_event() -> None:
    record_event("test.kept")
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event("test.rolled_back")
        raise RuntimeError("the change failed")
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["test.kept"]
    assert AuditHead.objects.get().sequence == 1
    assert verify_chain().ok


def test_verify_command_reports_ok_and_first_broken_link(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _three_events()
    call_command("audit", "verify", "--quiet")
    assert "audit chain intact: 3 events" in capsys.readouterr().out
    _tamper("UPDATE audit_auditevent SET actor_label = 'mallory' WHERE sequence = 1", [])
    with pytest.raises(CommandError, match=r"broken at event #1: content does not match"):
        call_command("audit", "verify", "--quiet")
