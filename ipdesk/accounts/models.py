"""Organisations, users with one role each, and API tokens."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from ipdesk.core.identifiers import validate_credit_code, validate_mobile


class OrganisationKind(models.TextChoices):
    FEE_OFFICE = "fee_office", _("Fee office (收费处)")
    AGENCY_OFFICE = "agency_office", _("Agency office (代办处)")
    PATENT_AGENCY = "patent_agency", _("Patent agency (专利代理机构)")
    ENTERPRISE = "enterprise", _("Enterprise (企业)")


class Role(models.TextChoices):
    PAYER = "payer", _("Payer")
    COLLECTOR = "collector", _("Collector")
    REVIEWER = "reviewer", _("Reviewer")
    FEE_CLERK = "fee_clerk", _("Fee-office clerk")
    AUDITOR = "auditor", _("Auditor")
    ADMIN = "admin", _("Administrator")


class Organisation(models.Model):
    kind = models.CharField(_("kind"), max_length=20, choices=OrganisationKind.choices)
    code = models.CharField(
        _("code"),
        max_length=20,
        unique=True,
        help_text=_("Short stable code, e.g. the agency office code."),
    )
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        blank=True,
        validators=[validate_credit_code],  # type: ignore[list-item]
    )
    bank_name = models.CharField(_("bank"), max_length=200, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=40, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["kind", "code"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="agency_office") | ~models.Q(bank_account=""),
                name="agency_office_has_bank_account",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in OrganisationKind]),
                name="organisation_kind_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class User(AbstractUser):
    """A person who signs in; ``role`` decides what they may do, ``organisation`` where."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.PAYER)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    phone = models.CharField(
        _("mobile number"),
        max_length=11,
        blank=True,
        validators=[validate_mobile],  # type: ignore[list-item]
    )
    failed_logins = models.PositiveIntegerField(_("failed logins in a row"), default=0)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="user_role_known"
            ),
            models.UniqueConstraint(
                fields=["phone"], condition=~models.Q(phone=""), name="user_phone_unique"
            ),
        ]


class ApiToken(models.Model):
    """A bearer token for the API. Only its SHA-256 is stored; the secret is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"


class LoginCode(models.Model):
    """A one-time sign-in code sent by SMS. Only its keyed hash is stored.

    A code is good for one sign-in within its lifetime; too many wrong guesses burn it and
    lock the number for a while (``locked_until``). The rows also serve as the log the rate
    limits count (per number and per client address).
    """

    phone = models.CharField(_("mobile number"), max_length=11)
    code_hash = models.CharField(max_length=64)
    ip = models.CharField(_("client address"), max_length=45, blank=True)
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("wrong attempts"), default=0)
    locked_until = models.DateTimeField(_("number locked until"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in code")
        verbose_name_plural = _("sign-in codes")
        indexes = [
            models.Index(fields=["phone", "created_at"]),
            models.Index(fields=["ip", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.phone[:3]}****{self.phone[-4:]} {self.created_at:%Y-%m-%d %H:%M}"
