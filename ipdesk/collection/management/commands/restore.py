"""``ipdesk restore MANIFEST``: restore a backup, verify it, and record the recovery."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ipdesk.collection.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup over the current database, then check counts, totals and the audit "
        "chain against its manifest and write a recovery record."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manifest", type=Path, help="the backup's .manifest.json")
        parser.add_argument(
            "--operator", default="", help="who restores (default: the system user)"
        )
        parser.add_argument("--note", default="", help="what happened, for the recovery record")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["manifest"].is_file():
            raise CommandError(f"manifest: {options['manifest']} does not exist")
        if (
            not options["yes"]
            and input("This replaces the whole database. Type yes: ").strip() != "yes"
        ):
            raise CommandError("not confirmed")
        try:
            result = restore_backup(
                options["manifest"],
                operator=options["operator"] or getpass.getuser(),
                note=options["note"],
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        if not result.ok:
            raise CommandError("restored, but verification failed: " + "; ".join(result.problems))
        self.stdout.write(
            self.style.SUCCESS(
                f"restored and verified: {result.record.audit_events_verified} audit events; "
                f"recovery record #{result.record.pk}"
            )
        )
