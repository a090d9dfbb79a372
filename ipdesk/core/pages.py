"""Small pieces the server-rendered pages of every app share."""

from __future__ import annotations

from django.db.models import TextChoices

from .errors import DomainError


def refusal_text(exc: DomainError) -> str:
    """A service's refusal in one sentence: the rule of each field, else its message."""
    details = [str(m) for ms in exc.fields.values() for m in ms]
    return " ".join(details) if details else str(exc.message)


def choice_label(choices: type[TextChoices], value: str) -> str:
    """The display label of a stored choice; an unknown value is shown as it is."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value
