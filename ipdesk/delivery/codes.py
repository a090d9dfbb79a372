"""Short secrets people type (pickup codes 取票码, wallet binding codes) and their hashes."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.conf import settings

# No 0/O and no 1/I: nothing a reader can confuse. 32 symbols, so 8 of them are 40 bits.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8
PICKUP = "pickup"
BINDING = "binding"
CODE_RE = re.compile(rf"^[{ALPHABET}]{{{CODE_LENGTH}}}$")
_SEPARATORS = re.compile(r"[\s\-]")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise(raw: str) -> str:
    return _SEPARATORS.sub("", str(raw or "")).upper()


def well_formed(code: str) -> bool:
    return bool(CODE_RE.match(code))


def code_hash(purpose: str, code: str) -> str:
    """A keyed hash: a copy of the database alone does not let anyone try all 2⁴⁰ codes."""
    key = f"ipdesk.delivery.{purpose}:{settings.SECRET_KEY}".encode()
    return hmac.new(key, code.encode("ascii"), hashlib.sha256).hexdigest()
