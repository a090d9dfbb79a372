"""The official fee schedule as dated data.

A ``ScheduleVersion`` is the complete set of amounts in force from its ``valid_from`` until
the next version starts; a payment is priced by the version in force on its payment date.
Amounts of a version never change once it is in force: a change is a new version.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ipdesk.core.fields import MoneyField


class PatentKind(models.TextChoices):
    INVENTION = "invention", _("invention")
    UTILITY_MODEL = "utility_model", _("utility model")
    DESIGN = "design", _("design")


class Reduction(models.IntegerChoices):
    """Fee reduction (费减): the per cent taken off reducible fees, by the payer's status.

    The one list of reductions: the calculator, the API and every form offer these.
    """

    NONE = 0, _("none")
    ONE_APPLICANT = 85, _("85 per cent off (one qualifying applicant)")
    JOINT_APPLICANTS = 70, _("70 per cent off (joint applicants)")


class QuantityBasis(models.TextChoices):
    """How the number of units of a fee is found."""

    ONCE = "once", _("Once per request")
    COUNT = "count", _("Counted (each priority claim, copy or month)")
    CLAIMS = "claims", _("Claims beyond the tenth")
    PAGES = "pages", _("Description pages beyond the thirtieth")
    ANNUAL = "annual", _("Per patent year")


class FeeType(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100)
    unit_zh = models.CharField(_("unit"), max_length=10, default="件")
    unit_en = models.CharField(_("unit (English)"), max_length=20, default="item")
    basis = models.CharField(_("quantity basis"), max_length=10, choices=QuantityBasis.choices)
    reducible = models.BooleanField(_("reducible (可费减)"), default=False)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("fee type")
        verbose_name_plural = _("fee types")

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh

    @property
    def unit(self) -> str:
        return self.unit_en if (get_language() or "").startswith("en") else self.unit_zh


class ScheduleVersion(models.Model):
    valid_from = models.DateField(_("valid from"), unique=True)
    name = models.CharField(_("name"), max_length=200)
    source = models.TextField(
        _("source"), help_text=_("The notice or document the amounts come from.")
    )
    reduction_annual_years = models.PositiveSmallIntegerField(
        _("annual-fee years reducible from the grant year"),
        help_text=_("Fee reduction covers annual fees for this many years from the year of grant."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-valid_from"]
        verbose_name = _("schedule version")
        verbose_name_plural = _("schedule versions")

    def __str__(self) -> str:
        return f"{self.valid_from} {self.name}"


class FeeRate(models.Model):
    """One amount of one version; bands cover patent years (annual fee) or claim/page numbers."""

    version = models.ForeignKey(ScheduleVersion, on_delete=models.PROTECT, related_name="rates")
    fee_type = models.ForeignKey(FeeType, on_delete=models.PROTECT, related_name="rates")
    patent_kind = models.CharField(_("patent kind"), max_length=20, choices=PatentKind.choices)
    band_from = models.PositiveSmallIntegerField(
        _("from (year, claim or page)"), default=0, help_text=_("0 when the fee has no bands.")
    )
    band_to = models.PositiveSmallIntegerField(
        _("to (inclusive; empty: no end)"), null=True, blank=True
    )
    filed_from = models.DateField(
        _("only for applications filed from"),
        null=True,
        blank=True,
        help_text=_(
            "E.g. design annual fees for years 11–15 apply to designs filed from 2021-06-01."
        ),
    )
    amount = MoneyField(_("amount per unit"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["fee_type__sort_order", "patent_kind", "band_from"]
        verbose_name = _("fee rate")
        verbose_name_plural = _("fee rates")
        constraints = [
            models.UniqueConstraint(
                fields=["version", "fee_type", "patent_kind", "band_from"],
                condition=models.Q(filed_from__isnull=True),
                name="fee_rate_unique_band",
            ),
            models.UniqueConstraint(
                fields=["version", "fee_type", "patent_kind", "band_from", "filed_from"],
                condition=models.Q(filed_from__isnull=False),
                name="fee_rate_unique_band_filed_from",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="fee_rate_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(band_to__isnull=True)
                | models.Q(band_to__gte=models.F("band_from")),
                name="fee_rate_band_in_order",
            ),
        ]

    def __str__(self) -> str:
        band = f" {self.band_from}–{self.band_to or '∞'}" if self.band_from else ""
        return f"{self.fee_type.code} {self.patent_kind}{band}: {self.amount}"


class LateChargeBand(models.Model):
    """The late charge (滞纳金) of a schedule version on an annual fee paid late.

    ``percent`` of the full, unreduced fee is due when the payment falls in the ``month``-th
    month after the due date; past the last band the right has lapsed. A quote takes the bands
    of the version in force on its payment date, so a new version never reprices an old one.
    """

    version = models.ForeignKey(
        ScheduleVersion, on_delete=models.PROTECT, related_name="late_charges"
    )
    month = models.PositiveSmallIntegerField(
        _("month of delay"), help_text=_("1 is the first month after the due date.")
    )
    percent = models.PositiveSmallIntegerField(_("per cent of the full fee"))

    class Meta:
        ordering = ["version", "month"]
        verbose_name = _("late-charge band")
        verbose_name_plural = _("late-charge bands")
        constraints = [
            models.UniqueConstraint(fields=["version", "month"], name="late_charge_band_month"),
            models.CheckConstraint(
                condition=models.Q(month__gte=1), name="late_charge_band_month_from_one"
            ),
            models.CheckConstraint(
                condition=models.Q(percent__lte=100), name="late_charge_band_percent_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version.valid_from} month {self.month}: {self.percent} %"
