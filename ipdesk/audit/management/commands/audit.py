"""``ipdesk audit verify``: check the whole audit chain, report the first broken link."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from ipdesk.audit.selectors import chain_head, verify_chain


class Command(BaseCommand):
    help = "Audit log tools. 'verify' recomputes the hash chain from the first event."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="check every link of the chain")
        verify.add_argument("--quiet", action="store_true", help="no progress bar")
        sub.add_parser("head", help="print the sequence and hash of the chain's tip")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "head":
            seq, digest = chain_head()
            self.stdout.write(f"{seq} {digest}")
            return
        total, _digest = chain_head()
        with tqdm(total=total, unit="event", disable=options["quiet"], file=self.stderr) as bar:
            report = verify_chain(progress=bar.update)
        if not report.ok:
            raise CommandError(
                f"audit chain broken at event #{report.broken_at}: {report.reason} "
                f"({report.checked} events verified before it)"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"audit chain intact: {report.checked} events, head {report.head_hash}"
            )
        )
