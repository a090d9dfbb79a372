"""Signing keys of the issuing unit (开票单位签章): load, sign, verify, publish.

Private keys live in files (``IPDESK_SIGNING_KEY_DIR``, default ``$IPDESK_DATA_DIR/keys``)
or in the environment (``IPDESK_SIGNING_KEY``), never in the database. Two algorithms:

- ``Ed25519`` (default, via ``cryptography``): a PKCS#8 PEM file ``<anything>.pem``;
- ``SM2-SM3`` (GB/T 32918 with the SM3 digest, via ``gmssl``): a file ``<anything>.sm2``
  holding the 64 hex digits of the private key. Pure Python: about 200 signatures/s.

A key's id is ``<algorithm>-<first 16 hex digits of SHA-256 of its raw public key>``, so it
is the same wherever the key is loaded. Rotation: add the new key file, set
``IPDESK_SIGNING_KEY_ID`` to its id; keep the old public key (``<anything>.pub.pem`` or
``<anything>.pub.sm2`` holding the public hex) so receipts signed with it stay verifiable.
``/.well-known/ipdesk/keys.json`` publishes every public key as a JWK.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from gmssl import sm2

ED25519 = "Ed25519"
SM2_SM3 = "SM2-SM3"
ALGORITHMS = (ED25519, SM2_SM3)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key_id(algorithm: str, public_raw: bytes) -> str:
    prefix = "ed25519" if algorithm == ED25519 else "sm2"
    return f"{prefix}-{hashlib.sha256(public_raw).hexdigest()[:16]}"


class PublicKey(Protocol):
    @property
    def algorithm(self) -> str: ...

    @property
    def key_id(self) -> str: ...

    def verify(self, data: bytes, signature: bytes) -> bool: ...

    def jwk(self) -> dict[str, str]: ...


class Signer(PublicKey, Protocol):
    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class Ed25519Public:
    key: Ed25519PublicKey
    algorithm: str = ED25519

    @property
    def raw(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return _key_id(ED25519, self.raw)

    def verify(self, data: bytes, signature: bytes) -> bool:
        try:
            self.key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(self.raw), "kid": self.key_id}


@dataclass(frozen=True)
class Ed25519Signer(Ed25519Public):
    private: Ed25519PrivateKey | None = None

    def sign(self, data: bytes) -> bytes:
        assert self.private is not None
        return self.private.sign(data)


@dataclass(frozen=True)
class Sm2Public:
    public_hex: str  # x || y, 128 hex digits
    algorithm: str = SM2_SM3

    @property
    def key_id(self) -> str:
        return _key_id(SM2_SM3, bytes.fromhex(self.public_hex))

    def verify(self, data: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            return bool(_sm2_crypt("", self.public_hex).verify_with_sm3(signature.hex(), data))
        except (ValueError, ZeroDivisionError):
            return False

    def jwk(self) -> dict[str, str]:
        raw = bytes.fromhex(self.public_hex)
        return {
            "kty": "EC",
            "crv": "SM2",
            "x": _b64url(raw[:32]),
            "y": _b64url(raw[32:]),
            "kid": self.key_id,
        }


@dataclass(frozen=True)
class Sm2Signer(Sm2Public):
    private_hex: str = ""

    def sign(self, data: bytes) -> bytes:
        crypt = _sm2_crypt(self.private_hex, self.public_hex)
        return bytes.fromhex(crypt.sign_with_sm3(data, secrets.token_hex(32)))


def _sm2_crypt(private_hex: str, public_hex: str) -> sm2.CryptSM2:
    """gmssl's constructor drops a "04" prefix with ``str.lstrip("04")``, which also eats the
    leading 0/4 digits of x (one key in 256); the point is set afterwards to keep it whole."""
    crypt = sm2.CryptSM2(private_key=private_hex, public_key="")
    crypt.public_key = public_hex
    return crypt


def sm2_public_from_private(private_hex: str) -> str:
    crypt = _sm2_crypt(private_hex, "")
    return str(crypt._kg(int(private_hex, 16), sm2.default_ecc_table["g"]))


def _sm2_private(text: str, source: str) -> Sm2Signer:
    private_hex = text.strip().lower()
    try:
        value = int(private_hex, 16)
    except ValueError:
        value = 0
    if len(private_hex) != 64 or not 0 < value < int(sm2.default_ecc_table["n"], 16):
        raise ImproperlyConfigured(f"{source}: an SM2 key is 64 hex digits, a valid scalar")
    return Sm2Signer(public_hex=sm2_public_from_private(private_hex), private_hex=private_hex)


def _ed25519_private(pem: bytes, source: str) -> Ed25519Signer:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{source}: not a PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{source}: the PEM key is not an Ed25519 key")
    return Ed25519Signer(key=key.public_key(), private=key)


def _public_file(path: Path) -> PublicKey:
    text = path.read_bytes()
    if path.name.endswith(".pub.sm2"):
        return Sm2Public(public_hex=text.decode("ascii").strip().lower())
    key = serialization.load_pem_public_key(text)
    if not isinstance(key, Ed25519PublicKey):
        raise ImproperlyConfigured(f"{path}: the PEM public key is not an Ed25519 key")
    return Ed25519Public(key=key)


@dataclass(frozen=True)
class Keyring:
    """The signer in use and every public key a receipt may have been signed with."""

    signer: Signer | None
    public: dict[str, PublicKey]

    def require_signer(self) -> Signer:
        if self.signer is None:
            raise ImproperlyConfigured(
                "no receipt signing key: run `ipdesk receipts keygen` or set IPDESK_SIGNING_KEY"
            )
        return self.signer

    def verify(self, key_id: str, data: bytes, signature: bytes) -> bool:
        key = self.public.get(key_id)
        return key is not None and key.verify(data, signature)

    def keys_document(self) -> dict[str, Any]:
        active = self.signer.key_id if self.signer else None
        return {
            "issuer": settings.IPDESK_RECEIPT_PAYEE,
            "keys": [
                {**key.jwk(), "alg": key.algorithm, "use": "sig", "active": kid == active}
                for kid, key in sorted(self.public.items())
            ],
        }


def load_keyring(directory: Path, env_key: str = "", active_id: str = "") -> Keyring:
    private: dict[str, Signer] = {}
    public: dict[str, PublicKey] = {}
    if env_key:
        signer: Signer = (
            _sm2_private(env_key.removeprefix("sm2:"), "IPDESK_SIGNING_KEY")
            if env_key.startswith("sm2:")
            else _ed25519_private(env_key.encode(), "IPDESK_SIGNING_KEY")
        )
        private[signer.key_id] = signer
    if directory.is_dir():
        for path in sorted(directory.iterdir()):
            if path.name.endswith((".pub.pem", ".pub.sm2")):
                key = _public_file(path)
                public[key.key_id] = key
            elif path.suffix == ".pem":
                found: Signer = _ed25519_private(path.read_bytes(), str(path))
                private[found.key_id] = found
            elif path.suffix == ".sm2":
                found = _sm2_private(path.read_text(encoding="ascii"), str(path))
                private[found.key_id] = found
    public.update(private)
    if active_id:
        if active_id not in private:
            raise ImproperlyConfigured(
                f"IPDESK_SIGNING_KEY_ID: no private key {active_id!r} in {directory} "
                "or IPDESK_SIGNING_KEY"
            )
        return Keyring(private[active_id], public)
    if len(private) > 1:
        raise ImproperlyConfigured(
            f"IPDESK_SIGNING_KEY_ID: several private keys ({', '.join(sorted(private))}); "
            "name the one that signs"
        )
    return Keyring(next(iter(private.values()), None), public)


@cache
def keyring() -> Keyring:
    """The configured keyring, loaded once per process (restart to rotate)."""
    return load_keyring(
        Path(settings.IPDESK_SIGNING_KEY_DIR),
        os.environ.get("IPDESK_SIGNING_KEY", ""),
        settings.IPDESK_SIGNING_KEY_ID,
    )


def generate_key(directory: Path, algorithm: str = ED25519) -> Signer:
    """Write a new private key file (mode 0600) and its public twin; return the signer."""
    directory.mkdir(parents=True, exist_ok=True)
    signer: Signer
    if algorithm == ED25519:
        private = Ed25519PrivateKey.generate()
        signer = Ed25519Signer(key=private.public_key(), private=private)
        body = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public_body = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        suffix = ".pem"
    elif algorithm == SM2_SM3:
        order = int(sm2.default_ecc_table["n"], 16)
        private_hex = f"{secrets.randbelow(order - 1) + 1:064x}"
        sm2_signer = _sm2_private(private_hex, "generated")
        signer = sm2_signer
        body = private_hex.encode("ascii") + b"\n"
        public_body = sm2_signer.public_hex.encode("ascii") + b"\n"
        suffix = ".sm2"
    else:
        raise ValueError(f"algorithm: one of {', '.join(ALGORITHMS)}")
    path = directory / f"{signer.key_id}{suffix}"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(body)
    (directory / f"{signer.key_id}.pub{suffix}").write_bytes(public_body)
    keyring.cache_clear()
    return signer


def public_keys_from_document(document: dict[str, Any]) -> dict[str, PublicKey]:
    """The keys of a published keys.json, for verifying offline."""
    keys: dict[str, PublicKey] = {}
    for jwk in document.get("keys", []):
        try:
            if jwk.get("crv") == "Ed25519":
                key: PublicKey = Ed25519Public(
                    key=Ed25519PublicKey.from_public_bytes(_b64url_decode(jwk["x"]))
                )
            elif jwk.get("crv") == "SM2":
                raw = _b64url_decode(jwk["x"]) + _b64url_decode(jwk["y"])
                key = Sm2Public(public_hex=raw.hex())
            else:
                continue
        except (KeyError, ValueError, binascii.Error):
            continue
        keys[key.key_id] = key
    return keys
