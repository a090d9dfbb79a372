"""``ipdesk audit``: verify the chain against its signed checkpoints, write a checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from ipdesk.audit import checkpoints
from ipdesk.audit.selectors import chain_head


class Command(BaseCommand):
    help = (
        "Audit log tools. 'verify' recomputes the hash chain from the first event and checks "
        "it against the signed checkpoints; 'checkpoint' signs and stores the head."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="check every link and every signed checkpoint")
        verify.add_argument("--quiet", action="store_true", help="no progress bar")
        verify.add_argument(
            "--checkpoints",
            type=Path,
            help="a checkpoint file or directory (default: IPDESK_AUDIT_CHECKPOINT_DIR)",
        )
        sub.add_parser("head", help="print the sequence and hash of the chain's tip")
        sub.add_parser("checkpoint", help="sign the head and append it to the checkpoints")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "head":
            seq, digest = chain_head()
            self.stdout.write(f"{seq} {digest}")
            return
        if options["action"] == "checkpoint":
            mark = checkpoints.write_checkpoint("manual")
            self.stdout.write(
                f"checkpoint #{mark.sequence} {mark.hash} at {mark.at}, signed by {mark.key_id}"
            )
            return
        total, _digest = chain_head()
        with tqdm(total=total, unit="event", disable=options["quiet"], file=self.stderr) as bar:
            report = checkpoints.verify_against_checkpoints(
                progress=bar.update, path=options["checkpoints"]
            )
        if not report.ok:
            raise CommandError(
                f"audit chain broken at event #{report.broken_at}: {report.reason} "
                f"({report.checked} events verified before it)"
            )
        if report.newest_checkpoint is None:
            anchored = "no signed checkpoint to compare with"
        else:
            anchored = (
                f"through {report.checkpoints} signed checkpoints, "
                f"the newest at #{report.newest_checkpoint}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"audit chain intact: {report.checked} events, head {report.head_hash}, {anchored}"
            )
        )
