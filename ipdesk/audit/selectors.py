"""Reading and checking the audit chain."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ipdesk.core.canonical import canonical_json

from .models import GENESIS_HASH, AuditEvent, AuditHead
from .services import event_digest


@dataclass(frozen=True)
class ChainReport:
    checked: int
    head_sequence: int
    head_hash: str
    broken_at: int | None = None
    reason: str = ""
    # Signed checkpoints the chain was compared with (``audit.checkpoints``), the newest one.
    checkpoints: int = 0
    newest_checkpoint: int | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def chain_head() -> tuple[int, str]:
    head = AuditHead.objects.filter(id=1).first()
    if head is None:
        return 0, GENESIS_HASH
    return head.sequence, head.hash


def verify_chain(
    progress: Callable[[int], None] | None = None, anchors: Mapping[int, str] | None = None
) -> ChainReport:
    """Recompute every link from the first; report the first one that does not hold.

    ``anchors`` (``{sequence: hash}`` of signed checkpoints) are links the chain must run
    through: a chain that differs at one, or ends before the newest, is broken there.
    """
    anchors = anchors or {}
    newest = max(anchors, default=None)
    expected_prev = GENESIS_HASH
    expected_seq = 0
    checked = 0
    head_seq, head_hash = chain_head()
    rows = (
        AuditEvent.objects.order_by("sequence")
        .values_list(
            "sequence",
            "occurred_at",
            "actor_id",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "payload",
            "prev_hash",
            "hash",
        )
        .iterator(chunk_size=5000)
    )
    for seq, occurred_at, actor_id, label, action, otype, oid, payload, prev, digest in rows:
        expected_seq += 1
        if seq != expected_seq:
            return ChainReport(checked, head_seq, head_hash, expected_seq, "missing link")
        if prev != expected_prev:
            return ChainReport(checked, head_seq, head_hash, seq, "previous hash does not match")
        recomputed = event_digest(
            sequence=seq,
            occurred_at=canonical_json(occurred_at).strip('"'),
            actor_id=actor_id,
            actor_label=label,
            action=action,
            object_type=otype,
            object_id=oid,
            payload=payload,
            prev_hash=prev,
        )
        if recomputed != digest:
            return ChainReport(checked, head_seq, head_hash, seq, "content does not match its hash")
        if anchors.get(seq, digest) != digest:
            return ChainReport(
                checked, head_seq, head_hash, seq, "differs from a signed checkpoint"
            )
        expected_prev = digest
        checked += 1
        if progress is not None:
            progress(1)
    if checked != head_seq or expected_prev != head_hash:
        return ChainReport(
            checked, head_seq, head_hash, expected_seq + 1, "chain ends before the recorded head"
        )
    if newest is not None and newest > checked:
        return ChainReport(
            checked,
            head_seq,
            head_hash,
            checked + 1,
            "chain ends before a signed checkpoint",
            checkpoints=len(anchors),
            newest_checkpoint=newest,
        )
    return ChainReport(
        checked, head_seq, head_hash, checkpoints=len(anchors), newest_checkpoint=newest
    )


def events_for(object_type: str, object_id: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type=object_type, object_id=object_id))
