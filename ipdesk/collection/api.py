"""Payments over the API: the online channel (payment gateways, e-filing) and staff entry."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ipdesk.accounts import policy
from ipdesk.accounts.models import Organisation, OrganisationKind
from ipdesk.core.errors import InvalidInput, NotFound
from ipdesk.core.rest import require_date
from ipdesk.core.schema import (
    XLSX,
    FileAnswerNegotiation,
    MoneyField,
    error_responses,
    file_responses,
)
from ipdesk.core.services import request_fingerprint, run_idempotent
from ipdesk.tariff.models import Reduction

from . import selectors, services
from .models import (
    Channel,
    CorrectionCause,
    EntryKind,
    PayerKind,
    Payment,
    PaymentDateRule,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
    Volume,
    VolumeKind,
    VolumeStatus,
)
from .paper_receipt import receipt_number, render_paper_receipt
from .reports import daily_report_pdf, daily_report_xlsx


def _office_for(request: Request, code: str) -> Organisation:
    office = get_object_or_404(Organisation, code=code.upper())
    if not policy.can_see_office(request.user, office):
        raise NotFound()
    return office


def _payment_for(request: Request, pk: int) -> Payment:
    payment = Payment.objects.select_related("office", "volume").filter(pk=pk).first()
    if payment is None or not policy.can_see_office(request.user, payment.office):
        raise NotFound()
    return payment


class PayerIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=PayerKind.choices)
    id_code = serializers.CharField(max_length=18)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    receipt_title = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )


class LineIn(serializers.Serializer):
    fee_code = serializers.SlugField(max_length=40)
    amount = serializers.DecimalField(max_digits=15, decimal_places=2)
    year = serializers.IntegerField(required=False, min_value=1, max_value=30)
    quantity = serializers.IntegerField(required=False, min_value=1, max_value=999)
    claims = serializers.IntegerField(required=False, min_value=1, max_value=100_000)
    pages = serializers.IntegerField(required=False, min_value=1, max_value=100_000)
    reduction = serializers.ChoiceField(choices=Reduction.values, required=False, default=0)
    filing_date = serializers.DateField(required=False)
    grant_date = serializers.DateField(required=False)
    override_reason = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )


class PaymentIn(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    office = serializers.CharField(max_length=20)
    payer = PayerIn()
    application_number = serializers.CharField(max_length=20)
    lines = LineIn(many=True, allow_empty=False, max_length=50)
    received_on = serializers.DateField(required=False)
    remitted_on = serializers.DateField(required=False)
    postmarked_on = serializers.DateField(required=False)
    info_complete_on = serializers.DateField(required=False)
    second_postmarked_on = serializers.DateField(required=False)
    voucher_ref = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default=""
    )
    agency = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        default="",
        help_text="Code of the patent agency (专利代理机构) paying for the payer, if any.",
    )


def paying_agency(user: Any, code: str) -> Organisation | None:
    """The patent agency a payment is made by: the body's ``agency`` code, or the caller's
    own agency when the caller is a payer of one (who cannot name another agency)."""
    own = user.organisation if policy.is_payer(user) else None
    if own is not None and own.kind != OrganisationKind.PATENT_AGENCY:
        own = None
    code = code.strip().upper()
    if not code:
        return own
    agency = Organisation.objects.filter(code=code).first()
    if agency is None:
        raise InvalidInput(fields={"agency": _("No organisation has this code.")})
    if agency.kind != OrganisationKind.PATENT_AGENCY:
        raise InvalidInput(
            fields={"agency": _("The paying agency must be a patent agency (专利代理机构).")}
        )
    if own is not None and agency.pk != own.pk:
        raise InvalidInput(fields={"agency": _("An agency's user pays for that agency only.")})
    return agency


class PaymentCreatedOut(serializers.Serializer):
    id = serializers.IntegerField()
    payment_date = serializers.DateField(help_text="缴费日: the day the fee counts as paid")
    payment_date_rule = serializers.ChoiceField(choices=PaymentDateRule.choices)
    status = serializers.ChoiceField(choices=PaymentStatus.choices)


class PayerOut(serializers.Serializer):
    name = serializers.CharField(source="payer_name")
    kind = serializers.ChoiceField(source="payer_kind", choices=PayerKind.choices)
    id_code = serializers.CharField(source="payer_id_code")
    phone = serializers.CharField(source="payer_phone", allow_blank=True)
    email = serializers.CharField(source="payer_email", allow_blank=True)
    receipt_title = serializers.CharField(allow_blank=True)


class PaymentLineOut(serializers.Serializer):
    fee_code = serializers.CharField(source="fee_type.code")
    year = serializers.IntegerField(allow_null=True)
    quantity = serializers.IntegerField()
    standard = MoneyField(help_text="per unit")
    amount = MoneyField()
    tariff_amount = MoneyField(help_text="the amount by the schedule")
    override_reason = serializers.CharField(allow_blank=True)


class PaymentOut(PaymentCreatedOut):
    office = serializers.CharField(source="office.code")
    volume = serializers.CharField(source="volume.label")
    channel = serializers.ChoiceField(choices=Channel.choices)
    entry_kind = serializers.ChoiceField(choices=EntryKind.choices)
    application_number = serializers.CharField()
    payer = PayerOut(source="*")
    lines = serializers.SerializerMethodField()
    total = MoneyField()
    booked_on = serializers.DateField()
    booked_late = serializers.BooleanField()
    corrects = serializers.IntegerField(
        source="corrects_id", allow_null=True, help_text="the payment this entry corrects"
    )
    agency = serializers.CharField(
        source="agency.code", allow_null=True, help_text="code of the paying patent agency"
    )

    @extend_schema_field(PaymentLineOut(many=True))
    def get_lines(self, payment: Payment) -> Any:
        return PaymentLineOut(payment.lines.select_related("fee_type"), many=True).data


class CorrectionOut(serializers.Serializer):
    reversal = PaymentOut(help_text="the negative entry that cancels the original")
    replacement = PaymentOut()


def booking_data(data: dict[str, Any], agency: Organisation | None = None) -> services.BookingData:
    today = timezone.localdate()
    return services.BookingData(
        channel=data["channel"],
        payer=services.PayerData(**data["payer"]),
        application_number=data["application_number"],
        lines=[services.LineData(**line) for line in data["lines"]],
        dates=services.ChannelDates(
            received_on=data.get("received_on") or today,
            remitted_on=data.get("remitted_on"),
            postmarked_on=data.get("postmarked_on"),
            info_complete_on=data.get("info_complete_on"),
            second_postmarked_on=data.get("second_postmarked_on"),
        ),
        voucher_ref=data.get("voucher_ref", ""),
        agency=agency,
    )


class PaymentsView(APIView):
    @extend_schema(
        summary="Record a payment (online channel or staff entry)",
        request=PaymentIn,
        responses={201: PaymentCreatedOut, **error_responses(409, 422)},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
    )
    def post(self, request: Request) -> Response:
        data = PaymentIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        office = Organisation.objects.filter(code=values["office"].strip().upper()).first()
        if office is None:
            raise InvalidInput(fields={"office": _("No office has this code.")})
        channel = values["channel"]
        if channel == Channel.ONLINE and office.kind != OrganisationKind.FEE_OFFICE:
            raise InvalidInput(
                fields={"office": _("Online payments are booked at the fee office.")}
            )
        agency = paying_agency(request.user, values.get("agency", ""))

        def produce() -> tuple[int, Any]:
            payment = services.book_into_todays_volume(
                office=office,
                data=booking_data(values, agency),
                actor=request.user,
                reviewed=channel == Channel.ONLINE,
            )
            return 201, PaymentCreatedOut(payment).data

        key = request.headers.get("Idempotency-Key")
        if key is None:
            status, body = produce()
        else:
            fingerprint = request_fingerprint("POST", request.path, request.data)
            status, body = run_idempotent(
                client=request.user, key=key, fingerprint=fingerprint, produce=produce
            )
        return Response(body, status=status)


class PaymentView(APIView):
    @extend_schema(summary="One payment", responses={200: PaymentOut})
    def get(self, request: Request, pk: int) -> Response:
        return Response(PaymentOut(_payment_for(request, pk)).data)


class PaperReceiptView(APIView):
    content_negotiation_class = FileAnswerNegotiation

    @extend_schema(
        summary="The four-part paper receipt of a counter payment (PDF)",
        responses={**file_responses("application/pdf"), **error_responses(400)},
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        payment = _payment_for(request, pk)
        if payment.channel != Channel.COUNTER:
            raise InvalidInput(
                fields={"channel": _("Paper receipts are printed for counter payments only.")}
            )
        response = HttpResponse(render_paper_receipt(payment), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'inline; filename="receipt-{receipt_number(payment)}.pdf"'
        )
        return response


class ReviewIn(serializers.Serializer):
    approve_overrides = serializers.BooleanField(required=False, default=False)


class PaymentReviewView(APIView):
    @extend_schema(
        summary="Review (复核) a payment",
        request=ReviewIn,
        responses={200: PaymentOut, **error_responses(409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = ReviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        payment = services.review_payment(
            _payment_for(request, pk),
            actor=request.user,
            approve_overrides=data.validated_data["approve_overrides"],
        )
        return Response(PaymentOut(payment).data)


class NoteIn(serializers.Serializer):
    note = serializers.CharField(max_length=300)


class PaymentSendBackView(APIView):
    @extend_schema(
        summary="Send a payment back to the collector",
        request=NoteIn,
        responses={200: PaymentOut, **error_responses(409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = NoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        payment = services.send_back(
            _payment_for(request, pk), actor=request.user, note=data.validated_data["note"]
        )
        return Response(PaymentOut(payment).data)


class CorrectionIn(serializers.Serializer):
    reason = serializers.CharField(max_length=300)
    cause = serializers.ChoiceField(choices=CorrectionCause.choices)
    payer = PayerIn()
    application_number = serializers.CharField(max_length=20)
    lines = LineIn(many=True, allow_empty=False, max_length=50)


class PaymentCorrectView(APIView):
    @extend_schema(
        summary="Correct (更正) a reviewed payment",
        request=CorrectionIn,
        responses={201: CorrectionOut, **error_responses(409, 422)},
    )
    def post(self, request: Request, pk: int) -> Response:
        original = _payment_for(request, pk)
        data = CorrectionIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        booking = services.BookingData(
            channel=original.channel,
            payer=services.PayerData(**values["payer"]),
            application_number=values["application_number"],
            lines=[services.LineData(**line) for line in values["lines"]],
            dates=services.ChannelDates(received_on=original.received_on),
        )
        reversal, replacement = services.correct_payment(
            original,
            data=booking,
            reason=values["reason"],
            cause=values["cause"],
            actor=request.user,
        )
        return Response(
            CorrectionOut({"reversal": reversal, "replacement": replacement}).data, status=201
        )


class RefundIn(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=15, decimal_places=2)
    reason = serializers.ChoiceField(choices=RefundReason.choices)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class RefundOut(serializers.Serializer):
    id = serializers.IntegerField()
    payment = serializers.IntegerField(source="payment_id")
    amount = MoneyField()
    reason = serializers.ChoiceField(choices=RefundReason.choices)
    status = serializers.ChoiceField(choices=RefundStatus.choices)


class PaymentRefundView(APIView):
    @extend_schema(
        summary="Request a refund of a payment",
        request=RefundIn,
        responses={201: RefundOut, **error_responses(409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        payment = _payment_for(request, pk)
        data = RefundIn(data=request.data)
        data.is_valid(raise_exception=True)
        refund = services.request_refund(payment=payment, actor=request.user, **data.validated_data)
        return Response(RefundOut(refund).data, status=201)


class RefundDecisionView(APIView):
    approve = True

    @extend_schema(
        summary="Decide a refund (a second person)",
        request=None,
        responses={200: RefundOut, **error_responses(409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        refund = Refund.objects.select_related("office").filter(pk=pk).first()
        if refund is None or not policy.can_see_office(request.user, refund.office):
            raise NotFound()
        decided = services.decide_refund(refund, approve=self.approve, actor=request.user)
        return Response(RefundOut(decided).data)


class VolumeIn(serializers.Serializer):
    office = serializers.CharField(max_length=20)
    kind = serializers.ChoiceField(choices=VolumeKind.choices)
    day = serializers.DateField(required=False)


class VolumeOut(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    office = serializers.CharField(source="office.code")
    kind = serializers.ChoiceField(choices=VolumeKind.choices)
    day = serializers.DateField()
    status = serializers.ChoiceField(choices=VolumeStatus.choices)


class VolumesView(APIView):
    @extend_schema(
        summary="Open (or find) the day's volume of a kind",
        request=VolumeIn,
        responses={201: VolumeOut},
    )
    def post(self, request: Request) -> Response:
        data = VolumeIn(data=request.data)
        data.is_valid(raise_exception=True)
        office = Organisation.objects.filter(
            code=data.validated_data["office"].strip().upper()
        ).first()
        if office is None:
            raise InvalidInput(fields={"office": _("No office has this code.")})
        volume = services.open_volume(
            office=office,
            kind=data.validated_data["kind"],
            day=data.validated_data.get("day") or timezone.localdate(),
            actor=request.user,
        )
        return Response(VolumeOut(volume).data, status=201)


def _volume_for(request: Request, pk: int) -> Volume:
    volume = Volume.objects.select_related("office").filter(pk=pk).first()
    if volume is None or not policy.can_see_office(request.user, volume.office):
        raise NotFound()
    return volume


class VolumeCloseView(APIView):
    @extend_schema(
        summary="Close a volume",
        request=None,
        responses={200: VolumeOut, **error_responses(409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        closed = services.close_volume(_volume_for(request, pk), actor=request.user)
        return Response(VolumeOut(closed).data)


class VolumeReviewView(APIView):
    @extend_schema(
        summary="Review every entry of a closed volume",
        request=ReviewIn,
        responses={200: VolumeOut, **error_responses(409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = ReviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        volume = services.review_volume(
            _volume_for(request, pk),
            actor=request.user,
            approve_overrides=data.validated_data["approve_overrides"],
        )
        return Response(VolumeOut(volume).data)


class ReportRowOut(serializers.Serializer):
    label = serializers.CharField()
    count = serializers.IntegerField()
    amount = MoneyField()


class DailyReportOut(serializers.Serializer):
    office = serializers.CharField(source="office.code")
    day = serializers.DateField()
    count = serializers.IntegerField()
    total = MoneyField()
    closing = ReportRowOut(many=True, help_text="日结单: per volume")
    by_channel = ReportRowOut(many=True)
    by_fee = ReportRowOut(many=True, help_text="汇总表1")
    by_channel_and_date = ReportRowOut(many=True, help_text="汇总表2")
    refunds = ReportRowOut(many=True)
    refunded = MoneyField()


class DailyReportView(APIView):
    content_negotiation_class = FileAnswerNegotiation

    @extend_schema(
        summary="Daily reports (日结单, 汇总表1, 汇总表2)",
        parameters=[
            OpenApiParameter("day", str, required=True),
            OpenApiParameter("format", str, enum=["json", "pdf", "xlsx"]),
        ],
        responses={200: DailyReportOut, **file_responses("application/pdf", XLSX)},
    )
    def get(self, request: Request, code: str) -> Response | HttpResponse:
        office = _office_for(request, code)
        day = require_date(request.query_params, "day")
        report = selectors.daily_report(office, day)
        fmt = request.query_params.get("format", "json")
        if fmt == "pdf":
            return HttpResponse(daily_report_pdf(report), content_type="application/pdf")
        if fmt == "xlsx":
            return HttpResponse(daily_report_xlsx(report), content_type=XLSX)
        if fmt != "json":
            raise InvalidInput(fields={"format": _("Use json, pdf or xlsx.")})

        return Response(DailyReportOut(report).data)


class RefundApproveView(RefundDecisionView):
    approve = True


class RefundRejectView(RefundDecisionView):
    approve = False


urlpatterns = [
    path("payments", PaymentsView.as_view(), name="payments"),
    path("payments/<int:pk>", PaymentView.as_view(), name="payment"),
    path(
        "payments/<int:pk>/paper-receipt.pdf",
        PaperReceiptView.as_view(),
        name="payment-paper-receipt",
    ),
    path("payments/<int:pk>/review", PaymentReviewView.as_view(), name="payment-review"),
    path("payments/<int:pk>/send-back", PaymentSendBackView.as_view(), name="payment-send-back"),
    path("payments/<int:pk>/correct", PaymentCorrectView.as_view(), name="payment-correct"),
    path("payments/<int:pk>/refunds", PaymentRefundView.as_view(), name="payment-refunds"),
    path("refunds/<int:pk>/approve", RefundApproveView.as_view(), name="refund-approve"),
    path("refunds/<int:pk>/reject", RefundRejectView.as_view(), name="refund-reject"),
    path("volumes", VolumesView.as_view(), name="volumes"),
    path("volumes/<int:pk>/close", VolumeCloseView.as_view(), name="volume-close"),
    path("volumes/<int:pk>/review", VolumeReviewView.as_view(), name="volume-review"),
    path("offices/<str:code>/daily-report", DailyReportView.as_view(), name="daily-report"),
]
