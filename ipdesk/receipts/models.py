"""Fiscal electronic receipts (财政电子票据) and the series that number them.

A receipt is append-only: its canonical data, signature and number never change once
issued. A wrong receipt is reversed by a red receipt (冲红) that points at it; a payer-title
correction is a reversal plus a new blue receipt for the same payment (the next generation).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ipdesk.collection.models import Payment


class ReceiptSeries(models.Model):
    """A 票据代码 with its contiguous run of 10-digit numbers.

    ``next_number`` is taken under a row lock inside the issuing transaction, so a rollback
    returns the numbers with everything else: no gap, no duplicate. Each issuing node has
    its own series (its own code) so nodes issue in parallel.
    """

    code = models.CharField(_("receipt code (票据代码)"), max_length=8, unique=True)
    year = models.PositiveSmallIntegerField(_("year"))
    node = models.CharField(_("issuing node"), max_length=40, default="default")
    next_number = models.PositiveBigIntegerField(_("next number"), default=1)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("receipt series")
        verbose_name_plural = _("receipt series")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[0-9]{8}$"), name="receipt_series_code_8_digits"
            ),
            models.CheckConstraint(
                condition=models.Q(next_number__gte=1, next_number__lte=10_000_000_000),
                name="receipt_series_number_in_range",
            ),
            models.UniqueConstraint(
                fields=["year", "node"],
                condition=models.Q(active=True),
                name="receipt_series_one_active_per_node_and_year",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.node}, {self.year})"


class ReceiptKind(models.TextChoices):
    BLUE = "blue", _("Receipt")
    RED = "red", _("Red-letter reversal (冲红)")


class ReversalReason(models.TextChoices):
    REFUND = "refund", _("Refund")
    WRONG_TITLE = "wrong_title", _("Wrong payer title (抬头)")
    OTHER = "other", _("Other")


class Receipt(models.Model):
    series = models.ForeignKey(ReceiptSeries, on_delete=models.PROTECT, related_name="receipts")
    number = models.PositiveBigIntegerField(_("receipt number (票据号码)"))
    check_code = models.CharField(_("check code (校验码)"), max_length=6)
    kind = models.CharField(_("kind"), max_length=4, choices=ReceiptKind.choices)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="receipts")
    generation = models.PositiveSmallIntegerField(_("generation"), default=0)
    original = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversal",
        verbose_name=_("reversed receipt"),
    )
    reason = models.CharField(
        _("reversal reason"), max_length=12, choices=ReversalReason.choices, blank=True
    )
    issued_at = models.DateTimeField(_("issued"))
    issue_date = models.DateField(_("issue date (开票日期)"), db_index=True)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2)
    payer_name = models.CharField(_("payer"), max_length=200)
    payer_id_code = models.CharField(_("payer code"), max_length=18, db_index=True)
    data = models.TextField(_("canonical data"))
    signature = models.CharField(_("signature (base64)"), max_length=200)
    key_id = models.CharField(_("signing key"), max_length=64)
    algorithm = models.CharField(_("signature algorithm"), max_length=16)

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        ordering = ["series", "number"]
        constraints = [
            models.UniqueConstraint(fields=["series", "number"], name="receipt_number_unique"),
            models.UniqueConstraint(
                fields=["payment", "generation"],
                condition=models.Q(kind="blue"),
                name="receipt_one_blue_per_payment_generation",
            ),
            models.CheckConstraint(
                condition=models.Q(number__gte=1, number__lte=9_999_999_999),
                name="receipt_number_10_digits",
            ),
            models.CheckConstraint(
                condition=models.Q(check_code__regex=r"^[0-9a-z]{6}$"),
                name="receipt_check_code_form",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind="blue", original__isnull=True, total__gt=0)
                    | models.Q(kind="red", original__isnull=False, total__lt=0)
                ),
                name="receipt_kind_sign_and_reference",
            ),
        ]
        indexes = [
            models.Index(fields=["payment", "kind"]),
            # An enterprise's receipts, newest first (payer portal keyset pages).
            models.Index(fields=["payer_id_code", "-id"], name="receipt_payer_code_id_idx"),
            # A payer's receipts found by their payments, ids read from the index alone.
            models.Index(fields=["payment", "id"], name="receipt_payment_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.series.code}-{self.number_text}"

    @property
    def number_text(self) -> str:
        return f"{self.number:010d}"
