"""Fee quotes and the schedule over the API (public: anyone may price a fee)."""

from __future__ import annotations

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from ipdesk.core.errors import NotFound
from ipdesk.core.money import money_str
from ipdesk.core.rest import require_date

from . import selectors
from .models import PatentKind, Reduction
from .services import QuoteRequest, quote_fees


class QuoteIn(serializers.Serializer):
    patent_kind = serializers.ChoiceField(choices=PatentKind.values)
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
    base = serializers.CharField()
    quantity = serializers.IntegerField()
    reduction = serializers.IntegerField()
    late_charge = serializers.CharField()
    amount = serializers.CharField()
    explanation = serializers.CharField()


class QuoteOut(serializers.Serializer):
    lines = QuoteLineOut(many=True)
    total = serializers.CharField()
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
        return Response(quote.as_dict())


class ScheduleView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="The fee schedule in force on a date",
        parameters=[OpenApiParameter("on", str, description="YYYY-MM-DD, default today")],
        responses={200: dict},
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
        return Response(
            {
                "valid_from": version.valid_from,
                "name": version.name,
                "source": version.source,
                "reduction_annual_years": version.reduction_annual_years,
                "fees": [
                    {
                        "code": fee.code,
                        "name": fee.name,
                        "unit": fee.unit,
                        "reducible": fee.reducible,
                        "basis": fee.basis,
                        "rates": [
                            {
                                "patent_kind": r.patent_kind,
                                "from": r.band_from or None,
                                "to": r.band_to,
                                "filed_from": r.filed_from,
                                "amount": money_str(r.amount),
                            }
                            for r in fee.rates.all()
                        ],
                    }
                    for fee in selectors.schedule(version)
                ],
            }
        )


urlpatterns = [
    path("fees/quote", QuoteView.as_view(), name="fee-quote"),
    path("fees/schedule", ScheduleView.as_view(), name="fee-schedule"),
]
