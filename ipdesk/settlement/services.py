"""Every write of monthly settlement (seed 004, 月结算 / 汇款 / 重新结算 / 利息 / 罚款).

- The fee office (a fee clerk, 收费处) issues each agency office's monthly statement from
  the office's reviewed entries booked in the month and the refunds approved in it.
- The office's staff confirm it, or dispute it with the differences they found. The fee
  office then issues a corrected statement (a new revision; the disputed one is superseded)
  within three working days of the dispute (三日内: read as working days, computed with the
  official calendar; a year the calendar does not know is refused).
- Remit deadline (壹周内): one week is read as 7 calendar days after the day the office
  accepted (confirmed) the statement, for a first and a corrected statement alike. The
  regulation says "一周", not "七个工作日", so no working-day shift is applied.
- Remittances are recorded by the office; the statement is reconciled when their sum equals
  the amount due, stays "remitted partially" below it, and is flagged "overpaid" above it
  with the excess recorded on the statement and on the remittance that crossed the amount.
- Interest is declared and handed over in full, separately from the statement (see
  ``InterestDeclaration``).
- Each booking day's data is sent to the fee office (报送) by the next working day, once
  every entry of the day is reviewed; a late day is fined (see ``selectors.penalties``)
  unless the fee office accepts a reason for the delay.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipdesk.accounts import policy
from ipdesk.accounts.models import Organisation, OrganisationKind, User
from ipdesk.audit.services import record_event
from ipdesk.collection import selectors as collection_selectors
from ipdesk.collection.models import LedgerAccount, Payment, PaymentStatus, Volume, VolumeStatus
from ipdesk.collection.services import post_journal
from ipdesk.core.calendar import calendar
from ipdesk.core.errors import Conflict, InvalidInput
from ipdesk.core.money import ZERO, round_money, to_money

from . import selectors
from .models import (
    DaySubmission,
    InterestDeclaration,
    MonthlyStatement,
    PenaltyDecision,
    Remittance,
    StatementStatus,
)

REMIT_DAYS = 7  # 壹周: seven calendar days after acceptance
CORRECTION_WORKING_DAYS = 3  # 三日内: three working days after the dispute
DEDUCTION_RATE = Decimal("0.20")  # 扣除代办处当年的20%

REMITTABLE = {StatementStatus.CONFIRMED, StatementStatus.REMITTED_PARTIALLY}


# --- amounts -------------------------------------------------------------------------


def _positive_amount(
    value: Any, name: str, not_positive: Any, errors: dict[str, Any]
) -> Decimal | None:
    """The amount as money if it is one and more than zero; else the error under ``name``."""
    try:
        money = to_money(value)
    except (TypeError, ValidationError) as exc:
        errors[name] = getattr(exc, "messages", [_("Enter an amount in yuan.")])
        return None
    if money <= ZERO:
        errors[name] = not_positive
        return None
    return money


# --- statements ------------------------------------------------------------------------


def parse_month(value: str | dt.date, field: str = "month") -> dt.date:
    """The first day of a month given as ``YYYY-MM`` or as any date in it."""
    if isinstance(value, dt.date):
        return value.replace(day=1)
    try:
        return dt.datetime.strptime(value.strip(), "%Y-%m").date()
    except (ValueError, AttributeError):
        message = _("Enter a month as YYYY-MM, such as 2025-09.")
        raise InvalidInput(fields={field: message}) from None


def check_month_closed(month: dt.date) -> None:
    if selectors.month_end(month) >= timezone.localdate():
        raise InvalidInput(
            fields={"month": _("A month is settled only after its last day has passed.")}
        )


def _fill(statement: MonthlyStatement) -> MonthlyStatement:
    figures = selectors.month_figures(statement.office, statement.month)
    statement.fee_lines = figures.fee_lines
    statement.channel_lines = figures.channel_lines
    statement.entries = figures.entries
    statement.fees_total = figures.fees
    statement.refunds_total = figures.refunds
    statement.amount_due = figures.fees - figures.refunds
    return statement


def _statement_payload(statement: MonthlyStatement) -> dict[str, Any]:
    return {
        "office": statement.office.code,
        "month": f"{statement.month:%Y-%m}",
        "revision": statement.revision,
        "fees": statement.fees_total,
        "refunds": statement.refunds_total,
        "amount_due": statement.amount_due,
    }


def _issue(office: Organisation, month: dt.date, actor: User | None) -> MonthlyStatement:
    if office.kind != OrganisationKind.AGENCY_OFFICE:
        raise InvalidInput(fields={"office": _("Statements are issued to agency offices.")})
    with transaction.atomic():
        # Lock the office row so that two issuers of the same month run one after the other.
        Organisation.objects.select_for_update().get(pk=office.pk)
        if MonthlyStatement.objects.filter(office=office, month=month).exists():
            raise Conflict(
                _("The statement of %(office)s for %(month)s has already been issued.")
                % {"office": office.name, "month": f"{month:%Y-%m}"},
                code="already_issued",
            )
        statement = _fill(
            MonthlyStatement(
                office=office, month=month, issued_by=actor, issued_on=timezone.localdate()
            )
        )
        statement.save()
        record_event(
            "settlement.statement.issued",
            actor=actor,
            actor_label="" if actor else "system (settlement close-month)",
            obj=statement,
            payload=_statement_payload(statement),
        )
    return statement


def issue_statement(office: Organisation, month: str | dt.date, actor: User) -> MonthlyStatement:
    """Issue the office's first statement of ``month``; refused if one exists."""
    policy.require(actor, policy.FEE_OFFICE_CLERK, _("issue statements"))
    first = parse_month(month)
    check_month_closed(first)
    return _issue(office, first, actor)


def close_month(
    month: str | dt.date, *, actor: User | None = None, offices: Iterable[Organisation] = ()
) -> list[tuple[Organisation, MonthlyStatement | None]]:
    """Issue the statement of every active agency office not yet issued for ``month``.

    Returns each office with its new statement, or ``None`` when one already existed.
    ``actor`` None is the operator's command line (recorded as the system).
    """
    if actor is not None:
        policy.require(actor, policy.FEE_OFFICE_CLERK, _("issue statements"))
    first = parse_month(month)
    check_month_closed(first)
    out: list[tuple[Organisation, MonthlyStatement | None]] = []
    for office in offices or selectors.agency_offices():
        if MonthlyStatement.objects.filter(office=office, month=first).exists():
            out.append((office, None))
            continue
        out.append((office, _issue(office, first, actor)))
    return out


def _locked(statement: MonthlyStatement) -> MonthlyStatement:
    return (
        MonthlyStatement.objects.select_for_update().select_related("office").get(pk=statement.pk)
    )


def confirm_statement(statement: MonthlyStatement, *, actor: User) -> MonthlyStatement:
    """The office accepts the statement; the remit deadline starts (7 calendar days)."""
    policy.require(actor, policy.OFFICE_ACCOUNTS, _("confirm statements"), office=statement.office)
    with transaction.atomic():
        locked = _locked(statement)
        if locked.status != StatementStatus.ISSUED:
            raise Conflict(_("Only an issued statement can be confirmed or disputed."))
        today = timezone.localdate()
        locked.status = StatementStatus.CONFIRMED
        locked.accepted_by = actor
        locked.accepted_on = today
        locked.remit_deadline = today + dt.timedelta(days=REMIT_DAYS)
        if locked.amount_due == ZERO:
            # Nothing to remit (a month without fees): settled on acceptance.
            locked.status = StatementStatus.RECONCILED
            locked.completed_on = today
        elif locked.amount_due < ZERO:
            # Refunds of fees already handed over exceed the month's fees: the fee office
            # owes the difference back, shown as an excess like an overpayment.
            locked.status = StatementStatus.OVERPAID
            locked.excess_amount = -locked.amount_due
            locked.completed_on = today
        locked.save()
        record_event(
            "settlement.statement.confirmed",
            actor=actor,
            obj=locked,
            payload={"remit_deadline": locked.remit_deadline.isoformat()},
        )
    return locked


def dispute_statement(
    statement: MonthlyStatement, *, differences: str, actor: User
) -> MonthlyStatement:
    """The office reports that the statement is wrong; a corrected one is due in 3 working days."""
    policy.require(actor, policy.OFFICE_ACCOUNTS, _("dispute statements"), office=statement.office)
    text = (differences or "").strip()
    if not text:
        raise InvalidInput(
            fields={"differences": _("Describe the differences found against the office's data.")}
        )
    today = timezone.localdate()
    due = calendar.add_working_days(today, CORRECTION_WORKING_DAYS)  # unknown year: refused
    with transaction.atomic():
        locked = _locked(statement)
        if locked.status != StatementStatus.ISSUED:
            raise Conflict(_("Only an issued statement can be confirmed or disputed."))
        locked.status = StatementStatus.DISPUTED
        locked.disputed_by = actor
        locked.disputed_on = today
        locked.differences = text
        locked.correction_due_on = due
        locked.save()
        record_event(
            "settlement.statement.disputed",
            actor=actor,
            obj=locked,
            payload={"differences": text, "correction_due_on": due.isoformat()},
        )
    return locked


def issue_corrected_statement(statement: MonthlyStatement, *, actor: User) -> MonthlyStatement:
    """A new revision, recomputed from the entries as they stand now, superseding ``statement``."""
    policy.require(actor, policy.FEE_OFFICE_CLERK, _("issue statements"))
    with transaction.atomic():
        locked = _locked(statement)
        if locked.status != StatementStatus.DISPUTED:
            raise Conflict(_("Only a disputed statement is replaced by a corrected one."))
        corrected = _fill(
            MonthlyStatement(
                office=locked.office,
                month=locked.month,
                revision=locked.revision + 1,
                supersedes=locked,
                issued_by=actor,
                issued_on=timezone.localdate(),
                due_on=locked.correction_due_on,
            )
        )
        corrected.save()
        locked.status = StatementStatus.SUPERSEDED
        locked.save(update_fields=["status"])
        payload = _statement_payload(corrected)
        payload["supersedes"] = locked.pk
        payload["due_on"] = corrected.due_on.isoformat() if corrected.due_on else None
        record_event("settlement.statement.corrected", actor=actor, obj=corrected, payload=payload)
    return corrected


# --- remittances -----------------------------------------------------------------------


def record_remittance(
    statement: MonthlyStatement,
    *,
    bank_reference: str,
    remitted_on: dt.date | None,
    amount: Decimal | int | str,
    actor: User,
) -> Remittance:
    """The office records a transfer against an accepted statement."""
    policy.require(actor, policy.OFFICE_ACCOUNTS, _("record remittances"), office=statement.office)
    errors: dict[str, Any] = {}
    reference = (bank_reference or "").strip()
    if not reference:
        errors["bank_reference"] = _("Enter the bank reference of the transfer.")
    if remitted_on is None:
        errors["remitted_on"] = _("Enter the date of the transfer.")
    elif remitted_on > timezone.localdate():
        errors["remitted_on"] = _("A remittance date cannot be in the future.")
    money = _positive_amount(amount, "amount", _("A remittance is more than zero."), errors)
    if errors:
        raise InvalidInput(fields=errors)
    assert money is not None and remitted_on is not None
    with transaction.atomic():
        locked = _locked(statement)
        if locked.status not in REMITTABLE:
            raise Conflict(
                _("Remittances are recorded against a confirmed statement not yet fully paid.")
            )
        if locked.accepted_on is not None and remitted_on < locked.accepted_on:
            raise InvalidInput(
                fields={
                    "remitted_on": _(
                        "A remittance against this statement is dated on or after the day "
                        "the statement was accepted (%(day)s)."
                    )
                    % {"day": locked.accepted_on.isoformat()}
                }
            )
        outstanding = locked.amount_due - locked.remitted_total
        excess = max(money - outstanding, ZERO)
        try:
            with transaction.atomic():
                remittance = Remittance.objects.create(
                    statement=locked,
                    office=locked.office,
                    bank_reference=reference,
                    remitted_on=remitted_on,
                    amount=money,
                    excess=excess,
                    recorded_by=actor,
                )
        except IntegrityError as exc:
            raise Conflict(
                _("This bank reference has already been recorded."), code="duplicate_reference"
            ) from exc
        # Paid out of the office's bank account; an excess leaves fees payable in debit,
        # i.e. owed back by the fee office, until it is set off or returned.
        post_journal(
            office=locked.office,
            posted_on=remitted_on,
            memo=f"remittance {reference} ({locked.month:%Y-%m})",
            lines=[(LedgerAccount.FEES_PAYABLE, money, ZERO), (LedgerAccount.BANK, ZERO, money)],
        )
        locked.remitted_total += money
        if locked.remitted_total < locked.amount_due:
            locked.status = StatementStatus.REMITTED_PARTIALLY
        else:
            locked.completed_on = remitted_on
            if locked.remitted_total == locked.amount_due:
                locked.status = StatementStatus.RECONCILED
            else:
                locked.status = StatementStatus.OVERPAID
                locked.excess_amount = locked.remitted_total - locked.amount_due
        locked.save()
        record_event(
            "settlement.remittance.recorded",
            actor=actor,
            obj=remittance,
            payload={
                "statement": locked.pk,
                "bank_reference": reference,
                "remitted_on": remitted_on.isoformat(),
                "amount": money,
                "excess": excess,
                "status": locked.status,
            },
        )
    statement.refresh_from_db()
    return remittance


# --- interest --------------------------------------------------------------------------


def declare_interest(
    office: Organisation,
    month: str | dt.date,
    *,
    amount: Decimal | int | str,
    explanation: str,
    bank_reference: str,
    remitted_on: dt.date | None,
    actor: User,
) -> InterestDeclaration:
    """Interest of the office's fee account for a month, handed over in full with its reason."""
    policy.require(actor, policy.OFFICE_ACCOUNTS, _("declare interest"), office=office)
    errors: dict[str, Any] = {}
    first: dt.date | None = None
    try:
        first = parse_month(month)
    except InvalidInput as exc:
        errors.update(exc.fields)
    money = _positive_amount(amount, "amount", _("Interest handed over is more than zero."), errors)
    text = (explanation or "").strip()
    if not text:
        errors["explanation"] = _("Explain in writing how the interest arose.")
    reference = (bank_reference or "").strip()
    if not reference:
        errors["bank_reference"] = _("Enter the bank reference of the transfer.")
    if remitted_on is None:
        errors["remitted_on"] = _("Enter the date of the transfer.")
    elif remitted_on > timezone.localdate():
        errors["remitted_on"] = _("A remittance date cannot be in the future.")
    elif first is not None and first > remitted_on:
        errors["month"] = _(
            "Interest is handed over after it was earned: the month must have begun."
        )
    if errors:
        raise InvalidInput(fields=errors)
    assert first is not None and money is not None and remitted_on is not None
    try:
        with transaction.atomic():
            declaration = InterestDeclaration.objects.create(
                office=office,
                month=first,
                amount=money,
                explanation=text,
                bank_reference=reference,
                remitted_on=remitted_on,
                declared_by=actor,
            )
            # Earned in the month (at the latest on its last day), handed over in full.
            earned_on = min(selectors.month_end(first), remitted_on)
            post_journal(
                office=office,
                posted_on=earned_on,
                memo=f"interest {first:%Y-%m}",
                lines=[
                    (LedgerAccount.BANK, money, ZERO),
                    (LedgerAccount.INTEREST_PAYABLE, ZERO, money),
                ],
            )
            post_journal(
                office=office,
                posted_on=remitted_on,
                memo=f"interest {first:%Y-%m} remitted {reference}",
                lines=[
                    (LedgerAccount.INTEREST_PAYABLE, money, ZERO),
                    (LedgerAccount.BANK, ZERO, money),
                ],
            )
            record_event(
                "settlement.interest.declared",
                actor=actor,
                obj=declaration,
                payload={"month": f"{first:%Y-%m}", "amount": money, "explanation": text},
            )
    except IntegrityError as exc:
        raise Conflict(_("Interest for this month has already been declared.")) from exc
    return declaration


# --- penalties -------------------------------------------------------------------------


def decide_deduction(
    office: Organisation,
    year: int,
    *,
    reference: str,
    base_amount: Decimal | int | str,
    reason: str,
    actor: User,
) -> PenaltyDecision:
    """The fee office deducts 20 % for fees misappropriated or withheld (挪用、滞留)."""
    policy.require(actor, policy.FEE_OFFICE_CLERK, _("decide penalties"))
    errors: dict[str, Any] = {}
    ref = (reference or "").strip()
    if not ref:
        errors["reference"] = _("Enter the reference of the decision.")
    base = _positive_amount(
        base_amount, "base_amount", _("The base of a deduction is more than zero."), errors
    )
    if not (reason or "").strip():
        errors["reason"] = _("Give the reason for the decision.")
    if office.kind != OrganisationKind.AGENCY_OFFICE:
        errors["office"] = _("Penalties apply to agency offices.")
    if not 2000 <= year <= timezone.localdate().year:
        errors["year"] = _("Enter a past or the current year.")
    if errors:
        raise InvalidInput(fields=errors)
    assert base is not None
    try:
        with transaction.atomic():
            decision = PenaltyDecision.objects.create(
                office=office,
                year=year,
                reference=ref,
                base_amount=base,
                rate=DEDUCTION_RATE,
                amount=round_money(base * DEDUCTION_RATE),
                reason=reason.strip(),
                decided_by=actor,
                decided_on=timezone.localdate(),
            )
            record_event(
                "settlement.penalty.decided",
                actor=actor,
                obj=decision,
                payload={"reference": ref, "year": year, "amount": decision.amount},
            )
    except IntegrityError as exc:
        raise Conflict(_("A decision with this reference already exists.")) from exc
    return decision


# --- the days' data sent to the fee office (报送) -------------------------------------------


def submit_day(*, office: Organisation, day: dt.date, actor: User) -> DaySubmission:
    """Send the office's data of a booking day to the fee office, once it is all reviewed."""
    policy.require(actor, policy.BOOKKEEPING, _("send the day's data"), office=office)
    today = timezone.localdate()
    if day > today:
        raise InvalidInput(fields={"day": _("A day in the future cannot be sent.")})
    due = selectors.submission_due(day)  # a year the calendar does not know is refused here
    with transaction.atomic():
        Organisation.objects.select_for_update().get(pk=office.pk)
        if DaySubmission.objects.filter(office=office, day=day).exists():
            raise Conflict(_("The data of this day has already been sent."), code="already_sent")
        if Volume.objects.filter(office=office, day=day, status=VolumeStatus.OPEN).exists():
            raise Conflict(
                _("Close every volume of the day before sending its data."), code="open_volumes"
            )
        waiting = Payment.objects.filter(
            office=office,
            booked_on=day,
            status__in=[PaymentStatus.ENTERED, PaymentStatus.SENT_BACK],
        ).count()
        if waiting:
            raise Conflict(
                _("%(count)d entries of the day still await review or re-entry.")
                % {"count": waiting},
                code="unreviewed_entries",
            )
        report = collection_selectors.daily_report(office, day)
        submission = DaySubmission.objects.create(
            office=office,
            day=day,
            due_on=due,
            submitted_on=today,
            submitted_by=actor,
            entries=report.count,
            total=report.total,
            late_working_days=calendar.working_days_between(due, today) if today > due else 0,
        )
        record_event(
            "collection.day.submitted",
            actor=actor,
            obj=submission,
            payload={
                "day": day,
                "due_on": due,
                "entries": report.count,
                "total": report.total,
                "late_working_days": submission.late_working_days,
            },
        )
    return submission


def excuse_late_submission(submission: DaySubmission, *, reason: str, actor: User) -> DaySubmission:
    """The fee office accepts a reason for the delay (the fine is for delay 无故, unjustified)."""
    policy.require(actor, policy.FEE_OFFICE_CLERK, _("excuse a late submission"))
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(fields={"reason": _("Give the reason accepted for the delay.")})
    with transaction.atomic():
        locked = DaySubmission.objects.select_for_update().get(pk=submission.pk)
        if locked.late_working_days == 0:
            raise Conflict(_("This day's data was sent in time; there is nothing to excuse."))
        if locked.excuse:
            raise Conflict(_("The delay of this day has already been excused."))
        locked.excuse = text[:1000]
        locked.excused_by = actor
        locked.excused_on = timezone.localdate()
        locked.save(update_fields=["excuse", "excused_by", "excused_on"])
        record_event(
            "collection.day.delay_excused", actor=actor, obj=locked, payload={"reason": text}
        )
    return locked
