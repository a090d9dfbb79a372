"""The API's error format, and core's public endpoints (calendar, identifier checks)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from .calendar import calendar
from .deadlines import deadline, period_end
from .errors import DomainError, InvalidInput, NotFound
from .identifiers import (
    parse_application_number,
    validate_credit_code,
    validate_mobile,
    validate_resident_id,
)
from .schema import error_responses


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


class DeadlineOut(serializers.Serializer):
    start = serializers.DateField()
    period_end = serializers.DateField(help_text="the nominal end of the period")
    deadline = serializers.DateField(help_text="the last day, moved past rest days")
    moved = serializers.BooleanField(help_text="whether the last day fell on a rest day")


class WorkingDayOut(serializers.Serializer):
    date = serializers.DateField()
    working_day = serializers.BooleanField()


class WorkingDaysOut(serializers.Serializer):
    days = WorkingDayOut(many=True)


class DeadlineView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Compute a time limit (期限)",
        parameters=[
            OpenApiParameter(
                "start", str, required=True, description="first day (not counted), YYYY-MM-DD"
            ),
            OpenApiParameter("years", int),
            OpenApiParameter("months", int),
            OpenApiParameter("days", int),
        ],
        responses={200: DeadlineOut, **error_responses(422)},
    )
    def get(self, request: Request) -> Response:
        start = require_date(request.query_params, "start")
        years = optional_int(request.query_params, "years", low=0, high=30)
        months = optional_int(request.query_params, "months", low=0, high=360)
        days = optional_int(request.query_params, "days", low=0, high=3650)
        nominal = period_end(start, years=years, months=months, days=days)
        last_day = deadline(start, years=years, months=months, days=days)
        return Response(
            DeadlineOut(
                {
                    "start": start,
                    "period_end": nominal,
                    "deadline": last_day,
                    "moved": nominal != last_day,
                }
            ).data
        )


class WorkingDaysView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Working days in a range",
        parameters=[
            OpenApiParameter("from", str, required=True),
            OpenApiParameter("to", str, required=True),
        ],
        responses={200: WorkingDaysOut, **error_responses(422)},
    )
    def get(self, request: Request) -> Response:
        first = require_date(request.query_params, "from")
        last = require_date(request.query_params, "to")
        if last < first or (last - first).days > 366:
            raise InvalidInput(
                fields={"to": _("The range must run forward and span at most 367 days.")}
            )
        days = []
        day = first
        while day <= last:
            days.append({"date": day, "working_day": calendar.is_working_day(day)})
            day += dt.timedelta(days=1)
        return Response(WorkingDaysOut({"days": days}).data)


class IdentifierCheckSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["credit_code", "resident_id", "application_number", "mobile"]
    )
    value = serializers.CharField(max_length=40, trim_whitespace=True)


class IdentifierCheckOut(serializers.Serializer):
    """A valid identifier in its canonical form; application numbers are also taken apart."""

    valid = serializers.BooleanField()
    value = serializers.CharField(help_text="canonical form")
    display = serializers.CharField(required=False, help_text="application numbers only")
    year = serializers.IntegerField(required=False, help_text="application numbers only")
    patent_kind = serializers.CharField(required=False, help_text="application numbers only")
    pct = serializers.BooleanField(required=False, help_text="application numbers only")
    serial = serializers.IntegerField(required=False, help_text="application numbers only")


class IdentifierCheckView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Check an identifier",
        request=IdentifierCheckSerializer,
        responses={200: IdentifierCheckOut},
    )
    def post(self, request: Request) -> Response:
        data = IdentifierCheckSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kind, value = data.validated_data["kind"], data.validated_data["value"]
        try:
            if kind == "application_number":
                number = parse_application_number(value)
                return Response(
                    IdentifierCheckOut(
                        {
                            "valid": True,
                            "value": number.digits,
                            "display": number.display,
                            "year": number.year,
                            "patent_kind": number.patent_kind,
                            "pct": number.is_pct,
                            "serial": number.serial,
                        }
                    ).data
                )
            check = {
                "credit_code": validate_credit_code,
                "resident_id": validate_resident_id,
                "mobile": validate_mobile,
            }[kind]
            return Response(IdentifierCheckOut({"valid": True, "value": check(value)}).data)
        except DjangoValidationError as exc:
            raise InvalidInput(fields={"value": exc.messages}) from exc


urlpatterns = [
    path("calendar/deadline", DeadlineView.as_view(), name="calendar-deadline"),
    path("calendar/days", WorkingDaysView.as_view(), name="calendar-days"),
    path("identifiers/check", IdentifierCheckView.as_view(), name="identifier-check"),
]
