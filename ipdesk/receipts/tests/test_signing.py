"""Signing keys: Ed25519 and SM2/SM3, key ids, rotation, configuration errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from ipdesk.collection.models import Payment
from ipdesk.receipts import selectors, services, signing
from ipdesk.receipts.models import Receipt


@pytest.mark.parametrize("algorithm", signing.ALGORITHMS)
def test_sign_and_verify(tmp_path: Path, algorithm: str) -> None:
    signer = signing.generate_key(tmp_path, algorithm)
    ring = signing.load_keyring(tmp_path)
    assert ring.signer is not None and ring.signer.key_id == signer.key_id
    assert ring.signer.algorithm == algorithm
    data = "交款人 陈发明 900.00".encode()
    signature = signer.sign(data)
    assert ring.verify(signer.key_id, data, signature)
    assert not ring.verify(signer.key_id, data + b" ", signature)
    assert not ring.verify(signer.key_id, data, bytes(len(signature)))
    # The published document alone verifies it, offline.
    offline = signing.public_keys_from_document(ring.keys_document())
    assert offline[signer.key_id].verify(data, signature)
    assert (tmp_path / f"{signer.key_id}.pem").exists() or (
        tmp_path / f"{signer.key_id}.sm2"
    ).exists()
    private_file = next(p for p in tmp_path.iterdir() if ".pub." not in p.name)
    assert private_file.stat().st_mode & 0o077 == 0


def test_rotation_keeps_old_receipts_verifiable(
    tmp_path: Path, settings: Any, reviewed_payment: Payment
) -> None:
    old = signing.generate_key(tmp_path)
    settings.IPDESK_SIGNING_KEY_DIR = str(tmp_path)
    signing.keyring.cache_clear()
    try:
        receipt = services.issue_receipts([reviewed_payment.pk]) or [
            services.current_receipt(reviewed_payment)
        ]
        with pytest.raises(ImproperlyConfigured, match="several private keys"):
            new = signing.generate_key(tmp_path, signing.SM2_SM3)
            signing.keyring()
        settings.IPDESK_SIGNING_KEY_ID = new.key_id
        signing.keyring.cache_clear()
        # The old private key is retired: only its public half stays.
        (tmp_path / f"{old.key_id}.pem").unlink()
        signing.keyring.cache_clear()
        ring = signing.keyring()
        assert ring.signer is not None and ring.signer.key_id == new.key_id
        assert old.key_id in ring.public
        published = {k["kid"]: k["active"] for k in ring.keys_document()["keys"]}
        assert published == {old.key_id: False, new.key_id: True}
        assert receipt
    finally:
        signing.keyring.cache_clear()


def test_receipt_signed_before_rotation_still_verifies(
    tmp_path: Path, settings: Any, reviewed_payment: Payment
) -> None:
    receipt = Receipt.objects.get(payment=reviewed_payment)
    original_dir = Path(settings.IPDESK_SIGNING_KEY_DIR)
    for path in original_dir.iterdir():
        if path.name.endswith(".pub.pem"):
            (tmp_path / path.name).write_bytes(path.read_bytes())
    new = signing.generate_key(tmp_path, signing.SM2_SM3)
    settings.IPDESK_SIGNING_KEY_DIR = str(tmp_path)
    settings.IPDESK_SIGNING_KEY_ID = new.key_id
    signing.keyring.cache_clear()
    try:
        assert selectors.signature_valid(receipt)
        [red] = [services.reverse_receipt(receipt, reason="refund", actor=_clerk())]
        # An SM2 key signs in DER now (docs/receipt-format.md); SM2-SM3 names the old r ‖ s.
        assert red.algorithm == signing.SM2_SM3_DER and selectors.signature_valid(red)
    finally:
        signing.keyring.cache_clear()


def _clerk() -> Any:
    from ipdesk.accounts.models import Role
    from ipdesk.testing import user

    return user(Role.FEE_CLERK, "rotation-clerk")


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"not a key", "bad.pem", "not a PEM private key"),
        (b"1234", "bad.sm2", "64 hex digits"),
        (b"f" * 64, "huge.sm2", "valid scalar"),
    ],
)
def test_bad_key_files_are_refused_clearly(
    tmp_path: Path, content: bytes, name: str, message: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ImproperlyConfigured, match=message):
        signing.load_keyring(tmp_path)


def test_unknown_active_key_and_missing_key(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="IPDESK_SIGNING_KEY_ID"):
        signing.load_keyring(tmp_path, active_id="ed25519-0000")
    with pytest.raises(ImproperlyConfigured, match="receipts keygen"):
        signing.load_keyring(tmp_path).require_signer()


def test_key_from_the_environment(tmp_path: Path) -> None:
    signer = signing.generate_key(tmp_path)
    pem = (tmp_path / f"{signer.key_id}.pem").read_text()
    ring = signing.load_keyring(tmp_path / "absent", env_key=pem)
    assert ring.signer is not None and ring.signer.key_id == signer.key_id


def test_sm2_key_whose_x_begins_with_04() -> None:
    # gmssl strips a "04" point prefix with lstrip, which used to corrupt such a key.
    private_hex = "e13b778ae833ca8c5d757c58e4a85bd71e08c05caedbd096e13ec3f7b228b43a"
    public_hex = signing.sm2_public_from_private(private_hex)
    assert public_hex.startswith("04") and len(public_hex) == 128
    signer = signing.Sm2Signer(public_hex=public_hex, private_hex=private_hex)
    data = "交款人 陈发明 900.00".encode()
    signature = signer.sign(data)
    assert signing.Sm2Public(public_hex=public_hex).verify(data, signature)
    assert not signing.Sm2Public(public_hex=public_hex).verify(data + b" ", signature)
