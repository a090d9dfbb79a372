"""Appending to the audit log. Services call these inside their own transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from ipdesk.core.canonical import canonical_json

from .models import AuditEvent, AuditHead

SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class EventSpec:
    """What happened, before it is placed in the chain."""

    action: str
    actor: Any = None
    object_type: str = ""
    object_id: str = ""
    payload: Mapping[str, Any] = field(default_factory=dict)
    actor_label: str = ""


def event_digest(
    *,
    sequence: int,
    occurred_at: str,
    actor_id: int | None,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    payload: str,
    prev_hash: str,
) -> str:
    """The hash of one link; ``occurred_at`` and ``payload`` are already canonical text."""
    body = canonical_json(
        {
            "sequence": sequence,
            "occurred_at": occurred_at,
            "actor_id": actor_id,
            "actor_label": actor_label,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "payload": payload,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _label(actor: Any, explicit: str) -> str:
    if explicit:
        return explicit
    if actor is None:
        return SYSTEM_ACTOR
    return str(getattr(actor, "username", actor))


def _object_ref(obj: models.Model | None, object_type: str, object_id: str) -> tuple[str, str]:
    if obj is not None:
        return obj._meta.label_lower, str(obj.pk)
    return object_type, object_id


def record_events(specs: Sequence[EventSpec]) -> list[AuditEvent]:
    """Append events as consecutive links, in one statement; returns them in order.

    Must run inside the transaction of the change it records, so that both commit or
    neither does: the head row lock makes concurrent writers append one after another.
    """
    if not specs:
        return []
    with transaction.atomic():
        head, _created = AuditHead.objects.select_for_update().get_or_create(id=1)
        now = timezone.now()
        occurred = canonical_json(now).strip('"')
        events: list[AuditEvent] = []
        prev = head.hash
        sequence = head.sequence
        for spec in specs:
            sequence += 1
            actor_id = getattr(spec.actor, "pk", None)
            label = _label(spec.actor, spec.actor_label)
            payload = canonical_json(dict(spec.payload))
            digest = event_digest(
                sequence=sequence,
                occurred_at=occurred,
                actor_id=actor_id,
                actor_label=label,
                action=spec.action,
                object_type=spec.object_type,
                object_id=spec.object_id,
                payload=payload,
                prev_hash=prev,
            )
            events.append(
                AuditEvent(
                    sequence=sequence,
                    occurred_at=now,
                    actor_id=actor_id,
                    actor_label=label,
                    action=spec.action,
                    object_type=spec.object_type,
                    object_id=spec.object_id,
                    payload=payload,
                    prev_hash=prev,
                    hash=digest,
                )
            )
            prev = digest
        AuditEvent.objects.bulk_create(events, batch_size=2000)
        AuditHead.objects.filter(id=1).update(sequence=sequence, hash=prev)
        return events


def record_event(
    action: str,
    *,
    actor: Any = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    payload: Mapping[str, Any] | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """Append one event; ``obj`` names the changed object (its model label and key)."""
    otype, oid = _object_ref(obj, object_type, object_id)
    spec = EventSpec(
        action=action,
        actor=actor,
        object_type=otype,
        object_id=oid,
        payload=payload or {},
        actor_label=actor_label,
    )
    return record_events([spec])[0]
