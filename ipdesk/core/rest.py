"""What every app's REST API shares: the error format and the parsing of query parameters.

``exception_handler`` is DRF's ``EXCEPTION_HANDLER`` (settings): every API error answers
``{"error": {"code", "message", "fields"}}`` in the request's language.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .clientaddress import client_address
from .errors import DomainError, InvalidInput, NotFound


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail → ``{"payer.name": [...], "lines.0.amount": [...]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors" and prefix:
                name = prefix
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    for k, v in _flatten(
                        item, f"{prefix}.{index}" if prefix else str(index)
                    ).items():
                        out.setdefault(k, []).extend(v)
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


_CODES: list[tuple[type[Exception], str]] = [
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "authentication_failed"),
    (exceptions.PermissionDenied, "forbidden"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
    (exceptions.ParseError, "malformed_request"),
]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every API error as ``{"error": {"code", "message", "fields"}}`` in the request's language."""
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        return Response(request_too_large().as_dict(), status=413)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = InvalidInput(fields=_flatten(exc.detail)).as_dict()
    else:
        code = next((c for cls, c in _CODES if isinstance(exc, cls)), "error")
        detail = getattr(exc, "detail", "")
        message = str(detail) if not isinstance(detail, dict | list) else str(exc)
        if code == "forbidden":
            message = str(_("You are not allowed to do this."))
        body = {"error": {"code": code, "message": message, "fields": {}}}
    response.data = body
    return response


class RequestTooLarge(DomainError):
    status = 413
    default_code = "payload_too_large"


def request_too_large() -> RequestTooLarge:
    return RequestTooLarge(
        _("The request body is larger than %(limit)s bytes.")
        % {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
    )


@csrf_exempt  # it changes nothing, and a client with no session has no CSRF token
def unknown_path(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Whatever no endpoint matches under the API (e.g. ``payments/abc`` where an id is a
    number): the error shape, not Django's HTML page."""
    return JsonResponse(NotFound().as_dict(), status=404)


def require_date(params: Any, name: str) -> dt.date:
    raw = params.get(name)
    if not raw:
        raise InvalidInput(fields={name: _("This field is required (YYYY-MM-DD).")})
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(fields={name: _("Enter a date as YYYY-MM-DD.")}) from None


def optional_int(params: Any, name: str, *, low: int, high: int) -> int:
    raw = params.get(name) or "0"
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(fields={name: _("Enter a whole number.")}) from None
    if not low <= value <= high:
        raise InvalidInput(
            fields={name: _("Must be between %(low)s and %(high)s.") % {"low": low, "high": high}}
        )
    return value


class ClientAddressThrottleMixin:
    """Throttles per client address count by ``core.clientaddress``, as pages and sign-in do.

    DRF's own ``get_ident`` believes any ``X-Forwarded-For`` once ``NUM_PROXIES`` is set
    and ignores it otherwise; ipdesk reads it only from its configured proxies.
    """

    def get_ident(self, request: Any) -> str:
        return client_address(request)
