"""Delivery of receipts: the delivery log, wallet apps (电子票夹) and their bindings.

Secrets a holder must present (pickup codes 取票码, binding codes) are stored only as a keyed
hash; a wallet's webhook secret is stored as is, because ipdesk signs with it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ipdesk.receipts.models import Receipt


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    WEBHOOK = "webhook", _("Wallet webhook")


class Status(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    BOUNCED = "bounced", _("Bounced")


class Purpose(models.TextChoices):
    ISSUED = "issued", _("Receipt issued")
    REVERSED = "reversed", _("Receipt reversed (冲红)")
    REQUESTED = "requested", _("Sent on request")


class WalletClient(models.Model):
    """A wallet app (电子票夹) that uses the API as its own dedicated service user."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="wallet_client",
        verbose_name=_("service user"),
    )
    webhook_url = models.URLField(_("webhook URL"), max_length=500, blank=True)
    webhook_secret = models.CharField(_("webhook secret"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("wallet app")
        verbose_name_plural = _("wallet apps")

    def __str__(self) -> str:
        return self.name


class WalletBinding(models.Model):
    """A payer's consent that a wallet may list and fetch the receipts paid with their phone."""

    wallet = models.ForeignKey(WalletClient, on_delete=models.PROTECT, related_name="bindings")
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wallet_bindings"
    )
    created_at = models.DateTimeField(_("bound"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("wallet binding")
        verbose_name_plural = _("wallet bindings")
        constraints = [
            models.UniqueConstraint(
                fields=["wallet", "payer"],
                condition=models.Q(revoked_at__isnull=True),
                name="wallet_binding_one_active_per_payer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.wallet_id} ↔ {self.payer_id}"


class BindingCode(models.Model):
    """A one-time code a payer gives a wallet app; short-lived, single use, stored hashed."""

    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wallet_binding_codes"
    )
    code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    binding = models.ForeignKey(
        WalletBinding, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"binding code {self.pk} of {self.payer_id}"


class Delivery(models.Model):
    """One attempt-tracked delivery of one receipt over one channel."""

    receipt = models.ForeignKey(Receipt, on_delete=models.PROTECT, related_name="deliveries")
    channel = models.CharField(_("delivery channel"), max_length=8, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=10, choices=Purpose.choices)
    target = models.CharField(_("address or URL"), max_length=500)
    wallet = models.ForeignKey(
        WalletClient, on_delete=models.PROTECT, null=True, blank=True, related_name="deliveries"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    pickup_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(channel__in=["email", "webhook"]),
                name="delivery_channel_known",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "sent", "failed", "bounced"]),
                name="delivery_status_known",
            ),
            models.CheckConstraint(
                condition=~models.Q(channel="webhook") | models.Q(wallet__isnull=False),
                name="delivery_webhook_has_wallet",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.receipt_id} → {self.target} ({self.status})"
