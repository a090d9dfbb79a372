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
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ipdesk.accounts import policy
from ipdesk.accounts.models import Organisation, OrganisationKind
from ipdesk.core.errors import InvalidInput, NotFound
from ipdesk.core.money import money_str
from ipdesk.core.rest import optional_int

from . import reports, selectors, services
from .models import DaySubmission, MonthlyStatement, Remittance

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMAT_PARAMETER = OpenApiParameter("format", str, enum=["json", "pdf", "xlsx"])
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


def remittance_body(remittance: Remittance) -> dict[str, Any]:
    return {
        "id": remittance.pk,
        "bank_reference": remittance.bank_reference,
        "remitted_on": remittance.remitted_on.isoformat(),
        "amount": money_str(remittance.amount),
        "excess": money_str(remittance.excess),
    }


def statement_body(statement: MonthlyStatement, *, detail: bool = False) -> dict[str, Any]:
    def day(value: Any) -> str | None:
        return value.isoformat() if value else None

    body: dict[str, Any] = {
        "id": statement.pk,
        "office": statement.office.code,
        "month": f"{statement.month:%Y-%m}",
        "revision": statement.revision,
        "status": statement.status,
        "entries": statement.entries,
        "fees": money_str(statement.fees_total),
        "refunds": money_str(statement.refunds_total),
        "amount_due": money_str(statement.amount_due),
        "remitted": money_str(statement.remitted_total),
        "outstanding": money_str(selectors.outstanding(statement)),
        "excess": money_str(statement.excess_amount),
        "issued_on": day(statement.issued_on),
        "accepted_on": day(statement.accepted_on),
        "remit_deadline": day(statement.remit_deadline),
        "disputed_on": day(statement.disputed_on),
        "correction_due_on": day(statement.correction_due_on),
        "completed_on": day(statement.completed_on),
        "supersedes": statement.supersedes_id,
        "remittance_overdue": selectors.is_remittance_overdue(statement),
        "correction_overdue": selectors.is_correction_overdue(statement),
        "delay_days": selectors.delay_days(statement),
    }
    if detail:
        body["fee_lines"] = statement.fee_lines
        body["channel_lines"] = statement.channel_lines
        body["differences"] = statement.differences
        body["remittances"] = [remittance_body(r) for r in statement.remittances.all()]
    return body


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
        responses={200: dict},
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
        return Response({"statements": [statement_body(s) for s in statements[:1000]]})

    @extend_schema(
        summary="Issue an office's statement of a month", request=IssueIn, responses={201: dict}
    )
    def post(self, request: Request) -> Response:
        data = IssueIn(data=request.data)
        data.is_valid(raise_exception=True)
        office = _office(request, data.validated_data["office"], "office")
        statement = services.issue_statement(office, data.validated_data["month"], request.user)
        return Response(statement_body(statement, detail=True), status=201)


class CloseMonthView(APIView):
    @extend_schema(
        summary="Issue every agency office's statement of a month not yet issued",
        request=None,
        responses={200: dict},
    )
    def post(self, request: Request, month: str) -> Response:
        results = services.close_month(month, actor=request.user)
        return Response(
            {
                "month": month,
                "issued": [statement_body(s) for _o, s in results if s is not None],
                "already_issued": [o.code for o, s in results if s is None],
            }
        )


class StatementView(APIView):
    @extend_schema(summary="One statement with its lines and remittances", responses={200: dict})
    def get(self, request: Request, pk: int) -> Response:
        return Response(statement_body(_statement(request, pk), detail=True))


class ConfirmView(APIView):
    @extend_schema(summary="The office accepts the statement", request=None, responses={200: dict})
    def post(self, request: Request, pk: int) -> Response:
        statement = services.confirm_statement(_statement(request, pk), actor=request.user)
        return Response(statement_body(statement, detail=True))


class DisputeIn(serializers.Serializer):
    differences = serializers.CharField(max_length=4000, allow_blank=True)


class DisputeView(APIView):
    @extend_schema(
        summary="The office reports the differences it found",
        request=DisputeIn,
        responses={200: dict},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = DisputeIn(data=request.data)
        data.is_valid(raise_exception=True)
        statement = services.dispute_statement(
            _statement(request, pk),
            differences=data.validated_data["differences"],
            actor=request.user,
        )
        return Response(statement_body(statement, detail=True))


class CorrectView(APIView):
    @extend_schema(
        summary="Issue the corrected statement of a disputed one",
        request=None,
        responses={201: dict},
    )
    def post(self, request: Request, pk: int) -> Response:
        corrected = services.issue_corrected_statement(_statement(request, pk), actor=request.user)
        return Response(statement_body(corrected, detail=True), status=201)


class RemittanceIn(serializers.Serializer):
    bank_reference = serializers.CharField(max_length=100, allow_blank=True)
    remitted_on = serializers.DateField()
    amount = serializers.CharField(max_length=20, help_text="yuan, two decimals at most")


class RemittancesView(APIView):
    @extend_schema(
        summary="Record a transfer against an accepted statement",
        request=RemittanceIn,
        responses={201: dict},
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
            {"remittance": remittance_body(remittance), "statement": statement_body(statement)},
            status=201,
        )


class InterestIn(serializers.Serializer):
    office = serializers.CharField(max_length=20)
    month = serializers.CharField(max_length=7, help_text="YYYY-MM")
    amount = serializers.CharField(max_length=20)
    explanation = serializers.CharField(max_length=4000, allow_blank=True)
    bank_reference = serializers.CharField(max_length=100, allow_blank=True)
    remitted_on = serializers.DateField()


class InterestView(APIView):
    @extend_schema(
        summary="Declare and hand over the interest of the office's fee account (利息)",
        request=InterestIn,
        responses={201: dict},
    )
    def post(self, request: Request) -> Response:
        data = InterestIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        office = _office(request, values.pop("office"), "office")
        month = values.pop("month")
        declaration = services.declare_interest(office, month, actor=request.user, **values)
        return Response(
            {
                "id": declaration.pk,
                "office": office.code,
                "month": f"{declaration.month:%Y-%m}",
                "amount": money_str(declaration.amount),
            },
            status=201,
        )


class DeductionIn(serializers.Serializer):
    office = serializers.CharField(max_length=20)
    year = serializers.IntegerField()
    reference = serializers.CharField(max_length=100, allow_blank=True)
    base_amount = serializers.CharField(max_length=20)
    reason = serializers.CharField(max_length=4000, allow_blank=True)


class DeductionView(APIView):
    @extend_schema(
        summary="Record a 20 % deduction for misappropriated or withheld fees",
        request=DeductionIn,
        responses={201: dict},
    )
    def post(self, request: Request) -> Response:
        data = DeductionIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        office = _office(request, values.pop("office"), "office")
        year = values.pop("year")
        decision = services.decide_deduction(office, year, actor=request.user, **values)
        return Response(
            {
                "id": decision.pk,
                "office": office.code,
                "year": decision.year,
                "reference": decision.reference,
                "base_amount": money_str(decision.base_amount),
                "rate": str(decision.rate),
                "amount": money_str(decision.amount),
            },
            status=201,
        )


class PenaltiesView(APIView):
    @extend_schema(
        summary="An office's penalties of a year, each explained",
        parameters=[OpenApiParameter("year", int)],
        responses={200: dict},
    )
    def get(self, request: Request, code: str) -> Response:
        office = _office(request, code)
        year = optional_int(request.query_params, "year", low=0, high=9999)
        year = year or timezone.localdate().year
        result = selectors.penalties(office, year)
        return Response(
            {
                "office": office.code,
                "year": year,
                "items": [
                    {
                        "kind": item.kind,
                        "count": item.count,
                        "rate": money_str(item.rate) if item.rate is not None else None,
                        "amount": money_str(item.amount),
                        "explanation": item.explanation,
                    }
                    for item in result.items
                ],
                "total": money_str(result.total),
            }
        )


def _pair(pair: tuple[Any, Any]) -> dict[str, str]:
    return {"debit": money_str(pair[0]), "credit": money_str(pair[1])}


class MonthlyReportsView(APIView):
    @extend_schema(
        summary="The office's monthly reports: 科目余额表, 应交局费用明细表, 资产负债表",
        parameters=[MONTH_PARAMETER, FORMAT_PARAMETER],
        responses={200: dict},
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
        payable = result.payable
        sheet = result.balance_sheet
        return Response(
            {
                "office": office.code,
                "month": f"{month:%Y-%m}",
                "due_on": result.due_on.isoformat(),
                "statement": statement_body(result.statement) if result.statement else None,
                "trial_balance": [
                    {
                        "account": row.account,
                        "name": row.name,
                        "opening": _pair(row.opening),
                        "period": _pair(row.period),
                        "closing": _pair(row.closing),
                    }
                    for row in result.trial_balance.rows
                ],
                "fees_payable": {
                    "opening": money_str(payable.opening),
                    "fee_lines": payable.fee_lines,
                    "fees": money_str(payable.fees),
                    "refunds": money_str(payable.refunds),
                    "remitted": money_str(payable.remitted),
                    "closing": money_str(payable.closing),
                },
                "balance_sheet": {
                    "assets": [{"name": n, "amount": money_str(a)} for n, a in sheet.assets],
                    "liabilities": [
                        {"name": n, "amount": money_str(a)} for n, a in sheet.liabilities
                    ],
                    "equity": money_str(sheet.equity),
                    "total_assets": money_str(sheet.total_assets),
                    "total_liabilities_and_equity": money_str(
                        sheet.total_liabilities + sheet.equity
                    ),
                },
                "checks": [
                    {
                        "check": c.label,
                        "left": money_str(c.left),
                        "right": money_str(c.right),
                        "ok": c.ok,
                    }
                    for c in result.checks
                ],
                "reconciled": result.reconciled,
            }
        )


class NationalSummaryView(APIView):
    @extend_schema(
        summary="The month across every agency office (fee office only)",
        parameters=[MONTH_PARAMETER, FORMAT_PARAMETER],
        responses={200: dict},
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
        return Response(
            {
                "month": f"{month:%Y-%m}",
                "offices": [
                    {
                        "office": row.office.code,
                        "entries": row.figures.entries,
                        "fees": money_str(row.figures.fees),
                        "refunds": money_str(row.figures.refunds),
                        "statement": statement_body(row.statement) if row.statement else None,
                        "outstanding": money_str(row.outstanding),
                        "overdue": row.overdue,
                    }
                    for row in summary.offices
                ],
                "fees": money_str(summary.fees),
                "refunds": money_str(summary.refunds),
                "amount_due": money_str(summary.amount_due),
                "remitted": money_str(summary.remitted),
                "outstanding": money_str(summary.outstanding),
            }
        )


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


def submission_body(submission: DaySubmission) -> dict[str, Any]:
    return {
        "id": submission.pk,
        "office": submission.office.code,
        "day": submission.day.isoformat(),
        "due_on": submission.due_on.isoformat(),
        "submitted_on": submission.submitted_on.isoformat(),
        "entries": submission.entries,
        "total": money_str(submission.total),
        "late_working_days": submission.late_working_days,
        "excuse": submission.excuse,
    }


class DaySubmissionsView(APIView):
    @extend_schema(
        summary="The office's days sent to the fee office (报送) in a year",
        parameters=[OpenApiParameter("year", int)],
        responses={200: dict},
    )
    def get(self, request: Request, code: str) -> Response:
        office = _submitting_office(request, code)
        year = optional_int(request.query_params, "year", low=0, high=9999)
        rows = selectors.submissions_of(office, year or timezone.localdate().year)
        return Response({"submissions": [submission_body(s) for s in rows]})

    @extend_schema(
        summary="Send a booking day's data and receipts to the fee office",
        request=DaySubmissionIn,
        responses={201: dict},
    )
    def post(self, request: Request, code: str) -> Response:
        office = _submitting_office(request, code)
        data = DaySubmissionIn(data=request.data)
        data.is_valid(raise_exception=True)
        submission = services.submit_day(
            office=office, day=data.validated_data["day"], actor=request.user
        )
        return Response(submission_body(submission), status=201)


class ExcuseDelayView(APIView):
    @extend_schema(
        summary="The fee office accepts a reason for a late day",
        request=ExcuseIn,
        responses={200: dict},
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
        return Response(submission_body(excused))


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
