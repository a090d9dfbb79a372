"""``ipdesk receipts issue-pending | verify FILE | keygen | certgen``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from ipdesk.receipts import certificates, selectors, services, signing
from ipdesk.receipts.datafile import UnreadableDocument


class Command(BaseCommand):
    help = "Electronic receipts: issue what is pending, verify a file offline, make a key."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        pending = sub.add_parser(
            "issue-pending",
            help="issue receipts for every reviewed payment without one, in batches; "
            "safe to stop and run again",
        )
        pending.add_argument("--batch", type=int, default=1000, help="receipts per transaction")
        pending.add_argument(
            "--node", default="", help="issuing node (default: IPDESK_RECEIPT_NODE)"
        )
        verify = sub.add_parser(
            "verify",
            help="check a receipt file's signatures offline (XML data file, PDF or OFD): the "
            "signed data's, and the PDF's or OFD's own",
        )
        verify.add_argument("file", type=Path)
        verify.add_argument(
            "--keys",
            type=Path,
            help="the published /.well-known/ipdesk/keys.json (default: this installation's "
            "keys and certificates)",
        )
        keygen = sub.add_parser("keygen", help="write a new signing key to IPDESK_SIGNING_KEY_DIR")
        keygen.add_argument("--algorithm", choices=signing.ALGORITHMS, default=signing.ED25519)
        certgen = sub.add_parser(
            "certgen",
            help="write development document certificates to IPDESK_DOCUMENT_CERT_DIR: a PDF "
            "signing certificate (RSA, issued by a throwaway development CA) and an SM2 OFD "
            "seal certificate (self-signed)",
        )
        certgen.add_argument(
            "--kind", choices=(*certificates.KINDS, "both"), default="both", help="default: both"
        )
        certgen.add_argument(
            "--days", type=int, default=3 * 366, help="validity in days (default: 3 years)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "issue-pending":
            self._issue_pending(options["batch"], options["node"] or None)
        elif action == "verify":
            self._verify(options["file"], options["keys"])
        elif action == "certgen":
            self._certgen(options["kind"], options["days"])
        else:
            signer = signing.generate_key(
                Path(settings.IPDESK_SIGNING_KEY_DIR), options["algorithm"]
            )
            self.stdout.write(f"{signer.key_id}\t{settings.IPDESK_SIGNING_KEY_DIR}")

    def _issue_pending(self, batch: int, node: str | None) -> None:
        if not 1 <= batch <= 10_000:
            raise CommandError("--batch: between 1 and 10000")
        signing.keyring().require_signer()
        total = selectors.pending_payments().count()
        issued = 0
        with tqdm(total=total, unit="receipt", disable=total == 0) as bar:
            while True:
                ids = list(selectors.pending_payments().values_list("pk", flat=True)[:batch])
                if not ids:
                    break
                done = services.issue_receipts(ids, node=node)
                if not done:  # only payments another process receipted meanwhile
                    continue
                issued += len(done)
                bar.update(len(done))
        self.stdout.write(f"issued {issued} receipts")

    def _certgen(self, kind: str, days: int) -> None:
        if not 1 <= days <= 20 * 366:
            raise CommandError("--days: between 1 and 7320")
        directory = Path(settings.IPDESK_DOCUMENT_CERT_DIR)
        made = []
        if kind in (certificates.PDF, "both"):
            made.append(
                certificates.generate_pdf_certificate(
                    directory, settings.IPDESK_RECEIPT_PAYEE, days=days
                )
            )
        if kind in (certificates.SEAL, "both"):
            made.append(
                certificates.generate_seal_certificate(
                    directory, settings.IPDESK_RECEIPT_PAYEE, days=days
                )
            )
        for cert in made:
            self.stdout.write(f"{cert.id}\t{cert.subject}\t{cert.not_after:%Y-%m-%d}\t{directory}")

    def _verify(self, path: Path, keys_path: Path | None) -> None:
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"file: cannot read {path} ({exc})") from exc
        keys, certs = None, None
        if keys_path is not None:
            try:
                document = json.loads(keys_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CommandError(f"--keys: cannot read the keys document ({exc})") from exc
            keys = signing.Keyring(None, signing.public_keys_from_document(document))
            certs = certificates.published_certificates(document)
        try:
            check = selectors.check_file(content, keys, certs)
        except UnreadableDocument as exc:
            raise CommandError(str(exc)) from exc
        signed = check.signed
        data = signed.data
        self.stdout.write(
            f"{data['code']} {data['number']} {data['issue_date']} {data['total']} "
            f"{data['payer']['name']} ({data['kind']})"
        )
        if not check.data_valid:
            raise CommandError(f"signature: INVALID (key {signed.key_id}, {signed.algorithm})")
        self.stdout.write(f"signature: valid (key {signed.key_id}, {signed.algorithm})")
        document_check = check.document
        if document_check is None:
            return
        label = f"{check.format.upper()} signature"
        if document_check.status == certificates.ABSENT:
            self.stdout.write(f"{label}: none (a file made before documents were signed)")
        elif document_check.status == certificates.INVALID:
            raise CommandError(f"{label}: INVALID ({document_check.reason})")
        else:
            when = document_check.signed_at.isoformat() if document_check.signed_at else "?"
            self.stdout.write(
                f"{label}: valid ({document_check.signer}; certificate "
                f"{document_check.certificate}, signed {when})"
            )
