"""``ipdesk wallet register NAME [--webhook-url URL]``: register a wallet app (电子票夹)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ipdesk.core.errors import DomainError
from ipdesk.delivery.services import register_wallet


class Command(BaseCommand):
    help = "Register a wallet app and print its API token and webhook secret (shown once)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        register = sub.add_parser("register", help="register a wallet app")
        register.add_argument("name")
        register.add_argument("--webhook-url", default="", help="where new receipts are pushed")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            wallet, token, secret = register_wallet(
                name=options["name"], webhook_url=options["webhook_url"]
            )
        except DomainError as exc:
            fields = "; ".join(
                f"{name}: {' '.join(str(m) for m in msgs)}" for name, msgs in exc.fields.items()
            )
            raise CommandError(fields or str(exc.message)) from exc
        self.stdout.write(f"wallet: {wallet.name} (user {wallet.user.username})")
        self.stdout.write(f"api token: {token}")
        self.stdout.write(f"webhook secret: {secret}")
