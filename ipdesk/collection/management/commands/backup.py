"""``ipdesk backup [--dir DIR]``: a consistent snapshot of the database plus its manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ipdesk.collection.backup import BackupError, create_backup


class Command(BaseCommand):
    help = (
        "Back up the database (SQLite online backup or pg_dump) "
        "with a manifest of counts and totals."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dir", type=Path, default=None, help="where to write (default IPDESK_BACKUP_DIR)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            backup = create_backup(options["dir"] or Path(settings.IPDESK_BACKUP_DIR))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{backup.data}\n{backup.manifest}")
