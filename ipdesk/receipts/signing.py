"""Signing keys of the issuing unit (开票单位签章): load, sign, verify, publish.

Private keys live in files (``IPDESK_SIGNING_KEY_DIR``, default ``$IPDESK_DATA_DIR/keys``)
or in the environment (``IPDESK_SIGNING_KEY``), never in the database. Two key algorithms:

- ``Ed25519`` (default, via ``cryptography``): a PKCS#8 PEM file ``<anything>.pem``;
- ``SM2-SM3`` (GB/T 32918 with the SM3 digest; the curve arithmetic of ``gmssl``, SM3 from
  OpenSSL through ``hashlib`` where it has it): a file ``<anything>.sm2`` holding the 64 hex
  digits of the private key.

A key's id is ``ed25519-`` or ``sm2-`` followed by the first 16 hex digits of the SHA-256 of
its raw public key (Ed25519: the 32 bytes of RFC 8032; SM2: x ‖ y, 64 bytes, without the 04
prefix), so it is the same wherever the key is loaded. Rotation: add the new key file, set
``IPDESK_SIGNING_KEY_ID`` to its id; keep the old public key (``<anything>.pub.pem`` or
``<anything>.pub.sm2`` holding the public hex) so receipts signed with it stay verifiable.
``/.well-known/ipdesk/keys.json`` publishes every public key as a JWK.

Each receipt records the signature algorithm it was signed with (``Receipt.algorithm``, the
XML's ``Signature/@algorithm``), which also names the signature's encoding:

- ``Ed25519``: the 64 bytes of RFC 8032;
- ``SM2-SM3-DER`` (SM2 keys, what they sign with now): the DER ``SEQUENCE {r INTEGER,
  s INTEGER}`` of GB/T 35276-2017 (GM/T 0009), what OpenSSL, BouncyCastle and GmSSL read;
- ``SM2-SM3`` (SM2 keys, receipts signed before the change to DER): r ‖ s, 32 bytes each,
  big-endian. Still verified, never produced.

SM2 signatures use the signer id ``1234567812345678`` (the default of GB/T 35276) in Z.
docs/receipt-format.md describes the whole signed form with a worked example.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from gmssl import sm2
from gmssl import sm3 as gmssl_sm3
from gmssl.func import bytes_to_list

# Key algorithms (``keygen --algorithm``, the JWKs' ``alg``).
ED25519 = "Ed25519"
SM2_SM3 = "SM2-SM3"
ALGORITHMS = (ED25519, SM2_SM3)
# Signature algorithms as receipts record them: the key algorithm and the encoding.
SM2_SM3_DER = "SM2-SM3-DER"
SIGNATURE_ALGORITHMS = {ED25519: ED25519, SM2_SM3: SM2_SM3, SM2_SM3_DER: SM2_SM3}

SM2_SIGNER_ID = b"1234567812345678"
SM2_ORDER = int(sm2.default_ecc_table["n"], 16)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key_id(algorithm: str, public_raw: bytes) -> str:
    prefix = "ed25519" if algorithm == ED25519 else "sm2"
    return f"{prefix}-{hashlib.sha256(public_raw).hexdigest()[:16]}"


def sm3(data: bytes) -> bytes:
    """The SM3 digest (GB/T 32905): OpenSSL's through hashlib, gmssl's where OpenSSL lacks it."""
    try:
        return hashlib.new("sm3", data).digest()
    except ValueError:  # an OpenSSL built without SM3
        return bytes.fromhex(gmssl_sm3.sm3_hash(bytes_to_list(data)))


def sm2_digest(public_hex: str, data: bytes) -> bytes:
    """e = SM3(Z ‖ M), Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) (GB/T 32918.2 §5.5)."""
    table = sm2.default_ecc_table
    z = sm3(
        (len(SM2_SIGNER_ID) * 8).to_bytes(2, "big")
        + SM2_SIGNER_ID
        + bytes.fromhex(table["a"] + table["b"] + table["g"] + public_hex)
    )
    return sm3(z + data)


def der_signature(raw: bytes) -> bytes:
    """r ‖ s as the DER ``SEQUENCE {r INTEGER, s INTEGER}`` of GB/T 35276."""
    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


def raw_signature(der: bytes) -> bytes | None:
    """The r ‖ s of a DER SM2 signature; None unless it is strict DER with r, s in [1, n-1]."""
    try:
        r, s = decode_dss_signature(der)
    except ValueError:
        return None
    if not (0 < r < SM2_ORDER and 0 < s < SM2_ORDER) or encode_dss_signature(r, s) != der:
        return None
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class PublicKey(Protocol):
    @property
    def algorithm(self) -> str: ...

    @property
    def signature_algorithm(self) -> str: ...

    @property
    def key_id(self) -> str: ...

    def verify(self, data: bytes, signature: bytes, algorithm: str | None = None) -> bool:
        """Whether ``signature`` (in the encoding ``algorithm`` names; by default the one
        this key signs with now) is this key's over ``data``."""
        ...

    def jwk(self) -> dict[str, str]: ...


class Signer(PublicKey, Protocol):
    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class Ed25519Public:
    key: Ed25519PublicKey
    algorithm: str = ED25519
    signature_algorithm: str = ED25519

    @property
    def raw(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return _key_id(ED25519, self.raw)

    def verify(self, data: bytes, signature: bytes, algorithm: str | None = None) -> bool:
        if algorithm not in (None, ED25519):
            return False
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
    signature_algorithm: str = SM2_SM3_DER

    @property
    def key_id(self) -> str:
        return _key_id(SM2_SM3, bytes.fromhex(self.public_hex))

    def verify(self, data: bytes, signature: bytes, algorithm: str | None = None) -> bool:
        algorithm = algorithm or self.signature_algorithm
        if algorithm == SM2_SM3_DER:
            raw = raw_signature(signature)
        elif algorithm == SM2_SM3 and len(signature) == 64:
            raw = signature
        else:
            return False
        if raw is None:
            return False
        r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        if not (0 < r < SM2_ORDER and 0 < s < SM2_ORDER):
            return False
        try:
            crypt = _sm2_crypt("", self.public_hex)
            return bool(crypt.verify(raw.hex(), sm2_digest(self.public_hex, data)))
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
        """A DER-encoded SM2 signature (``SM2-SM3-DER``) with a fresh random k."""
        return der_signature(self.sign_raw(data))

    def sign_raw(self, data: bytes, nonce: int | None = None) -> bytes:
        """r ‖ s over ``data``, with the nonce k given (examples, deterministic signing) or
        drawn from the operating system's CSPRNG."""
        crypt = _sm2_crypt(self.private_hex, self.public_hex)
        digest = sm2_digest(self.public_hex, data)
        while True:
            k = nonce if nonce is not None else secrets.randbelow(SM2_ORDER - 1) + 1
            signature = crypt.sign(digest, f"{k:064x}")
            if signature is not None:
                return bytes.fromhex(signature)
            if nonce is not None:
                raise ValueError("this nonce gives no SM2 signature for this data")

    def sign_deterministic(self, data: bytes) -> bytes:
        """A DER SM2 signature whose nonce is derived from the key and the digest
        (HMAC-SHA512, reduced into [1, n-1]): the same data always gives the same bytes, and
        two different data never share a nonce. Used where a document must render the same
        every time (the OFD seal)."""
        digest = sm2_digest(self.public_hex, data)
        mac = hmac.new(bytes.fromhex(self.private_hex), digest, hashlib.sha512).digest()
        nonce = int.from_bytes(mac, "big") % (SM2_ORDER - 1) + 1
        return der_signature(self.sign_raw(data, nonce))


def _sm2_crypt(private_hex: str, public_hex: str) -> sm2.CryptSM2:
    """gmssl's constructor drops a "04" prefix with ``str.lstrip("04")``, which also eats the
    leading 0/4 digits of x (one key in 256); the point is set afterwards to keep it whole."""
    crypt = sm2.CryptSM2(private_key=private_hex, public_key="")
    crypt.public_key = public_hex
    return crypt


def sm2_public_from_private(private_hex: str) -> str:
    crypt = _sm2_crypt(private_hex, "")
    return str(crypt._kg(int(private_hex, 16), sm2.default_ecc_table["g"]))


def generate_sm2_private_hex() -> str:
    """A new SM2 private key, 64 hex digits, from the operating system's CSPRNG."""
    return f"{secrets.randbelow(SM2_ORDER - 1) + 1:064x}"


def sm2_signer(text: str, source: str) -> Sm2Signer:
    """The signer of an SM2 private key given as 64 hex digits (``source`` names it in errors)."""
    private_hex = text.strip().lower()
    try:
        value = int(private_hex, 16)
    except ValueError:
        value = 0
    if len(private_hex) != 64 or not 0 < value < SM2_ORDER:
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

    def verify(
        self, key_id: str, data: bytes, signature: bytes, algorithm: str | None = None
    ) -> bool:
        key = self.public.get(key_id)
        return key is not None and key.verify(data, signature, algorithm)

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
            sm2_signer(env_key.removeprefix("sm2:"), "IPDESK_SIGNING_KEY")
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
                found = sm2_signer(path.read_text(encoding="ascii"), str(path))
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
        private_hex = generate_sm2_private_hex()
        sm2_key = sm2_signer(private_hex, "generated")
        signer = sm2_key
        body = private_hex.encode("ascii") + b"\n"
        public_body = sm2_key.public_hex.encode("ascii") + b"\n"
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
