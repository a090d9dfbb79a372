"""What every benchmark starts with: ipdesk on a fresh scratch PostgreSQL database."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def scratch_database(server: str, name: str) -> str:
    """A new empty database ``name`` on the server (dropped first); returns its URL."""
    import psycopg

    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(server)
    return urlunsplit(parts._replace(path=f"/{name}"))


def start_ipdesk(server: str, name: str, **environment: str) -> None:
    """Point this process (and its children) at a scratch database and a temporary data
    directory, set Django up, migrate, and make a signing key."""
    os.environ.update(
        {
            "DATABASE_URL": scratch_database(server, name),
            "IPDESK_DATA_DIR": tempfile.mkdtemp(prefix="ipdesk-bench-"),
            "DEBUG": "false",  # no query log growing in memory
            "SECRET_KEY": "bench-only-" + os.urandom(16).hex(),
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "ipdesk.settings",
            **environment,
        }
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from ipdesk.receipts import signing

    call_command("migrate", verbosity=0)
    signing.generate_key(Path(settings.IPDESK_SIGNING_KEY_DIR))
