"""Core's public endpoints: time limits, working days, identifier checks."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .calendar import calendar
from .deadlines import deadline, period_end
from .errors import InvalidInput
from .identifiers import (
    parse_application_number,
    validate_credit_code,
    validate_mobile,
    validate_resident_id,
)
from .rest import optional_int, require_date
from .schema import error_responses


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
        try:
            nominal = period_end(start, years=years, months=months, days=days)
        except (ValueError, OverflowError):
            raise InvalidInput(
                fields={
                    "start": _(
                        "The period would end after the year 9999: give an earlier start "
                        "or a shorter period."
                    )
                }
            ) from None
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
