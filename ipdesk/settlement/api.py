"""Monthly settlement over the API: statements and their lifecycle, remittances, interest,
penalties, the monthly reports, the national summary and the days' data sent (报送).

Office staff see their own office; the fee office's clerks, auditors and admins see every
office (the same rule as the collection API). Every write is a service call.
"""

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
from ipdesk.core.money import money_str
from ipdesk.core.rest import optional_int
from ipdesk.core.schema import (
    XLSX,
    FileAnswerNegotiation,
    MoneyField,
    error_responses,
    file_responses,
)

from . import reports, selectors, services
from .models import MonthlyStatement, StatementStatus

FORMAT_PARAMETER = OpenApiParameter("format", str, enum=["json", "pdf", "xlsx"])
MONTH_PATTERN = r"^[0-9]{4}-[0-9]{2}$"
MONTH_PARAMETER = OpenApiParameter("month", str, required=True, description="YYYY-MM")


def _office(request: Request, code: str, field: str | None = None) -> Organisation:
    """The agency office with ``code``; unknown or not visible → 404 (or a field error)."""
    office = (
        policy.visible_offices(request.user)
        .filter(code=(code or "").strip().upper(), kind=OrganisationKind.AGENCY_OFFICE)
        .first()
    )
    if office is None:
        if field:
            raise InvalidInput(fields={field: _("No agency office has this code.")})
        raise NotFound()
    return office


def _require_oversight(request: Request) -> None:
    policy.require(request.user, policy.FEE_OFFICE_OVERSIGHT)


def _statement(request: Request, pk: int) -> MonthlyStatement:
    statement = selectors.statement(pk)
    if statement is None or not policy.can_see_office(request.user, statement.office):
        raise NotFound()
    return statement


def _format(request: Request) -> str:
    fmt = request.query_params.get("format", "json")
    if fmt not in ("json", "pdf", "xlsx"):
        raise InvalidInput(fields={"format": _("Use json, pdf or xlsx.")})
    return fmt


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN, "example": "2026-05"})
class MonthField(serializers.Field):
    """A month as YYYY-MM."""

    def to_representation(self, value: Any) -> str:
        return f"{value:%Y-%m}"


class RemittanceOut(serializers.Serializer):
    id = serializers.IntegerField()
    bank_reference = serializers.CharField(allow_blank=True)
    remitted_on = serializers.DateField()
    amount = MoneyField()
    excess = MoneyField(help_text="the part beyond what was due")


class StatementOut(serializers.Serializer):
    id = serializers.IntegerField()
    office = serializers.CharField(source="office.code")
    month = MonthField()
    revision = serializers.IntegerField()
    status = serializers.ChoiceField(choices=StatementStatus.choices)
    entries = serializers.IntegerField()
    fees = MoneyField(source="fees_total")
    refunds = MoneyField(source="refunds_total")
    amount_due = MoneyField(help_text="negative: the fee office owes the office")
    remitted = MoneyField(source="remitted_total")
    outstanding = serializers.SerializerMethodField()
    excess = MoneyField(source="excess_amount")
    issued_on = serializers.DateField(allow_null=True)
    accepted_on = serializers.DateField(allow_null=True)
    remit_deadline = serializers.DateField(allow_null=True)
    disputed_on = serializers.DateField(allow_null=True)
    correction_due_on = serializers.DateField(allow_null=True)
    completed_on = serializers.DateField(allow_null=True)
    supersedes = serializers.IntegerField(
        source="supersedes_id", allow_null=True, help_text="the statement this one corrects"
    )
    remittance_overdue = serializers.SerializerMethodField()
    correction_overdue = serializers.SerializerMethodField()
    delay_days = serializers.SerializerMethodField()

    @extend_schema_field(MoneyField())
    def get_outstanding(self, statement: MonthlyStatement) -> str:
        return money_str(selectors.outstanding(statement))

    def get_remittance_overdue(self, statement: MonthlyStatement) -> bool:
        return selectors.is_remittance_overdue(statement)

    def get_correction_overdue(self, statement: MonthlyStatement) -> bool:
        return selectors.is_correction_overdue(statement)

    def get_delay_days(self, statement: MonthlyStatement) -> int:
        return selectors.delay_days(statement)


class FeeLineOut(serializers.Serializer):
    fee = serializers.CharField(help_text="fee code")
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    amount = MoneyField()


class ChannelLineOut(serializers.Serializer):
    channel = serializers.CharField()
    entries = serializers.IntegerField()
    amount = MoneyField()


class StatementDetailOut(StatementOut):
    fee_lines = FeeLineOut(many=True)
    channel_lines = ChannelLineOut(many=True)
    differences = serializers.CharField(allow_blank=True, help_text="what the office disputed")
    remittances = RemittanceOut(many=True, source="remittances.all")


class StatementsOut(serializers.Serializer):
    statements = StatementOut(many=True)


class IssueIn(serializers.Serializer):
    office = serializers.CharField(max_length=20)
    month = serializers.CharField(max_length=7, help_text="YYYY-MM")


class StatementsView(APIView):
    @extend_schema(
        summary="Monthly statements (月结算单) visible to the caller",
        parameters=[
            OpenApiParameter("month", str, description="YYYY-MM"),
            OpenApiParameter("office", str),
        ],
        responses={200: StatementsOut},
        operation_id="v1_settlement_statements_list",
    )
    def get(self, request: Request) -> Response:
        statements = selectors.visible_statements(request.user)
        if request.query_params.get("month"):
            statements = statements.filter(
                month=services.parse_month(request.query_params["month"])
            )
        if request.query_params.get("office"):
            statements = statements.filter(
                office=_office(request, request.query_params["office"], "office")
            )
        return Response(StatementsOut({"statements": statements[:1000]}).data)

    @extend_schema(
        summary="Issue an office's statement of a month",
        request=IssueIn,
        responses={201: StatementDetailOut, **error_responses(409)},
    )
    def post(self, request: Request) -> Response:
        data = IssueIn(data=request.data)
        data.is_valid(raise_exception=True)
        office = _office(request, data.validated_data["office"], "office")
        statement = services.issue_statement(office, data.validated_data["month"], request.user)
        return Response(StatementDetailOut(statement).data, status=201)


class MonthClosedOut(serializers.Serializer):
    month = serializers.CharField(help_text="as given in the path")
    issued = StatementOut(many=True)
    already_issued = serializers.ListField(
        child=serializers.CharField(), help_text="codes of the offices issued before"
    )


class CloseMonthView(APIView):
    @extend_schema(
        summary="Issue every agency office's statement of a month not yet issued",
        request=None,
        parameters=[
            OpenApiParameter(
                "month", str, OpenApiParameter.PATH, description="YYYY-MM", pattern=MONTH_PATTERN
            )
        ],
        responses={200: MonthClosedOut, **error_responses(400, 409)},
    )
    def post(self, request: Request, month: str) -> Response:
        results = services.close_month(month, actor=request.user)
        return Response(
            MonthClosedOut(
                {
                    "month": month,
                    "issued": [s for _o, s in results if s is not None],
                    "already_issued": [o.code for o, s in results if s is None],
                }
            ).data
        )


class StatementView(APIView):
    @extend_schema(
        summary="One statement with its lines and remittances",
        responses={200: StatementDetailOut},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(StatementDetailOut(_statement(request, pk)).data)


class ConfirmView(APIView):
    @extend_schema(
        summary="The office accepts the statement",
        request=None,
        responses={200: StatementDetailOut, **error_responses(409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        statement = services.confirm_statement(_statement(request, pk), actor=request.user)
        return Response(StatementDetailOut(statement).data)


class DisputeIn(serializers.Serializer):
    differences = serializers.CharField(max_length=4000, allow_blank=True)


class DisputeView(APIView):
    @extend_schema(
        summary="The office reports the differences it found",
        request=DisputeIn,
        responses={200: StatementDetailOut, **error_responses(409, 422)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = DisputeIn(data=request.data)
        data.is_valid(raise_exception=True)
        statement = services.dispute_statement(
            _statement(request, pk),
            differences=data.validated_data["differences"],
            actor=request.user,
        )
        return Response(StatementDetailOut(statement).data)


class CorrectView(APIView):
    @extend_schema(
        summary="Issue the corrected statement of a disputed one",
        request=None,
        responses={201: StatementDetailOut, **error_responses(409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        corrected = services.issue_corrected_statement(_statement(request, pk), actor=request.user)
        return Response(StatementDetailOut(corrected).data, status=201)


class RemittanceIn(serializers.Serializer):
    bank_reference = serializers.CharField(max_length=100, allow_blank=True)
    remitted_on = serializers.DateField()
    amount = serializers.CharField(max_length=20, help_text="yuan, two decimals at most")


class RemittanceRecordedOut(serializers.Serializer):
    remittance = RemittanceOut()
    statement = StatementOut()


class RemittancesView(APIView):
    @extend_schema(
        summary="Record a transfer against an accepted statement",
        request=RemittanceIn,
        responses={201: RemittanceRecordedOut, **error_responses(409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = RemittanceIn(data=request.data)
        data.is_valid(raise_exception=True)
        statement = _statement(request, pk)
        remittance = services.record_remittance(
            statement, actor=request.user, **data.validated_data
        )
        statement.refresh_from_db()
        return Response(
            RemittanceRecordedOut({"remittance": remittance, "statement": statement}).data,
            status=201,
        )


class InterestIn(serializers.Serializer):
    office = serializers.CharField(max_length=20)
    month = serializers.CharField(max_length=7, help_text="YYYY-MM")
    amount = serializers.CharField(max_length=20)
    explanation = serializers.CharField(max_length=4000, allow_blank=True)
    bank_reference = serializers.CharField(max_length=100, allow_blank=True)
    remitted_on = serializers.DateField()


class InterestOut(serializers.Serializer):
    id = serializers.IntegerField()
    office = serializers.CharField(source="office.code")
    month = MonthField()
    amount = MoneyField()


class InterestView(APIView):
    @extend_schema(
        summary="Declare and hand over the interest of the office's fee account (利息)",
        request=InterestIn,
        responses={201: InterestOut, **error_responses(409)},
    )
    def post(self, request: Request) -> Response:
        data = InterestIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        office = _office(request, values.pop("office"), "office")
        month = values.pop("month")
        declaration = services.declare_interest(office, month, actor=request.user, **values)
        return Response(InterestOut(declaration).data, status=201)


class DeductionIn(serializers.Serializer):
    office = serializers.CharField(max_length=20)
    year = serializers.IntegerField()
    reference = serializers.CharField(max_length=100, allow_blank=True)
    base_amount = serializers.CharField(max_length=20)
    reason = serializers.CharField(max_length=4000, allow_blank=True)


class DeductionOut(serializers.Serializer):
    id = serializers.IntegerField()
    office = serializers.CharField(source="office.code")
    year = serializers.IntegerField()
    reference = serializers.CharField(allow_blank=True)
    base_amount = MoneyField()
    rate = serializers.CharField(help_text='a fraction, e.g. "0.20"')
    amount = MoneyField()


class DeductionView(APIView):
    @extend_schema(
        summary="Record a 20 % deduction for misappropriated or withheld fees",
        request=DeductionIn,
        responses={201: DeductionOut, **error_responses(409)},
    )
    def post(self, request: Request) -> Response:
        data = DeductionIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        office = _office(request, values.pop("office"), "office")
        year = values.pop("year")
        decision = services.decide_deduction(office, year, actor=request.user, **values)
        return Response(DeductionOut(decision).data, status=201)


class PenaltyItemOut(serializers.Serializer):
    kind = serializers.CharField()
    count = serializers.IntegerField()
    rate = MoneyField(allow_null=True, help_text="per unit, when the penalty has one")
    amount = MoneyField()
    explanation = serializers.CharField()


class PenaltiesOut(serializers.Serializer):
    office = serializers.CharField(source="office.code")
    year = serializers.IntegerField()
    items = PenaltyItemOut(many=True)
    total = MoneyField()


class PenaltiesView(APIView):
    @extend_schema(
        summary="An office's penalties of a year, each explained",
        parameters=[OpenApiParameter("year", int)],
        responses={200: PenaltiesOut, **error_responses(422)},
    )
    def get(self, request: Request, code: str) -> Response:
        office = _office(request, code)
        year = optional_int(request.query_params, "year", low=0, high=9999)
        year = year or timezone.localdate().year
        return Response(PenaltiesOut(selectors.penalties(office, year)).data)


class DebitCreditOut(serializers.Serializer):
    debit = MoneyField()
    credit = MoneyField()


@extend_schema_field(DebitCreditOut)
class DebitCreditField(serializers.Field):
    """A balance or movement as its (debit, credit) pair."""

    def to_representation(self, pair: tuple[Any, Any]) -> dict[str, str]:
        return {"debit": money_str(pair[0]), "credit": money_str(pair[1])}


class TrialBalanceRowOut(serializers.Serializer):
    account = serializers.CharField()
    name = serializers.CharField()
    opening = DebitCreditField()
    period = DebitCreditField()
    closing = DebitCreditField()


class PayableOut(serializers.Serializer):
    opening = MoneyField()
    fee_lines = FeeLineOut(many=True)
    fees = MoneyField()
    refunds = MoneyField()
    remitted = MoneyField()
    closing = MoneyField()


class NamedAmountOut(serializers.Serializer):
    name = serializers.CharField()
    amount = MoneyField()


@extend_schema_field(NamedAmountOut(many=True))
class NamedAmountsField(serializers.Field):
    """Balance-sheet lines, each a (name, amount) pair."""

    def to_representation(self, pairs: list[tuple[str, Any]]) -> list[dict[str, str]]:
        return [{"name": name, "amount": money_str(amount)} for name, amount in pairs]


class BalanceSheetOut(serializers.Serializer):
    assets = NamedAmountsField()
    liabilities = NamedAmountsField()
    equity = MoneyField()
    total_assets = MoneyField()
    total_liabilities_and_equity = serializers.SerializerMethodField()

    @extend_schema_field(MoneyField())
    def get_total_liabilities_and_equity(self, sheet: selectors.BalanceSheet) -> str:
        return money_str(sheet.total_liabilities + sheet.equity)


class CheckOut(serializers.Serializer):
    check = serializers.CharField(source="label")
    left = MoneyField()
    right = MoneyField()
    ok = serializers.BooleanField()


class MonthlyReportsOut(serializers.Serializer):
    office = serializers.CharField(source="office.code")
    month = MonthField()
    due_on = serializers.DateField()
    statement = StatementOut(allow_null=True)
    trial_balance = TrialBalanceRowOut(
        many=True, source="trial_balance.rows", help_text="科目余额表"
    )
    fees_payable = PayableOut(source="payable", help_text="应交局费用明细表")
    balance_sheet = BalanceSheetOut(help_text="资产负债表")
    checks = CheckOut(many=True)
    reconciled = serializers.BooleanField()


class OfficeMonthOut(serializers.Serializer):
    office = serializers.CharField(source="office.code")
    entries = serializers.IntegerField(source="figures.entries")
    fees = MoneyField(source="figures.fees")
    refunds = MoneyField(source="figures.refunds")
    statement = StatementOut(allow_null=True)
    outstanding = MoneyField()
    overdue = serializers.BooleanField()


class NationalSummaryOut(serializers.Serializer):
    month = MonthField()
    offices = OfficeMonthOut(many=True)
    fees = MoneyField()
    refunds = MoneyField()
    amount_due = MoneyField()
    remitted = MoneyField()
    outstanding = MoneyField()


class MonthlyReportsView(APIView):
    content_negotiation_class = FileAnswerNegotiation

    @extend_schema(
        summary="The office's monthly reports: 科目余额表, 应交局费用明细表, 资产负债表",
        parameters=[MONTH_PARAMETER, FORMAT_PARAMETER],
        responses={
            200: MonthlyReportsOut,
            **file_responses("application/pdf", XLSX),
            **error_responses(422),
        },
    )
    def get(self, request: Request, code: str) -> Response | HttpResponse:
        office = _office(request, code)
        fmt = _format(request)
        month = services.parse_month(request.query_params.get("month", ""))
        result = selectors.monthly_reports(office, month)
        if fmt == "pdf":
            return HttpResponse(reports.monthly_reports_pdf(result), content_type="application/pdf")
        if fmt == "xlsx":
            return HttpResponse(reports.monthly_reports_xlsx(result), content_type=XLSX)
        return Response(MonthlyReportsOut(result).data)


class NationalSummaryView(APIView):
    content_negotiation_class = FileAnswerNegotiation

    @extend_schema(
        summary="The month across every agency office (fee office only)",
        parameters=[MONTH_PARAMETER, FORMAT_PARAMETER],
        responses={
            200: NationalSummaryOut,
            **file_responses("application/pdf", XLSX),
            **error_responses(422),
        },
    )
    def get(self, request: Request) -> Response | HttpResponse:
        _require_oversight(request)
        fmt = _format(request)
        month = services.parse_month(request.query_params.get("month", ""))
        summary = selectors.national_summary(month)
        if fmt == "pdf":
            return HttpResponse(
                reports.national_summary_pdf(summary), content_type="application/pdf"
            )
        if fmt == "xlsx":
            return HttpResponse(reports.national_summary_xlsx(summary), content_type=XLSX)
        return Response(NationalSummaryOut(summary).data)


# --- the days' data sent to the fee office (报送) -------------------------------------------


def _submitting_office(request: Request, code: str) -> Organisation:
    """Any office that keeps volumes and sends its days; unknown or not visible → 404."""
    office = get_object_or_404(Organisation, code=code.upper())
    if not policy.can_see_office(request.user, office):
        raise NotFound()
    return office


class DaySubmissionIn(serializers.Serializer):
    day = serializers.DateField()


class ExcuseIn(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, allow_blank=True)


class DaySubmissionOut(serializers.Serializer):
    id = serializers.IntegerField()
    office = serializers.CharField(source="office.code")
    day = serializers.DateField()
    due_on = serializers.DateField()
    submitted_on = serializers.DateField()
    entries = serializers.IntegerField()
    total = MoneyField()
    late_working_days = serializers.IntegerField()
    excuse = serializers.CharField(allow_blank=True, help_text="the reason accepted for a delay")


class DaySubmissionsOut(serializers.Serializer):
    submissions = DaySubmissionOut(many=True)


class DaySubmissionsView(APIView):
    @extend_schema(
        summary="The office's days sent to the fee office (报送) in a year",
        parameters=[OpenApiParameter("year", int)],
        responses={200: DaySubmissionsOut},
    )
    def get(self, request: Request, code: str) -> Response:
        office = _submitting_office(request, code)
        year = optional_int(request.query_params, "year", low=0, high=9999)
        rows = selectors.submissions_of(office, year or timezone.localdate().year)
        return Response(DaySubmissionsOut({"submissions": rows}).data)

    @extend_schema(
        summary="Send a booking day's data and receipts to the fee office",
        request=DaySubmissionIn,
        responses={201: DaySubmissionOut, **error_responses(409, 422)},
    )
    def post(self, request: Request, code: str) -> Response:
        office = _submitting_office(request, code)
        data = DaySubmissionIn(data=request.data)
        data.is_valid(raise_exception=True)
        submission = services.submit_day(
            office=office, day=data.validated_data["day"], actor=request.user
        )
        return Response(DaySubmissionOut(submission).data, status=201)


class ExcuseDelayView(APIView):
    @extend_schema(
        summary="The fee office accepts a reason for a late day",
        request=ExcuseIn,
        responses={200: DaySubmissionOut, **error_responses(409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        submission = selectors.submission(pk)
        if submission is None or not policy.can_see_office(request.user, submission.office):
            raise NotFound()
        data = ExcuseIn(data=request.data)
        data.is_valid(raise_exception=True)
        excused = services.excuse_late_submission(
            submission, reason=data.validated_data["reason"], actor=request.user
        )
        return Response(DaySubmissionOut(excused).data)


urlpatterns = [
    path("settlement/statements", StatementsView.as_view(), name="statements"),
    path("settlement/statements/<int:pk>", StatementView.as_view(), name="statement"),
    path("settlement/statements/<int:pk>/confirm", ConfirmView.as_view(), name="statement-confirm"),
    path("settlement/statements/<int:pk>/dispute", DisputeView.as_view(), name="statement-dispute"),
    path("settlement/statements/<int:pk>/correct", CorrectView.as_view(), name="statement-correct"),
    path(
        "settlement/statements/<int:pk>/remittances",
        RemittancesView.as_view(),
        name="statement-remittances",
    ),
    path("settlement/months/<str:month>/close", CloseMonthView.as_view(), name="close-month"),
    path("settlement/interest", InterestView.as_view(), name="interest"),
    path("settlement/deductions", DeductionView.as_view(), name="deductions"),
    path("settlement/summary", NationalSummaryView.as_view(), name="national-summary"),
    path("offices/<str:code>/penalties", PenaltiesView.as_view(), name="penalties"),
    path(
        "offices/<str:code>/monthly-reports", MonthlyReportsView.as_view(), name="monthly-reports"
    ),
    path(
        "offices/<str:code>/day-submissions", DaySubmissionsView.as_view(), name="day-submissions"
    ),
    path("day-submissions/<int:pk>/excuse", ExcuseDelayView.as_view(), name="day-excuse"),
]
