"""Database-level refusal of updates and deletes of append-only tables (audit events, receipts).

PostgreSQL: a row trigger raises on UPDATE or DELETE. SQLite: a trigger raises unless the
SQL function ``ipdesk_audit_unlocked()`` answers 1. ipdesk registers that function on each
connection answering 0, so every connection — including one from the sqlite3 shell, where
the function does not exist and the trigger fails — is refused. Only the test harness
flips it, to let Django flush the database between transactional tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.backends.signals import connection_created

_state = threading.local()

TABLE = "audit_auditevent"


def _statements(vendor: str, table: str, install: bool) -> list[str]:
    """The trigger DDL that makes ``table`` append-only (or removes it)."""
    name = "audit_event" if table == TABLE else table
    what = "audit events" if table == TABLE else f"{table} rows"
    if vendor == "sqlite":
        if not install:
            return [
                f"DROP TRIGGER IF EXISTS {name}_no_update",
                f"DROP TRIGGER IF EXISTS {name}_no_delete",
            ]
        return [
            f"""CREATE TRIGGER IF NOT EXISTS {name}_no_update BEFORE UPDATE ON {table}
                BEGIN SELECT RAISE(ABORT, '{what} are append-only'); END""",
            f"""CREATE TRIGGER IF NOT EXISTS {name}_no_delete BEFORE DELETE ON {table}
                WHEN ipdesk_audit_unlocked() = 0
                BEGIN SELECT RAISE(ABORT, '{what} are append-only'); END""",
        ]
    if vendor == "postgresql":
        if not install:
            return [f"DROP TRIGGER IF EXISTS {name}_append_only ON {table}"]
        return [
            """CREATE OR REPLACE FUNCTION ipdesk_refuse_change() RETURNS trigger AS $$
               BEGIN RAISE EXCEPTION '% are append-only', TG_ARGV[0]; END
               $$ LANGUAGE plpgsql""",
            f"""CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION ipdesk_refuse_change('{what}')""",
        ]
    return []


def _unlocked() -> int:
    return 1 if getattr(_state, "unlocked", False) else 0


def _register(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("ipdesk_audit_unlocked", 0, _unlocked)


def connect() -> None:
    connection_created.connect(_register, dispatch_uid="ipdesk.audit.guards")


def install(schema_editor: Any, table: str = TABLE) -> None:
    for sql in _statements(schema_editor.connection.vendor, table, install=True):
        schema_editor.execute(sql, None)


def remove(schema_editor: Any, table: str = TABLE) -> None:
    for sql in _statements(schema_editor.connection.vendor, table, install=False):
        schema_editor.execute(sql, None)


@contextmanager
def flush_allowed() -> Iterator[None]:
    """Let SQLite delete audit rows in this thread: for emptying a test database only."""
    _state.unlocked = True
    try:
        yield
    finally:
        _state.unlocked = False
