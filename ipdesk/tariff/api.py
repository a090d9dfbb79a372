"""Fee quotes and the schedule over the API (public: anyone may price a fee)."""

from __future__ import annotations

from typing import Any

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from ipdesk.core.errors import NotFound
from ipdesk.core.rest import require_date
from ipdesk.core.schema import MoneyField, error_responses

from . import selectors
from .models import FeeRate, PatentKind, Reduction, ScheduleVersion
from .services import QuoteRequest, quote_fees


class QuoteIn(serializers.Serializer):
    patent_kind = serializers.ChoiceField(choices=PatentKind.choices)
    fee_code = serializers.SlugField(max_length=40)
    quantity = serializers.IntegerField(required=False, min_value=1, max_value=999)
    year = serializers.IntegerField(required=False, min_value=1, max_value=30)
    claims = serializers.IntegerField(required=False, min_value=1, max_value=100_000)
    pages = serializers.IntegerField(required=False, min_value=1, max_value=100_000)
    reduction = serializers.ChoiceField(choices=Reduction.values, required=False, default=0)
    filing_date = serializers.DateField(required=False)
    grant_date = serializers.DateField(required=False)
    paid_on = serializers.DateField(required=False)


class QuoteLineOut(serializers.Serializer):
    fee_code = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()
    base = MoneyField()
    quantity = serializers.IntegerField()
    reduction = serializers.IntegerField()
    late_charge = MoneyField()
    amount = MoneyField()
    explanation = serializers.CharField()


class QuoteOut(serializers.Serializer):
    lines = QuoteLineOut(many=True)
    total = MoneyField()
    paid_on = serializers.DateField()
    schedule = serializers.CharField()


class QuoteThrottle(AnonRateThrottle):
    rate = "120/min"


class QuoteView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [QuoteThrottle]

    @extend_schema(summary="Price a fee (缴费计算)", request=QuoteIn, responses={200: QuoteOut})
    def post(self, request: Request) -> Response:
        data = QuoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        quote = quote_fees(QuoteRequest(**data.validated_data))
        return Response(QuoteOut(quote).data)


class FeeRateOut(serializers.Serializer):
    patent_kind = serializers.ChoiceField(choices=PatentKind.choices)
    band_from = serializers.SerializerMethodField(
        method_name="get_band_from", help_text="first year, claim or page of the band"
    )
    to = serializers.IntegerField(source="band_to", allow_null=True, help_text="inclusive")
    filed_from = serializers.DateField(
        allow_null=True, help_text="only for applications filed from this day"
    )
    amount = MoneyField()

    def get_band_from(self, rate: FeeRate) -> int | None:
        return rate.band_from or None

    def get_fields(self) -> dict[str, Any]:
        # "from" is a Python keyword: the field is declared as band_from and renamed here.
        return {
            ("from" if name == "band_from" else name): field
            for name, field in super().get_fields().items()
        }


class ScheduledFeeOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()
    reducible = serializers.BooleanField()
    basis = serializers.CharField()
    rates = FeeRateOut(many=True, source="rates.all")


class ScheduleOut(serializers.Serializer):
    valid_from = serializers.DateField()
    name = serializers.CharField()
    source = serializers.CharField()
    reduction_annual_years = serializers.IntegerField()
    fees = serializers.SerializerMethodField()

    @extend_schema_field(ScheduledFeeOut(many=True))
    def get_fees(self, version: ScheduleVersion) -> Any:
        return ScheduledFeeOut(selectors.schedule(version), many=True).data


class ScheduleView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="The fee schedule in force on a date",
        parameters=[OpenApiParameter("on", str, description="YYYY-MM-DD, default today")],
        responses={200: ScheduleOut, **error_responses(404)},
    )
    def get(self, request: Request) -> Response:
        day = (
            require_date(request.query_params, "on")
            if request.query_params.get("on")
            else timezone.localdate()
        )
        version = selectors.version_in_force(day)
        if version is None:
            raise NotFound()
        return Response(ScheduleOut(version).data)


urlpatterns = [
    path("fees/quote", QuoteView.as_view(), name="fee-quote"),
    path("fees/schedule", ScheduleView.as_view(), name="fee-schedule"),
]
