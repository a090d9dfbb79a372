"""Domain errors: one shape for every refusal, from a service to the API and the pages.

Every error carries a stable machine ``code``, a human ``message`` (translatable, so the
same error reads in zh-Hans or English depending on the request's language) and, for bad
input, ``fields``: the name of each offending field with the rule it broke.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A business rule refused the request; nothing was changed."""

    status = 400
    default_code = "refused"
    default_message: Any = _("The request was refused.")

    def __init__(
        self,
        message: Any = None,
        *,
        code: str | None = None,
        fields: Mapping[str, Sequence[Any] | Any] | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        self.code = code or self.default_code
        self.fields: dict[str, list[Any]] = {}
        for name, errors in (fields or {}).items():
            if isinstance(errors, list | tuple):
                self.fields[name] = list(errors)
            else:
                self.fields[name] = [errors]
        super().__init__(str(self.message))

    def as_dict(self) -> dict[str, Any]:
        """The JSON body of the error, with lazy messages rendered in the active language."""
        return {
            "error": {
                "code": self.code,
                "message": str(self.message),
                "fields": {name: [str(m) for m in msgs] for name, msgs in self.fields.items()},
            }
        }


class InvalidInput(DomainError):
    """Bad input: ``fields`` names each field and the rule it broke."""

    status = 400
    default_code = "invalid"
    default_message = _("The request contains invalid data.")


class NotAllowed(DomainError):
    status = 403
    default_code = "forbidden"
    default_message = _("You are not allowed to do this.")


class NotFound(DomainError):
    status = 404
    default_code = "not_found"
    default_message = _("Not found.")


class Conflict(DomainError):
    status = 409
    default_code = "conflict"
    default_message = _("The request conflicts with the current state.")
