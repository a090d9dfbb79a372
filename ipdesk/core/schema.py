"""The API's contract: the error body, money and file answers, and the schema generator.

Every app's ``api.py`` types its answers with serializers and ``extend_schema``; what they
share lives here. The generator (:class:`AutoSchema`, set as DRF's default schema class)
adds to each operation the error answers its view can give, all with one body
(:class:`ErrorResponse`), so that an integrator can generate a client from the schema and
handle every status it may meet.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny

from .money import money_str

# --- the error body --------------------------------------------------------------------------


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField(help_text="stable machine code, e.g. invalid, not_found, conflict")
    message = serializers.CharField(help_text="in the request's language (Accept-Language)")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="for bad input: each offending field (dotted path) with the rules it broke",
    )


class ErrorResponse(serializers.Serializer):
    """``{"error": {"code", "message", "fields"}}``: every refusal of the API."""

    error = ErrorDetail()


ERROR_DESCRIPTIONS = {
    400: "Invalid input: `fields` names each field and the rule it broke; nothing changed.",
    401: "No valid bearer token (or session) was given.",
    403: "The caller may not do this.",
    404: "Not found, or not visible to the caller.",
    409: "The request conflicts with the current state; nothing changed.",
    415: "The body is not of a supported media type.",
    422: "The working-day calendar has no data for a year the request needs.",
    429: "Too many requests; try again later.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error answers for ``extend_schema(responses=...)`` beyond those the generator adds."""
    return {
        status: OpenApiResponse(ErrorResponse, description=ERROR_DESCRIPTIONS[status])
        for status in statuses
    }


# --- fields ----------------------------------------------------------------------------------

MONEY_PATTERN = r"^-?[0-9]{1,13}\.[0-9]{2}$"


@extend_schema_field({"type": "string", "pattern": MONEY_PATTERN, "example": "900.00"})
class MoneyField(serializers.Field):
    """An amount in yuan as the API writes it: a string with two decimals ("1234.50").

    For answers only (input amounts are ``DecimalField``s, which check their digits).
    """

    def to_representation(self, value: Decimal | int | str) -> str:
        return money_str(value)


class IsoDateTimeField(serializers.DateTimeField):
    """A moment as Python writes it (``isoformat()``), in the zone it was stored in."""

    def to_representation(self, value: Any) -> Any:
        return value.isoformat() if value is not None else None


# --- file answers ----------------------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def file_responses(*content_types: str, status: int = 200) -> dict[Any, Any]:
    """A binary answer of each content type, for ``extend_schema(responses=...)``."""
    return {(status, content_type): OpenApiTypes.BINARY for content_type in content_types}


class FileAnswerNegotiation(DefaultContentNegotiation):
    """For views that answer a file: the file bypasses DRF's renderers, which render only the
    JSON answers and errors, so a client asking for the file's type (``Accept:
    application/pdf``) is not refused with 406 but gets JSON when something goes wrong."""

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            return renderers[0], renderers[0].media_type


# --- the generator ---------------------------------------------------------------------------

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's generator, adding the error answers every operation can give.

    From the view: 400 always (control characters in any path or query are refused before
    a view runs, ``core.middleware``; input is checked too), 401 when it
    authenticates, 403 when a permission may refuse (or a session needs its CSRF token),
    404 when the path names something, 415 with a body, 429 when it is rate-limited.
    Answers a service may give beyond those (409, 422, a 404 of a lookup) are declared by
    the view with :func:`error_responses`. A view whose answer is a file of a type known only
    per instance says so in its ``file_content_type`` attribute.
    """

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for status in sorted(self._error_statuses(operation)):
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    OpenApiResponse(ErrorResponse, description=ERROR_DESCRIPTIONS[status]),
                    str(status),
                    media_types=["application/json"],
                )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _get_serializer(self) -> Any:
        # A file view has no serializer to guess (it answers bytes, takes no body).
        if getattr(self.view, "file_content_type", None):
            return None
        return super()._get_serializer()

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        file_type = getattr(self.view, "file_content_type", None)
        if file_type:
            # One view class serving several file types (``as_view(fmt=...)``) names the
            # type of each of its paths, as extend_schema on the class cannot.
            binary = build_basic_type(OpenApiTypes.BINARY)
            return {"200": {"description": "", "content": {file_type: {"schema": binary}}}}
        return super()._get_response_bodies(direction)

    def _error_statuses(self, operation: dict[str, Any]) -> set[int]:
        statuses: set[int] = set()
        places = {parameter["in"] for parameter in operation.get("parameters", [])}
        has_body = "requestBody" in operation
        statuses.add(400)
        if has_body:
            statuses.add(415)
        if "path" in places:
            statuses.add(404)
        authenticators = self.view.get_authenticators()
        if authenticators:
            statuses.add(401)
        open_to_all = all(isinstance(p, AllowAny) for p in self.view.get_permissions())
        needs_csrf = self.method in UNSAFE_METHODS and any(
            isinstance(a, SessionAuthentication) for a in authenticators
        )
        if not open_to_all or needs_csrf:
            statuses.add(403)
        if self.view.get_throttles():
            statuses.add(429)
        return statuses
