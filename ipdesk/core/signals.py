"""What core's own writes announce.

Core is the ground floor: it imports no other app, not even the audit log above it. So a
core service announces each state change with ``state_changed``, inside its transaction,
and ``ipdesk.audit`` records it as an audit event in that same transaction.

Arguments: ``action`` (e.g. ``"core.calendar.loaded"``), ``actor`` (a user or None for the
system), ``obj`` (the changed model instance) and ``payload`` (a JSON-able mapping).
"""

from django.dispatch import Signal

state_changed = Signal()
