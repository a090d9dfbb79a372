"""Signed checkpoints of the audit chain's head, kept where the database cannot rewrite them.

The hash chain shows that no event was changed or removed from the middle; it cannot show
that the newest events were deleted, since whoever can write the database can also rewrite
the head row to match the shortened chain. So, every hour (the Celery beat job
``ipdesk.audit.checkpoint``), at every backup and on ``ipdesk audit checkpoint``, the head
(sequence number and hash) and the time are signed with the office's signing key and
appended as one JSON line to a file in ``IPDESK_AUDIT_CHECKPOINT_DIR`` — a directory outside
the database, on other storage, that ipdesk only ever appends to — and the backup manifest
carries one too. ``ipdesk audit verify`` then requires every checkpoint's signature to hold
and the chain to run through each checkpoint's event with that hash.

A restore legitimately takes the chain back: it appends a checkpoint with the reason
``restore``, and checkpoints before the newest such one are no longer compared (a restore
checkpoint is signed too, so the database alone cannot forge one).

Audit sits below the app that holds the signing keys (receipts): that app hands its keys
over with ``use_keys`` when it loads.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from ipdesk.core.canonical import canonical_bytes

from .selectors import ChainReport, chain_head, verify_chain

KIND = "ipdesk.audit.checkpoint"
RESTORE = "restore"


class CheckpointKeys(Protocol):
    def sign(self, data: bytes) -> tuple[str, str, bytes]:
        """``(key id, algorithm, signature)`` of ``data`` with the key in use."""
        ...

    def verify(self, key_id: str, data: bytes, signature: bytes) -> bool: ...


_provider: Callable[[], CheckpointKeys] | None = None


def use_keys(provider: Callable[[], CheckpointKeys]) -> None:
    """Called by the app that holds the signing keys, when it loads."""
    global _provider
    _provider = provider


def keys() -> CheckpointKeys:
    if _provider is None:
        raise ImproperlyConfigured("no signing keys for audit checkpoints (ipdesk.receipts)")
    return _provider()


class CheckpointError(Exception):
    """A checkpoint file line that cannot be read, or whose signature does not hold."""

    def __init__(self, message: str, sequence: int = 0) -> None:
        super().__init__(message)
        self.sequence = sequence


@dataclass(frozen=True)
class Checkpoint:
    sequence: int
    hash: str
    at: str
    reason: str
    key_id: str
    algorithm: str
    signature: bytes
    source: str = ""

    @property
    def signed(self) -> bytes:
        return signed_bytes(self.sequence, self.hash, self.at, self.reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "hash": self.hash,
            "at": self.at,
            "reason": self.reason,
            "key_id": self.key_id,
            "algorithm": self.algorithm,
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "") -> Checkpoint:
        try:
            return cls(
                sequence=int(data["sequence"]),
                hash=str(data["hash"]),
                at=str(data["at"]),
                reason=str(data["reason"]),
                key_id=str(data["key_id"]),
                algorithm=str(data["algorithm"]),
                signature=base64.b64decode(str(data["signature"]), validate=True),
                source=source,
            )
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise CheckpointError(f"{source}: not a checkpoint ({exc})") from None

    def signature_holds(self, checker: CheckpointKeys) -> bool:
        return checker.verify(self.key_id, self.signed, self.signature)


def signed_bytes(sequence: int, digest: str, at: str, reason: str) -> bytes:
    return canonical_bytes(
        {"type": KIND, "sequence": sequence, "hash": digest, "at": at, "reason": reason}
    )


def checkpoint_dir() -> Path:
    return Path(settings.IPDESK_AUDIT_CHECKPOINT_DIR)


def make_checkpoint(
    reason: str, head: tuple[int, str] | None = None, signer: CheckpointKeys | None = None
) -> Checkpoint:
    """A signed checkpoint of ``head`` (default: the chain's head now)."""
    sequence, digest = head if head is not None else chain_head()
    at = timezone.now().isoformat()
    key_id, algorithm, signature = (signer or keys()).sign(
        signed_bytes(sequence, digest, at, reason)
    )
    return Checkpoint(sequence, digest, at, reason, key_id, algorithm, signature)


def append_checkpoint(checkpoint: Checkpoint, directory: Path | None = None) -> Path:
    """Append ``checkpoint`` as one line to this month's file; files are only ever appended."""
    directory = directory or checkpoint_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"audit-checkpoints-{checkpoint.at[:7]}.jsonl"
    line = json.dumps(checkpoint.as_dict(), sort_keys=True, separators=(",", ":")) + "\n"
    # O_APPEND: one short write lands whole at the end, even with several writers.
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, line.encode("ascii"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return path


def write_checkpoint(reason: str, head: tuple[int, str] | None = None) -> Checkpoint:
    """Sign the head and append it to the checkpoint directory."""
    checkpoint = make_checkpoint(reason, head)
    append_checkpoint(checkpoint)
    return checkpoint


def read_checkpoints(path: Path | None = None) -> list[Checkpoint]:
    """Every checkpoint of a directory (its ``*.jsonl`` files) or of one file, oldest first."""
    path = path or checkpoint_dir()
    if path.is_dir():
        files: Iterable[Path] = sorted(path.glob("*.jsonl"))
    elif path.is_file():
        files = [path]
    else:
        return []
    found: list[Checkpoint] = []
    for file in files:
        with file.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                source = f"{file.name}:{number}"
                try:
                    data = json.loads(line)
                except ValueError:
                    raise CheckpointError(f"{source}: not a checkpoint (not JSON)") from None
                found.append(Checkpoint.from_dict(data, source))
    return sorted(found, key=lambda c: c.at)


def anchors(checkpoints: list[Checkpoint], checker: CheckpointKeys | None = None) -> dict[int, str]:
    """The ``{sequence: hash}`` the chain must run through: every checkpoint from the newest
    restore on, each signature checked (``CheckpointError`` names the first that fails)."""
    if not checkpoints:
        return {}
    checker = checker or keys()
    for checkpoint in checkpoints:
        if not checkpoint.signature_holds(checker):
            raise CheckpointError(
                f"{checkpoint.source or 'checkpoint'}: the signature of checkpoint "
                f"#{checkpoint.sequence} ({checkpoint.at}) does not hold",
                checkpoint.sequence,
            )
    restores = [i for i, c in enumerate(checkpoints) if c.reason == RESTORE]
    current = checkpoints[restores[-1] :] if restores else checkpoints
    result: dict[int, str] = {}
    for checkpoint in current:
        if result.get(checkpoint.sequence, checkpoint.hash) != checkpoint.hash:
            raise CheckpointError(
                f"{checkpoint.source}: two checkpoints of #{checkpoint.sequence} disagree",
                checkpoint.sequence,
            )
        result[checkpoint.sequence] = checkpoint.hash
    return result


def verify_against_checkpoints(
    progress: Callable[[int], None] | None = None, path: Path | None = None
) -> ChainReport:
    """``verify_chain`` through the signed checkpoints of ``path`` (default: the directory).

    A checkpoint that cannot be read or whose signature does not hold breaks the report at
    its sequence number, with the reason naming the file and line.
    """
    try:
        marks = anchors(read_checkpoints(path))
    except CheckpointError as exc:
        sequence, digest = chain_head()
        return ChainReport(0, sequence, digest, exc.sequence, str(exc))
    return verify_chain(progress=progress, anchors=marks)
