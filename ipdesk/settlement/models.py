"""Monthly settlement between the fee office (收费处) and each agency office (代办处).

A statement (月结算单) is computed, never typed in; a wrong one is never edited but replaced
by a new revision that points at it. Remittances, interest declarations and penalty
decisions are append-only records. The offices' days of data sent to the fee office (报送)
live here too, beside the fine for sending them late.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ipdesk.accounts.models import Organisation
from ipdesk.core.fields import MoneyField


class StatementStatus(models.TextChoices):
    ISSUED = "issued", _("Issued")
    CONFIRMED = "confirmed", _("Confirmed by the office")
    DISPUTED = "disputed", _("Disputed by the office")
    SUPERSEDED = "superseded", _("Superseded by a corrected statement")
    REMITTED_PARTIALLY = "remitted_partially", _("Remitted partially")
    RECONCILED = "reconciled", _("Reconciled")
    OVERPAID = "overpaid", _("Remitted in excess")


class MonthlyStatement(models.Model):
    """月结算单 of one agency office and month; ``revision`` counts corrected statements."""

    office = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="statements")
    month = models.DateField(_("month (its first day)"))
    revision = models.PositiveSmallIntegerField(_("revision"), default=1)
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        verbose_name=_("corrects the statement"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=StatementStatus.choices, default=StatementStatus.ISSUED
    )
    fee_lines = models.JSONField(_("totals by fee type"), default=list)
    channel_lines = models.JSONField(_("totals by channel"), default=list)
    entries = models.PositiveIntegerField(_("reviewed entries"), default=0)
    fees_total = models.DecimalField(_("fees"), max_digits=15, decimal_places=2)
    refunds_total = models.DecimalField(_("approved refunds"), max_digits=15, decimal_places=2)
    amount_due = models.DecimalField(_("amount due"), max_digits=15, decimal_places=2)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    issued_at = models.DateTimeField(_("issued"), auto_now_add=True)
    issued_on = models.DateField(_("issued on"))
    # For a corrected statement: the day the fee office had to send it by (三日内).
    due_on = models.DateField(_("due by"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    accepted_on = models.DateField(_("accepted on"), null=True, blank=True)
    remit_deadline = models.DateField(_("remit by"), null=True, blank=True)
    disputed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    disputed_on = models.DateField(_("disputed on"), null=True, blank=True)
    differences = models.TextField(_("differences found"), blank=True)
    correction_due_on = models.DateField(_("corrected statement due by"), null=True, blank=True)
    remitted_total = models.DecimalField(_("remitted"), max_digits=15, decimal_places=2, default=0)
    excess_amount = models.DecimalField(
        _("remitted in excess"), max_digits=15, decimal_places=2, default=0
    )
    completed_on = models.DateField(_("fully remitted on"), null=True, blank=True)

    class Meta:
        verbose_name = _("monthly statement")
        verbose_name_plural = _("monthly statements")
        ordering = ["office", "month", "revision"]
        constraints = [
            models.UniqueConstraint(
                fields=["office", "month", "revision"], name="statement_office_month_revision"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.office.code} {self.month:%Y-%m} r{self.revision}"


class Remittance(models.Model):
    """A bank transfer from the office's account to the fee office against a statement."""

    statement = models.ForeignKey(
        MonthlyStatement, on_delete=models.PROTECT, related_name="remittances"
    )
    office = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    bank_reference = models.CharField(_("bank reference"), max_length=100)
    remitted_on = models.DateField(_("remittance date"))
    amount = models.DecimalField(_("amount"), max_digits=15, decimal_places=2)
    # The part of this remittance above what was still due (flagged, never dropped).
    excess = models.DecimalField(_("in excess"), max_digits=15, decimal_places=2, default=0)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("remittance")
        verbose_name_plural = _("remittances")
        ordering = ["remitted_on", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="remittance_positive"),
            models.UniqueConstraint(
                fields=["office", "bank_reference"], name="remittance_office_reference"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank_reference} {self.amount}"


class InterestDeclaration(models.Model):
    """Interest earned on the office's fee account, handed over in full (专利费滋生利息).

    Tracked separately from the statement: the statement is the fee data of the month and
    must match the office's own books; interest is declared, with its written explanation,
    and remitted in full under its own bank reference.
    """

    office = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    month = models.DateField(_("month (its first day)"))
    amount = models.DecimalField(_("amount"), max_digits=15, decimal_places=2)
    explanation = models.TextField(_("explanation"))
    bank_reference = models.CharField(_("bank reference"), max_length=100)
    remitted_on = models.DateField(_("remittance date"))
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    declared_at = models.DateTimeField(_("declared"), auto_now_add=True)

    class Meta:
        verbose_name = _("interest declaration")
        verbose_name_plural = _("interest declarations")
        constraints = [
            models.UniqueConstraint(fields=["office", "month"], name="interest_office_month"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="interest_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.office.code} {self.month:%Y-%m} {self.amount}"


class PenaltyDecision(models.Model):
    """The fee office's decision to deduct 20 % for misappropriated or withheld fees."""

    office = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    reference = models.CharField(_("decision reference"), max_length=100, unique=True)
    base_amount = models.DecimalField(_("base amount"), max_digits=15, decimal_places=2)
    rate = models.DecimalField(_("rate"), max_digits=5, decimal_places=4)
    amount = models.DecimalField(_("amount"), max_digits=15, decimal_places=2)
    reason = models.TextField(_("reason"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    decided_on = models.DateField(_("decided on"))
    decided_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("penalty decision")
        verbose_name_plural = _("penalty decisions")

    def __str__(self) -> str:
        return self.reference


class DaySubmission(models.Model):
    """The office's data of one booking day sent to the fee office (报送), receipts with it.

    Seed 004 has the office send its three daily reports with the day's receipts every day
    and fines 200 yuan per day of unjustified delay (无故延误). The figures sent are kept as
    they were at submission; ``late_working_days`` is fixed when it is sent.
    """

    office = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("booking day"))
    due_on = models.DateField(_("due by"))
    submitted_on = models.DateField(_("sent on"))
    submitted_at = models.DateTimeField(_("sent"), auto_now_add=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    entries = models.PositiveIntegerField(_("entries"))
    total = MoneyField(_("total"))
    late_working_days = models.PositiveSmallIntegerField(_("working days late"), default=0)
    excuse = models.TextField(_("reason accepted for the delay"), blank=True)
    excused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    excused_on = models.DateField(_("delay excused on"), null=True, blank=True)

    class Meta:
        ordering = ["office", "day"]
        verbose_name = _("day submission")
        verbose_name_plural = _("day submissions")
        constraints = [
            models.UniqueConstraint(fields=["office", "day"], name="day_submission_office_day"),
        ]

    def __str__(self) -> str:
        return f"{self.office.code} {self.day}"
