"""Audit events for what the apps below audit announce (core's writes)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from ipdesk.core.signals import state_changed

from .services import record_event


@receiver(state_changed, dispatch_uid="audit.record_core_change")
def record_core_change(
    sender: Any, *, action: str, actor: Any, obj: Any, payload: Any, **kwargs: Any
) -> None:
    record_event(action, actor=actor, obj=obj, payload=payload)
