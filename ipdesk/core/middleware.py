"""Request checks and error answers that hold for every URL, whichever app serves it.

- ``RefuseControlCharactersMiddleware``: a NUL or another control character in the path or
  the query string is refused with a 400 before any view (and so any database) sees it:
  PostgreSQL cannot store a NUL and answered a 500, and no code or name ipdesk takes has
  control characters.
- ``ApiErrorShapeMiddleware``: every error under ``/api/`` keeps the API's error shape
  ``{"error": {"code", "message", "fields"}}``, including those Django answers itself (an
  unknown URL, a method a plain view refuses, a failed CSRF check, a body over the size
  limit, a crash) with its HTML pages. The handlers named in ``ipdesk.urls``
  (``handler400`` …) and ``CSRF_FAILURE_VIEW`` answer JSON under ``/api/`` too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.csrf import csrf_failure as django_csrf_failure

API_PREFIX = "/api/"

# C0 controls and DEL. Tab, line feed and carriage return may come in a query value typed
# into a form; nothing else of them has a meaning in a URL ipdesk serves.
_PATH_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_QUERY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

log = logging.getLogger("ipdesk.requests")


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def api_error(
    status: int, code: str, message: str, fields: dict[str, list[str]] | None = None
) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "fields": fields or {}}},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: ("malformed_request", _("The request is malformed.")),
        401: ("not_authenticated", _("Sign in or send a bearer token.")),
        403: ("forbidden", _("You are not allowed to do this.")),
        404: ("not_found", _("Not found.")),
        405: ("method_not_allowed", _("This method is not allowed here.")),
        413: (
            "payload_too_large",
            _("The request body is larger than %(limit)s bytes.")
            % {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
        ),
        500: ("server_error", _("Something went wrong on our side; it has been logged.")),
    }


def api_error_for(status: int) -> JsonResponse:
    """The API's answer for an HTTP error status that no view explained."""
    known = _messages().get(status)
    if known is None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        known = ("error", phrase)
    return api_error(status, *known)


# --- handlers (ipdesk.urls: handler400 …, settings.CSRF_FAILURE_VIEW) ---------------------


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return api_error_for(413 if isinstance(exception, RequestDataTooBig) else 400)
    return defaults.bad_request(request, exception)  # type: ignore[arg-type]


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return api_error_for(403)
    return defaults.permission_denied(request, exception)  # type: ignore[arg-type]


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return api_error_for(404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return api_error_for(500)
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_api(request):
        return api_error(
            403,
            "csrf_failed",
            _(
                "The CSRF check failed: send a bearer token, or the page's CSRF token with a "
                "signed-in session."
            ),
        )
    return django_csrf_failure(request, reason)


# --- middleware -----------------------------------------------------------------------------


Handler = Callable[[HttpRequest], HttpResponse]


class ApiErrorShapeMiddleware:
    """Whatever answered an error under ``/api/`` without JSON, answer it in the error shape."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and is_api(request)
            and not str(response.get("Content-Type", "")).startswith("application/json")
        ):
            shaped = api_error_for(response.status_code)
            for header in ("Allow", "Retry-After", "WWW-Authenticate", "Vary"):
                if header in response:
                    shaped[header] = response[header]
            return shaped
        return response


def _control_character_field(request: HttpRequest) -> str | None:
    if _PATH_CONTROL.search(request.path_info):
        return "path"
    for name, values in request.GET.lists():
        if _PATH_CONTROL.search(name):
            return "query"
        if any(_QUERY_CONTROL.search(value) for value in values):
            return name
    return None


class RefuseControlCharactersMiddleware:
    """A NUL or another control character in the path or query is a 400, for every URL."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        field = _control_character_field(request)
        if field is None:
            return self.get_response(request)
        log.warning("refused %s: control character in %r", request.method, field)
        message = _("Must not contain control characters (such as NUL).")
        if is_api(request):
            return api_error(
                400, "invalid", _("The request contains invalid data."), {field: [message]}
            )
        return defaults.bad_request(request, ValueError(message))
