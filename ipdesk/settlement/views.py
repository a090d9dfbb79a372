"""Pages of monthly settlement: the fee office's board and each agency office's statements.

Thin, like the bookkeeping pages: a view parses its form, calls a service (every write) or
a selector (reads), then redirects or re-renders. A refusal by a service is shown with the
service's own message; nothing is written here.

- The fee office (收费处): its clerks issue statements, corrected statements, deductions
  and excuse late data; its auditors and administrators see the same pages read-only.
- An agency office (代办处): its staff see their own office's statements only (another
  office's statement is not found), confirm or dispute them, record remittances, declare
  interest, send each day's data and see their monthly reports and penalties.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ipdesk.accounts import policy
from ipdesk.accounts.models import Organisation, User
from ipdesk.collection.forms import DayForm
from ipdesk.collection.models import Channel
from ipdesk.core.errors import DomainError
from ipdesk.core.pages import choice_label, refusal_text

from . import reports, selectors, services
from .forms import (
    DeductionForm,
    DisputeForm,
    ExcuseForm,
    InterestForm,
    MonthForm,
    RemittanceForm,
    YearForm,
    show_service_errors,
)
from .models import MonthlyStatement, StatementStatus

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOWNLOADS = {"pdf": "application/pdf", "xlsx": XLSX}
TRIAL_COLUMNS = ("opening", "period", "closing")

PENALTY_KINDS = {
    "correction": gettext_lazy("Application numbers corrected through the office's error"),
    "late_data": gettext_lazy("Day data sent late"),
    "late_data_running": gettext_lazy("Day data not sent yet (still running)"),
    "deduction": gettext_lazy("Deduction for fees misappropriated or withheld"),
}


# --- who is asking -----------------------------------------------------------------------


def _own_office(request: HttpRequest) -> Organisation:
    """The agency office of the signed-in staff; anyone else is refused."""
    office = policy.agency_office_of(request.user)
    if office is None:
        policy.refuse(request, "staff of an agency office")
    return office


def _require_fee_office(request: HttpRequest) -> None:
    if not policy.oversees_all_offices(request.user):
        policy.refuse(request, "the fee office")


def _actor(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # role_required let only signed-in staff through
    return user


def _agency_office(code: str) -> Organisation:
    office = selectors.agency_offices().filter(code=code.strip().upper()).first()
    if office is None:
        raise Http404
    return office


def _visible_statement(request: HttpRequest, pk: int) -> MonthlyStatement:
    """The fee office sees every statement; an office's staff only their own.

    Another office's statement is "not found" rather than refused, so that its number
    tells nothing about the other offices.
    """
    statement = selectors.statement(pk)
    if statement is None:
        raise Http404
    if policy.oversees_all_offices(request.user):
        return statement
    office = _own_office(request)
    if statement.office_id != office.pk:
        raise Http404
    return statement


def _own_statement(request: HttpRequest, pk: int) -> MonthlyStatement:
    """A statement the signed-in office staff act on: their own office's only."""
    _own_office(request)
    return _visible_statement(request, pk)


def _previous_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _month_from(request: HttpRequest) -> tuple[MonthForm, dt.date]:
    """The month asked for in the query (default: the previous month), with its form."""
    default = _previous_month(timezone.localdate())
    form = MonthForm(request.GET if "month" in request.GET else None, initial={"month": default})
    if form.is_bound and form.is_valid():
        return form, form.cleaned_data["month"]
    return form, default


def _year_from(request: HttpRequest) -> tuple[YearForm, int]:
    default = timezone.localdate().year
    form = YearForm(request.GET if "year" in request.GET else None, initial={"year": default})
    if form.is_bound and form.is_valid():
        return form, form.cleaned_data["year"]
    return form, default


def _month_query(month: dt.date, **extra: str) -> str:
    return urlencode({"month": f"{month:%Y-%m}", **extra})


@dataclass
class StatementRow:
    statement: MonthlyStatement
    outstanding: Decimal
    remittance_overdue: bool
    correction_overdue: bool
    delay_days: int

    @property
    def overdue(self) -> bool:
        return self.remittance_overdue or self.correction_overdue

    @classmethod
    def of(cls, statement: MonthlyStatement, today: dt.date) -> StatementRow:
        late = selectors.is_remittance_overdue(statement, today)
        return cls(
            statement=statement,
            outstanding=selectors.outstanding(statement),
            remittance_overdue=late,
            correction_overdue=selectors.is_correction_overdue(statement, today),
            delay_days=selectors.delay_days(statement, today) if late else 0,
        )


def _penalties(office: Organisation, year: int) -> tuple[Any, str]:
    """The office's penalties of the year, or why they cannot be computed (calendar)."""
    try:
        return selectors.penalties(office, year), ""
    except DomainError as exc:
        return None, refusal_text(exc)


def _penalty_rows(result: Any) -> list[tuple[str, Any]]:
    if result is None:
        return []
    return [(str(PENALTY_KINDS.get(item.kind, item.kind)), item) for item in result.items]


# --- an agency office's statements --------------------------------------------------------


def _statements_page(
    request: HttpRequest, office: Organisation, interest_form: InterestForm | None = None
) -> HttpResponse:
    today = timezone.localdate()
    own = policy.agency_office_of(request.user) is not None
    if own and interest_form is None:
        interest_form = InterestForm(
            initial={"month": _previous_month(today), "remitted_on": today}
        )
    return render(
        request,
        "settlement/statements.html",
        {
            "office": office,
            "own": own,
            "rows": [StatementRow.of(s, today) for s in selectors.statements_of(office)],
            "interest_form": interest_form,
            "interest": selectors.interest_of(office, today.year),
            "year": today.year,
        },
    )


@policy.role_required(policy.STAFF)
@require_GET
def statements(request: HttpRequest) -> HttpResponse:
    if policy.oversees_all_offices(request.user):
        return redirect("settlement:board")
    return _statements_page(request, _own_office(request))


@policy.role_required(policy.OVERSIGHT)
@require_GET
def office_statements(request: HttpRequest, code: str) -> HttpResponse:
    _require_fee_office(request)
    return _statements_page(request, _agency_office(code))


@policy.role_required(policy.OFFICE_STAFF)
@require_POST
def declare_interest(request: HttpRequest) -> HttpResponse:
    office = _own_office(request)
    form = InterestForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.declare_interest(
                office,
                data["month"],
                amount=data["amount"],
                explanation=data["explanation"],
                bank_reference=data["bank_reference"],
                remitted_on=data["remitted_on"],
                actor=_actor(request),
            )
        except DomainError as exc:
            show_service_errors(exc, form)
        else:
            messages.success(
                request,
                _("Interest of %(month)s declared.") % {"month": f"{data['month']:%Y-%m}"},
            )
            return redirect("settlement:statements")
    return _statements_page(request, office, interest_form=form)


# --- one statement ------------------------------------------------------------------------


def _statement_page(
    request: HttpRequest,
    statement: MonthlyStatement,
    *,
    dispute_form: DisputeForm | None = None,
    remittance_form: RemittanceForm | None = None,
) -> HttpResponse:
    today = timezone.localdate()
    own = policy.agency_office_of(request.user) is not None
    can_answer = own and statement.status == StatementStatus.ISSUED
    can_remit = own and statement.status in services.REMITTABLE
    return render(
        request,
        "settlement/statement.html",
        {
            "statement": statement,
            "row": StatementRow.of(statement, today),
            "own": own,
            "fee_lines": statement.fee_lines,
            "channel_lines": [
                {**line, "label": choice_label(Channel, str(line.get("channel", "")))}
                for line in statement.channel_lines
            ],
            "remittances": statement.remittances.all(),
            "superseded_by": getattr(statement, "superseded_by", None),
            "can_answer": can_answer,
            "can_remit": can_remit,
            "can_correct": policy.allows(request.user, policy.FEE_OFFICE_CLERK)
            and statement.status == StatementStatus.DISPUTED,
            # A form sent back with its errors is shown even when the statement has moved on
            # meanwhile (answered in another window): its error says why nothing was done.
            "dispute_form": dispute_form
            if dispute_form is not None
            else (DisputeForm() if can_answer else None),
            "remittance_form": remittance_form
            if remittance_form is not None
            else (RemittanceForm(initial={"remitted_on": today}) if can_remit else None),
        },
    )


@policy.role_required(policy.STAFF)
@require_GET
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _statement_page(request, _visible_statement(request, pk))


@policy.role_required(policy.OFFICE_STAFF)
@require_POST
def confirm(request: HttpRequest, pk: int) -> HttpResponse:
    statement = _own_statement(request, pk)
    try:
        confirmed = services.confirm_statement(statement, actor=_actor(request))
    except DomainError as exc:
        messages.error(request, refusal_text(exc))
    else:
        messages.success(
            request,
            _("Statement confirmed. Remit the amount due by %(day)s.")
            % {"day": confirmed.remit_deadline.isoformat() if confirmed.remit_deadline else "—"},
        )
    return redirect("settlement:statement", pk=statement.pk)


@policy.role_required(policy.OFFICE_STAFF)
@require_POST
def dispute(request: HttpRequest, pk: int) -> HttpResponse:
    statement = _own_statement(request, pk)
    form = DisputeForm(request.POST)
    if form.is_valid():
        try:
            disputed = services.dispute_statement(
                statement, differences=form.cleaned_data["differences"], actor=_actor(request)
            )
        except DomainError as exc:
            show_service_errors(exc, form)
        else:
            messages.success(
                request,
                _("Statement disputed. The fee office sends a corrected one by %(day)s.")
                % {
                    "day": disputed.correction_due_on.isoformat()
                    if disputed.correction_due_on
                    else "—"
                },
            )
            return redirect("settlement:statement", pk=statement.pk)
    return _statement_page(request, statement, dispute_form=form)


@policy.role_required(policy.OFFICE_STAFF)
@require_POST
def remit(request: HttpRequest, pk: int) -> HttpResponse:
    statement = _own_statement(request, pk)
    form = RemittanceForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.record_remittance(
                statement,
                bank_reference=data["bank_reference"],
                remitted_on=data["remitted_on"],
                amount=data["amount"],
                actor=_actor(request),
            )
        except DomainError as exc:
            show_service_errors(exc, form)
        else:
            statement.refresh_from_db()
            messages.success(
                request,
                _("Remittance recorded. Status: %(status)s.")
                % {"status": statement.get_status_display()},
            )
            return redirect("settlement:statement", pk=statement.pk)
    return _statement_page(request, statement, remittance_form=form)


@policy.role_required(policy.FEE_CLERKS)
@require_POST
def correct(request: HttpRequest, pk: int) -> HttpResponse:
    _require_fee_office(request)
    statement = _visible_statement(request, pk)
    try:
        corrected = services.issue_corrected_statement(statement, actor=_actor(request))
    except DomainError as exc:
        messages.error(request, refusal_text(exc))
        return redirect("settlement:statement", pk=statement.pk)
    messages.success(
        request,
        _("Corrected statement r%(revision)s issued to %(office)s.")
        % {"revision": corrected.revision, "office": corrected.office.name},
    )
    return redirect("settlement:statement", pk=corrected.pk)


# --- monthly reports ----------------------------------------------------------------------


@policy.role_required(policy.OFFICE_STAFF)
@require_GET
def monthly_reports(request: HttpRequest) -> HttpResponse:
    office = _own_office(request)
    form, month = _month_from(request)
    result, error = None, ""
    try:
        result = selectors.monthly_reports(office, month)
    except DomainError as exc:
        error = refusal_text(exc)
    totals = [result.trial_balance.total(c) for c in TRIAL_COLUMNS] if result else []
    download = reverse("settlement:reports-download", args=[office.code])
    return render(
        request,
        "settlement/reports.html",
        {
            "office": office,
            "form": form,
            "month": month,
            "reports": result,
            "trial_totals": totals,
            "error": error,
            "pdf_url": f"{download}?{_month_query(month, format='pdf')}",
            "xlsx_url": f"{download}?{_month_query(month, format='xlsx')}",
        },
    )


@policy.role_required(policy.STAFF)
@require_GET
def reports_download(request: HttpRequest, code: str) -> HttpResponse:
    """The office's monthly reports as PDF or Excel: its own staff and the fee office."""
    if policy.oversees_all_offices(request.user):
        office, back = _agency_office(code), reverse("settlement:board")
    else:
        office, back = _own_office(request), reverse("settlement:reports")
        if office.code != code.strip().upper():
            raise Http404
    form = MonthForm(request.GET)
    fmt = request.GET.get("format", "")
    if not form.is_valid() or fmt not in DOWNLOADS:
        messages.error(request, _("Choose a month (YYYY-MM) and PDF or Excel."))
        return redirect(back)
    try:
        result = selectors.monthly_reports(office, form.cleaned_data["month"])
    except DomainError as exc:
        messages.error(request, refusal_text(exc))
        return redirect(back)
    render_as = reports.monthly_reports_pdf if fmt == "pdf" else reports.monthly_reports_xlsx
    content = render_as(result)
    response = HttpResponse(content, content_type=DOWNLOADS[fmt])
    name = f"monthly-reports-{office.code}-{result.month:%Y-%m}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- the day's data and the office's penalties -------------------------------------------


@policy.role_required(policy.OFFICE_STAFF)
@require_http_methods(["GET", "POST"])
def days(request: HttpRequest) -> HttpResponse:
    office = _own_office(request)
    year_form, year = _year_from(request)
    if request.method == "POST":
        form = DayForm(request.POST)
        if form.is_valid():
            day = form.cleaned_data["day"]
            try:
                sent = services.submit_day(office=office, day=day, actor=_actor(request))
            except DomainError as exc:
                show_service_errors(exc, form)
            else:
                if sent.late_working_days:
                    messages.warning(
                        request,
                        _("The data of %(day)s is sent, %(n)d working day(s) late.")
                        % {"day": day.isoformat(), "n": sent.late_working_days},
                    )
                else:
                    messages.success(
                        request, _("The data of %(day)s is sent.") % {"day": day.isoformat()}
                    )
                return redirect(f"{reverse('settlement:days')}?{urlencode({'year': day.year})}")
    else:
        form = DayForm(initial={"day": timezone.localdate()})
    result, error = _penalties(office, year)
    return render(
        request,
        "settlement/days.html",
        {
            "office": office,
            "form": form,
            "year_form": year_form,
            "year": year,
            "submissions": selectors.submissions_of(office, year),
            "penalties": result,
            "penalty_rows": _penalty_rows(result),
            "penalties_error": error,
        },
    )


# --- the fee office -----------------------------------------------------------------------


@dataclass
class BoardRow:
    office_month: selectors.OfficeMonth
    can_correct: bool


def _board_page(
    request: HttpRequest,
    month_form: MonthForm,
    month: dt.date,
    close_form: MonthForm | None = None,
) -> HttpResponse:
    today = timezone.localdate()
    clerk = policy.has_role(request.user, policy.FEE_CLERKS)
    summary = selectors.national_summary(month, today)
    rows = [
        BoardRow(
            office_month=row,
            can_correct=clerk
            and row.statement is not None
            and row.statement.status == StatementStatus.DISPUTED,
        )
        for row in summary.offices
    ]
    download = reverse("settlement:summary-download")
    return render(
        request,
        "settlement/board.html",
        {
            "form": month_form,
            "month": month,
            "month_param": f"{month:%Y-%m}",
            "summary": summary,
            "rows": rows,
            "entries": sum(row.figures.entries for row in summary.offices),
            "clerk": clerk,
            "month_over": selectors.month_end(month) < today,
            "not_issued": sum(1 for row in summary.offices if row.statement is None),
            "close_form": close_form or MonthForm(initial={"month": month}, auto_id="close_%s"),
            "overdue": [StatementRow.of(s, today) for s in selectors.overdue_statements(today)],
            "pdf_url": f"{download}?{_month_query(month, format='pdf')}",
            "xlsx_url": f"{download}?{_month_query(month, format='xlsx')}",
            "penalty_year": today.year,
        },
    )


@policy.role_required(policy.OVERSIGHT)
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    _require_fee_office(request)
    form, month = _month_from(request)
    return _board_page(request, form, month)


@policy.role_required(policy.FEE_CLERKS)
@require_POST
def close_month(request: HttpRequest) -> HttpResponse:
    _require_fee_office(request)
    form = MonthForm(request.POST, auto_id="close_%s")
    month = _previous_month(timezone.localdate())
    if form.is_valid():
        month = form.cleaned_data["month"]
        try:
            results = services.close_month(month, actor=_actor(request))
        except DomainError as exc:
            show_service_errors(exc, form)
        else:
            issued = sum(1 for _office, statement in results if statement is not None)
            messages.success(
                request,
                _("%(issued)d statements of %(month)s issued; %(skipped)d had been issued before.")
                % {"issued": issued, "month": f"{month:%Y-%m}", "skipped": len(results) - issued},
            )
            return redirect(f"{reverse('settlement:board')}?{_month_query(month)}")
    return _board_page(request, MonthForm(initial={"month": month}), month, close_form=form)


@policy.role_required(policy.OVERSIGHT)
@require_GET
def summary_download(request: HttpRequest) -> HttpResponse:
    _require_fee_office(request)
    form = MonthForm(request.GET)
    fmt = request.GET.get("format", "")
    if not form.is_valid() or fmt not in DOWNLOADS:
        messages.error(request, _("Choose a month (YYYY-MM) and PDF or Excel."))
        return redirect("settlement:board")
    summary = selectors.national_summary(form.cleaned_data["month"])
    render_as = reports.national_summary_pdf if fmt == "pdf" else reports.national_summary_xlsx
    content = render_as(summary)
    response = HttpResponse(content, content_type=DOWNLOADS[fmt])
    name = f"national-summary-{summary.month:%Y-%m}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _penalties_page(
    request: HttpRequest,
    office: Organisation,
    year_form: YearForm,
    year: int,
    *,
    deduction_form: DeductionForm | None = None,
    excuse: tuple[int, ExcuseForm] | None = None,
) -> HttpResponse:
    clerk = policy.has_role(request.user, policy.FEE_CLERKS)
    result, error = _penalties(office, year)
    late = selectors.submissions_of(office, year).filter(late_working_days__gt=0)
    rows = []
    for submission in late:
        form = None
        if clerk and not submission.excuse:
            if excuse is not None and excuse[0] == submission.pk:
                form = excuse[1]
            else:
                form = ExcuseForm(auto_id=f"id_excuse_{submission.pk}_%s")
        rows.append((submission, form))
    return render(
        request,
        "settlement/penalties.html",
        {
            "office": office,
            "offices": selectors.agency_offices(),
            "year_form": year_form,
            "year": year,
            "penalties": result,
            "penalty_rows": _penalty_rows(result),
            "penalties_error": error,
            "late": rows,
            "clerk": clerk,
            "deduction_form": deduction_form
            or (DeductionForm(initial={"year": year}) if clerk else None),
        },
    )


@policy.role_required(policy.OVERSIGHT)
@require_GET
def penalties(request: HttpRequest, code: str) -> HttpResponse:
    _require_fee_office(request)
    office = _agency_office(code)
    year_form, year = _year_from(request)
    return _penalties_page(request, office, year_form, year)


def _penalties_url(office: Organisation, year: int) -> str:
    return f"{reverse('settlement:penalties', args=[office.code])}?{urlencode({'year': year})}"


@policy.role_required(policy.FEE_CLERKS)
@require_POST
def deduction(request: HttpRequest, code: str) -> HttpResponse:
    _require_fee_office(request)
    office = _agency_office(code)
    form = DeductionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            decision = services.decide_deduction(
                office,
                data["year"],
                reference=data["reference"],
                base_amount=data["base_amount"],
                reason=data["reason"],
                actor=_actor(request),
            )
        except DomainError as exc:
            show_service_errors(exc, form)
        else:
            messages.success(
                request,
                _("Deduction %(reference)s of %(amount)s yuan recorded.")
                % {"reference": decision.reference, "amount": decision.amount},
            )
            return redirect(_penalties_url(office, decision.year))
    year = form.cleaned_data.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        year = timezone.localdate().year
    year_form = YearForm(initial={"year": year})
    return _penalties_page(request, office, year_form, year, deduction_form=form)


@policy.role_required(policy.FEE_CLERKS)
@require_POST
def excuse(request: HttpRequest, pk: int) -> HttpResponse:
    _require_fee_office(request)
    submission = selectors.submission(pk)
    if submission is None:
        raise Http404
    form = ExcuseForm(request.POST, auto_id=f"id_excuse_{submission.pk}_%s")
    if form.is_valid():
        try:
            services.excuse_late_submission(
                submission, reason=form.cleaned_data["reason"], actor=_actor(request)
            )
        except DomainError as exc:
            show_service_errors(exc, form)
        else:
            messages.success(
                request,
                _("The delay of %(day)s is excused; it is no longer fined.")
                % {"day": submission.day.isoformat()},
            )
            return redirect(_penalties_url(submission.office, submission.day.year))
    year = submission.day.year
    return _penalties_page(
        request,
        submission.office,
        YearForm(initial={"year": year}),
        year,
        excuse=(submission.pk, form),
    )
