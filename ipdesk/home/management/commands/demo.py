"""``ipdesk demo``: load the demo organisations and users (idempotent) and print the logins."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ipdesk.core.errors import DomainError
from ipdesk.home.demo import load_demo, load_demo_payments


class Command(BaseCommand):
    help = "Load demo data (safe to run again) and print the demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        logins = load_demo()
        try:
            booked = load_demo_payments()
        except DomainError as exc:  # e.g. today's year is not in the working-day calendar
            self.stderr.write(f"demo payments not booked: {exc.message}")
        else:
            if booked:
                self.stdout.write(f"Booked and reviewed {booked} demo payments at 北京代办处.")
        self.stdout.write(
            self.style.SUCCESS("Demo data ready. Sign in at http://127.0.0.1:8000/ with:")
        )
        for login in logins:
            where = f"  {login.organisation}" if login.organisation else ""
            self.stdout.write(
                f"  {login.username:<12} {login.password:<18} {login.role:<10}{where}"
            )
