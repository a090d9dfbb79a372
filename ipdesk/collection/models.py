"""Bookkeeping at the agency offices and the fee office (seed 004, reference §5 and §7).

Booked payments are append-only: their data never changes after entry. What changes is
their ``status`` (entered → reviewed, or sent back, or corrected), each change audited; a
correction is a reversal entry plus a replacement entry pointing at the original, and a
refund is an entry of its own with its own approval.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ipdesk.accounts.models import Organisation
from ipdesk.core.fields import MoneyField
from ipdesk.tariff.models import FeeType


class VolumeKind(models.TextChoices):
    COUNTER = "counter", _("Counter (面交)")
    POST = "post", _("Post (邮局)")
    BANK = "bank", _("Bank (银行)")
    ONLINE = "online", _("Online (网上缴费)")
    CORRECTION = "correction", _("Correction (更正)")
    TRANSFER = "transfer", _("Transfer (转帐)")
    MONTH_END = "month_end", _("Month-end special voucher (月末特殊凭证)")


class Channel(models.TextChoices):
    COUNTER = "counter", _("Counter")
    POST = "post", _("Post")
    BANK = "bank", _("Bank transfer")
    ONLINE = "online", _("Online")


class VolumeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    REVIEWED = "reviewed", _("Reviewed")


class Volume(models.Model):
    """A bookkeeping volume (记账卷) of one office, day and kind."""

    office = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="volumes")
    kind = models.CharField(_("kind"), max_length=12, choices=VolumeKind.choices)
    day = models.DateField(_("day"))
    number = models.PositiveSmallIntegerField(_("number"), default=1)
    status = models.CharField(
        _("status"), max_length=10, choices=VolumeStatus.choices, default=VolumeStatus.OPEN
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)

    class Meta:
        ordering = ["-day", "office", "kind", "number"]
        verbose_name = _("bookkeeping volume")
        verbose_name_plural = _("bookkeeping volumes")
        constraints = [
            models.UniqueConstraint(
                fields=["office", "day", "kind", "number"], name="volume_unique_number"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in VolumeKind]), name="volume_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.office.code}-{self.day:%Y%m%d}-{self.kind}-{self.number}"

    @property
    def label(self) -> str:
        return str(self)


class PayerKind(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")
    UNIT = "unit", _("Unit (organisation)")


class PaymentStatus(models.TextChoices):
    ENTERED = "entered", _("Entered, awaiting review")
    REVIEWED = "reviewed", _("Reviewed")
    SENT_BACK = "sent_back", _("Sent back by the reviewer")
    VOID = "void", _("Void (re-entered)")
    CORRECTED = "corrected", _("Corrected (reversed and replaced)")


class EntryKind(models.TextChoices):
    PAYMENT = "payment", _("Payment")
    REVERSAL = "reversal", _("Reversal of a corrected payment")
    REPLACEMENT = "replacement", _("Replacement of a corrected or sent-back payment")


class PaymentDateRule(models.TextChoices):
    COUNTER_DAY = "counter_day", _("Paid at the counter: the day of payment")
    POSTMARK = "postmark", _("Postal remittance: the postmark date")
    SECOND_POSTMARK = (
        "second_postmark",
        _("Postal remittance resent with the refund slip: the second postmark"),
    )
    BANK_TRANSFER = "bank_transfer", _("Bank transfer with complete information: the transfer date")
    BANK_INFO_COMPLETED = (
        "bank_info_completed",
        _("Bank transfer completed later: the day the correct information arrived"),
    )
    ONLINE = "online", _("Online payment: the date the gateway confirmed")
    CORRECTION = "correction", _("Correction: the payment date of the corrected payment")


class CorrectionCause(models.TextChoices):
    OFFICE_ERROR = "office_error", _("The office's error")
    PAYER_ERROR = "payer_error", _("The payer's error")


class Payment(models.Model):
    volume = models.ForeignKey(Volume, on_delete=models.PROTECT, related_name="payments")
    office = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="payments")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    entry_kind = models.CharField(
        _("entry"), max_length=12, choices=EntryKind.choices, default=EntryKind.PAYMENT
    )
    status = models.CharField(
        _("status"), max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.ENTERED
    )
    payer_name = models.CharField(_("payer"), max_length=200)
    payer_kind = models.CharField(_("payer kind"), max_length=10, choices=PayerKind.choices)
    payer_id_code = models.CharField(_("credit code or ID number"), max_length=18)
    payer_phone = models.CharField(_("mobile number"), max_length=11, blank=True)
    payer_email = models.EmailField(_("e-mail"), blank=True)
    agency = models.ForeignKey(
        Organisation,
        verbose_name=_("patent agency"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="agency_payments",
        limit_choices_to={"kind": "patent_agency"},
        help_text=_("The patent agency (专利代理机构) that paid on the payer's behalf."),
    )
    receipt_title = models.CharField(_("receipt title (抬头)"), max_length=200)
    application_number = models.CharField(_("application number"), max_length=13, db_index=True)
    patent_kind = models.CharField(_("patent kind"), max_length=20)
    voucher_ref = models.CharField(_("voucher reference"), max_length=100, blank=True)
    voucher_scan = models.FileField(_("voucher scan"), upload_to="vouchers/%Y/%m/", blank=True)
    remitted_on = models.DateField(_("remittance date"), null=True, blank=True)
    postmarked_on = models.DateField(_("postmark date"), null=True, blank=True)
    info_complete_on = models.DateField(_("complete information arrived"), null=True, blank=True)
    second_postmarked_on = models.DateField(_("second postmark date"), null=True, blank=True)
    received_on = models.DateField(_("arrived at the office"))
    payment_date = models.DateField(_("payment date (缴费日)"), db_index=True)
    payment_date_rule = models.CharField(
        _("payment-date rule"), max_length=20, choices=PaymentDateRule.choices
    )
    booked_on = models.DateField(_("booked on"))
    booked_late = models.BooleanField(_("booked after the deadline"), default=False)
    total = MoneyField(_("total"))
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(_("entered"), auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    review_note = models.CharField(_("review note"), max_length=300, blank=True)
    corrects = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        help_text=_("The payment this reversal or replacement corrects."),
    )
    correction_reason = models.CharField(_("correction reason"), max_length=300, blank=True)
    correction_cause = models.CharField(
        _("caused by"), max_length=12, choices=CorrectionCause.choices, blank=True
    )

    class Meta:
        ordering = ["-booked_on", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        indexes = [
            models.Index(fields=["office", "payment_date"]),
            models.Index(fields=["office", "booked_on"]),
            # A payer's receipts are found by the phone given at payment (portal, wallets).
            models.Index(fields=["payer_phone"], name="payment_payer_phone_idx"),
        ]
        constraints = [
            # Four eyes (复核): whoever entered a payment never reviews it.
            models.CheckConstraint(
                condition=models.Q(reviewed_by__isnull=True)
                | ~models.Q(reviewed_by=models.F("entered_by")),
                name="payment_reviewer_is_not_collector",
            ),
            models.CheckConstraint(
                condition=~models.Q(entry_kind="payment") | models.Q(total__gt=0),
                name="payment_total_positive",
            ),
            models.CheckConstraint(
                condition=~models.Q(entry_kind="reversal") | models.Q(total__lt=0),
                name="reversal_total_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(entry_kind="payment") | models.Q(corrects__isnull=False),
                name="correction_points_at_original",
            ),
            models.UniqueConstraint(
                fields=["corrects", "entry_kind"],
                condition=models.Q(entry_kind="reversal"),
                name="one_reversal_per_payment",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.application_number} {self.total}"


class PaymentLine(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="lines")
    fee_type = models.ForeignKey(FeeType, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("patent year"), null=True, blank=True)
    quantity = models.IntegerField(_("quantity"), default=1)
    standard = MoneyField(_("standard (per unit)"))
    amount = MoneyField(_("amount"))
    tariff_amount = MoneyField(_("amount by the schedule"))
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    override_reason = models.CharField(_("override reason"), max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("payment line")
        verbose_name_plural = _("payment lines")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount=models.F("tariff_amount"))
                | ~models.Q(override_reason=""),
                name="line_amount_is_tariff_or_overridden",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fee_type.code} {self.amount}"


class RefundReason(models.TextChoices):
    WRONG_PAYMENT = "wrong_payment", _("Wrong payment")
    DUPLICATE = "duplicate", _("Duplicate payment")
    MISSING_INFORMATION = (
        "missing_information",
        _("Missing or wrong application number (remittance returned)"),
    )
    OVERPAYMENT = "overpayment", _("Overpayment")


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Refund(models.Model):
    """Money going back to a payer.

    Either of a booked payment, or of a remittance that could not be booked.
    """

    office = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="refunds", null=True, blank=True
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    payer_name = models.CharField(_("payer"), max_length=200)
    remittance_ref = models.CharField(_("remittance reference"), max_length=100, blank=True)
    remitted_on = models.DateField(_("remittance or postmark date"), null=True, blank=True)
    amount = MoneyField(_("amount"))
    reason = models.CharField(_("reason"), max_length=20, choices=RefundReason.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=RefundStatus.choices, default=RefundStatus.REQUESTED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_on = models.DateField(_("decision date"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(decided_by__isnull=True)
                | ~models.Q(decided_by=models.F("requested_by")),
                name="refund_approver_is_not_requester",
            ),
        ]

    def __str__(self) -> str:
        return f"refund #{self.pk} {self.amount}"


class LedgerAccount(models.TextChoices):
    """The office ledger's accounts (科目)."""

    BANK = "bank", _("Bank deposit (银行存款)")
    CASH = "cash", _("Cash (现金)")
    FEES_PAYABLE = "fees_payable", _("Fees payable to the office (应交局费用)")
    INTEREST_PAYABLE = "interest_payable", _("Interest payable (应交利息)")
    REFUNDS_PAYABLE = "refunds_payable", _("Refunds payable (应退费用)")


class JournalEntry(models.Model):
    """One balanced posting of the office ledger; never changed, reversed by a new entry."""

    office = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="journal_entries"
    )
    posted_on = models.DateField(_("date"), db_index=True)
    memo = models.CharField(_("memo"), max_length=200)
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    refund = models.ForeignKey(
        Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["posted_on", "id"]
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")

    def __str__(self) -> str:
        return f"{self.posted_on} {self.memo}"


class JournalLine(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.CharField(_("account"), max_length=20, choices=LedgerAccount.choices)
    debit = MoneyField(_("debit"), default=0)
    credit = MoneyField(_("credit"), default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(debit__gt=0, credit=0) | models.Q(debit=0, credit__gt=0)),
                name="journal_line_one_side",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} D{self.debit} C{self.credit}"


class RecoveryRecord(models.Model):
    """The written record of a restore from backup (seed 004), kept in the restored database."""

    backup_file = models.CharField(_("backup file"), max_length=200)
    backup_sha256 = models.CharField(_("backup SHA-256"), max_length=64)
    backup_created_at = models.DateTimeField(_("backup taken"))
    started_at = models.DateTimeField(_("restore started"))
    finished_at = models.DateTimeField(_("restore finished"), auto_now_add=True)
    operator = models.CharField(_("operator"), max_length=150)
    note = models.TextField(_("note"), blank=True)
    verified = models.BooleanField(_("verified"))
    problems = models.TextField(_("problems found"), blank=True)
    audit_events_verified = models.PositiveBigIntegerField(_("audit events verified"))
    facts = models.JSONField(_("counts and totals after the restore"))

    class Meta:
        ordering = ["-finished_at"]
        verbose_name = _("recovery record")
        verbose_name_plural = _("recovery records")

    def __str__(self) -> str:
        return f"{self.finished_at:%Y-%m-%d %H:%M} {self.backup_file}"
