"""Backup and recovery (seed 004: back up daily; after a crash restore from the local backup
and write a record of the recovery).

A backup is one consistent snapshot — SQLite's online backup, or ``pg_dump`` inside an
exported snapshot — plus a manifest taken from that same snapshot: row counts of every
table, money totals and the audit chain's head. Restoring checks the file against the
manifest, loads it, recounts, verifies the audit chain end to end, and records the recovery.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from ipdesk.audit import checkpoints
from ipdesk.audit.selectors import chain_head, verify_chain
from ipdesk.audit.services import record_event
from ipdesk.core.money import ZERO, money_str

from .models import JournalLine, Payment, RecoveryRecord, Refund, RefundStatus

MANIFEST_VERSION = 1

log = logging.getLogger(__name__)


class BackupError(Exception):
    pass


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def snapshot_facts() -> dict[str, Any]:
    """Counts of every table and the money totals, as seen by the current transaction."""
    counts = {
        model._meta.db_table: model._base_manager.count()
        for model in apps.get_models()
        if model._meta.managed
        and not model._meta.proxy
        and model._meta.db_table != RecoveryRecord._meta.db_table
    }
    ledger = JournalLine.objects.aggregate(d=Sum("debit"), c=Sum("credit"))
    sequence, head = chain_head()
    return {
        "counts": dict(sorted(counts.items())),
        "totals": {
            "payments": money_str(Payment.objects.aggregate(s=Sum("total"))["s"] or ZERO),
            "reviewed_payments": money_str(
                Payment.objects.filter(reviewed_at__isnull=False).aggregate(s=Sum("total"))["s"]
                or ZERO
            ),
            "approved_refunds": money_str(
                Refund.objects.filter(status=RefundStatus.APPROVED).aggregate(s=Sum("amount"))["s"]
                or ZERO
            ),
            "ledger_debits": money_str(ledger["d"] or ZERO),
            "ledger_credits": money_str(ledger["c"] or ZERO),
        },
        "audit_head": {"sequence": sequence, "hash": head},
    }


@dataclass(frozen=True)
class Backup:
    data: Path
    manifest: Path


def create_backup(directory: Path) -> Backup:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%fZ")
    vendor = connection.vendor
    if vendor == "sqlite":
        data = directory / f"ipdesk-{stamp}.sqlite3"
        if not connection.get_autocommit():
            raise BackupError("a backup cannot be taken inside a transaction")
        connection.ensure_connection()
        raw = connection.connection
        # ipdesk opens SQLite transactions IMMEDIATE (a write lock), and SQLite's backup of a
        # connection that holds the write lock never finishes; a deferred read transaction
        # gives the same consistent snapshot for both the facts and the copy.
        raw.execute("BEGIN DEFERRED")
        try:
            facts = snapshot_facts()
            target = sqlite3.connect(data)
            try:
                raw.backup(target)
            finally:
                target.close()
        finally:
            raw.execute("COMMIT")
    elif vendor == "postgresql":
        data = directory / f"ipdesk-{stamp}.pgdump"
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            facts = snapshot_facts()
            _run(
                [
                    "pg_dump",
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    f"--file={data}",
                    *_pg_target(),
                ]
            )
    else:  # pragma: no cover - ipdesk runs on SQLite and PostgreSQL only
        raise BackupError(f"no backup method for {vendor}")
    manifest = {
        "version": MANIFEST_VERSION,
        "created_at": timezone.now().isoformat(),
        "engine": vendor,
        "file": data.name,
        "sha256": _sha256(data),
        "size": data.stat().st_size,
        **facts,
        "audit_checkpoint": _backup_checkpoint(facts["audit_head"]),
    }
    manifest_path = data.with_suffix(data.suffix + ".manifest.json")
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return Backup(data, manifest_path)


def _backup_checkpoint(head: dict[str, Any]) -> dict[str, Any] | None:
    """The snapshot's audit head, signed, in the manifest and in the checkpoint directory:
    a copy of the chain's length kept with the backup, away from the database."""
    try:
        mark = checkpoints.make_checkpoint("backup", head=(head["sequence"], head["hash"]))
    except ImproperlyConfigured as exc:
        # A backup without a signed checkpoint is still a backup; the key comes later.
        log.warning("backup without an audit checkpoint: %s", exc)
        return None
    checkpoints.append_checkpoint(mark)
    return mark.as_dict()


def _check_manifest_checkpoint(manifest: dict[str, Any], problems: list[str]) -> None:
    if not manifest.get("audit_checkpoint"):
        return
    try:
        mark = checkpoints.Checkpoint.from_dict(manifest["audit_checkpoint"], "manifest")
        marks = checkpoints.anchors([mark])
    except (checkpoints.CheckpointError, ImproperlyConfigured) as exc:
        problems.append(f"audit checkpoint of the manifest: {exc}")
        return
    report = verify_chain(anchors=marks)
    if not report.ok:
        problems.append(
            f"audit chain differs from the manifest's signed checkpoint at event "
            f"#{report.broken_at}: {report.reason}"
        )


def _pg_target() -> list[str]:
    settings = connection.settings_dict
    args = ["--dbname", settings["NAME"]]
    if settings.get("HOST"):
        args += ["--host", settings["HOST"]]
    if settings.get("PORT"):
        args += ["--port", str(settings["PORT"])]
    if settings.get("USER"):
        args += ["--username", settings["USER"]]
    return args


def _run(command: list[str]) -> None:
    env = dict(os.environ)
    password = connection.settings_dict.get("PASSWORD")
    if password:
        env["PGPASSWORD"] = password
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)")
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()}")


@dataclass(frozen=True)
class RestoreResult:
    ok: bool
    problems: list[str]
    record: RecoveryRecord


def restore_backup(manifest_path: Path, *, operator: str, note: str = "") -> RestoreResult:
    """Load a backup over the current database, then prove it is the backup that was taken."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    data = manifest_path.parent / manifest["file"]
    if not data.is_file():
        raise BackupError(f"file: {data} is missing")
    if _sha256(data) != manifest["sha256"]:
        raise BackupError("file: the backup does not match its manifest's SHA-256")
    if manifest["engine"] != connection.vendor:
        raise BackupError(
            f"engine: the backup is from {manifest['engine']}, this database is {connection.vendor}"
        )
    started = timezone.now()
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        source = sqlite3.connect(data)
        try:
            source.backup(connection.connection)
        finally:
            source.close()
    else:
        connection.close()
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                *_pg_target(),
                str(data),
            ]
        )
    problems: list[str] = []
    facts = snapshot_facts()
    for key in ("counts", "totals", "audit_head"):
        if facts[key] != manifest[key]:
            problems.append(f"{key} differ from the manifest")
    report = verify_chain()
    if not report.ok:
        problems.append(f"audit chain broken at event #{report.broken_at}: {report.reason}")
    _check_manifest_checkpoint(manifest, problems)
    with transaction.atomic():
        record = RecoveryRecord.objects.create(
            backup_file=data.name,
            backup_sha256=manifest["sha256"],
            backup_created_at=dt.datetime.fromisoformat(manifest["created_at"]),
            started_at=started,
            operator=operator[:150],
            note=note[:1000],
            verified=not problems,
            problems="\n".join(problems),
            audit_events_verified=report.checked,
            facts=facts,
        )
        record_event(
            "system.restored",
            actor_label=operator or "operator",
            obj=record,
            payload={
                "backup": data.name,
                "sha256": manifest["sha256"],
                "verified": not problems,
                "problems": problems,
            },
        )
    # The chain went back to the backup's: checkpoints from before are compared no more.
    try:
        checkpoints.write_checkpoint(checkpoints.RESTORE)
    except ImproperlyConfigured as exc:
        log.warning("restore without an audit checkpoint: %s", exc)
    return RestoreResult(ok=not problems, problems=problems, record=record)
