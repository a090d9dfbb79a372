"""``ipdesk token USERNAME``: issue an API token and print it once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ipdesk.accounts.models import User
from ipdesk.accounts.services import issue_api_token
from ipdesk.core.errors import DomainError


class Command(BaseCommand):
    help = "Issue an API token for a user and print it (it is not shown again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="a label for the token")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"username: no user named {options['username']!r}")
        try:
            _token, plaintext = issue_api_token(user, name=options["name"])
        except DomainError as exc:
            raise CommandError(str(exc.as_dict()["error"])) from exc
        self.stdout.write(plaintext)
