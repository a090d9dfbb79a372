"""Every write of the delivery app: the delivery log, wallet apps, bindings, attempts."""

from __future__ import annotations

import secrets
import smtplib
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipdesk.accounts import policy
from ipdesk.accounts.models import Role, User
from ipdesk.accounts.services import create_user, issue_api_token
from ipdesk.audit.services import EventSpec, record_event, record_events
from ipdesk.core.errors import InvalidInput, NotAllowed
from ipdesk.core.identifiers import validate_mobile
from ipdesk.receipts.models import Receipt, ReceiptKind

from . import codes, emails, selectors, webhooks
from .models import (
    BindingCode,
    Channel,
    Delivery,
    Purpose,
    Status,
    WalletBinding,
    WalletClient,
)

MAX_EMAIL_LENGTH = 254


class RetryableError(Exception):
    """A delivery attempt failed in a way that may pass later (the task retries it)."""


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


# --- wallet apps -----------------------------------------------------------------------------


def register_wallet(
    *, name: str, webhook_url: str = "", actor: User | None = None
) -> tuple[WalletClient, str, str]:
    """A wallet app with its own service user; returns it, its API token and webhook secret.

    The service user has the payer role and no phone or organisation, so it reads no
    receipt through the ordinary API: a wallet sees only what bindings give it.
    """
    errors: dict[str, Any] = {}
    name = name.strip()
    if not name:
        errors["name"] = _("The name is required.")
    elif len(name) > 100:
        errors["name"] = _("The name has at most 100 characters.")
    elif WalletClient.objects.filter(name=name).exists():
        errors["name"] = _("A wallet app with this name already exists.")
    webhook_url = webhook_url.strip()
    if webhook_url:
        try:
            URLValidator(schemes=["http", "https"])(webhook_url)
            if len(webhook_url) > 500:
                raise ValidationError("too long")
        except ValidationError:
            errors["webhook_url"] = _("Enter an http or https URL of at most 500 characters.")
    if errors:
        raise InvalidInput(fields=errors)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        user = create_user(
            username=f"wallet-{secrets.token_hex(6)}",
            password=secrets.token_urlsafe(32),  # never shown: the service user signs in by token
            role=Role.PAYER,
            full_name=name,
            actor=actor,
        )
        wallet = WalletClient.objects.create(
            name=name, user=user, webhook_url=webhook_url, webhook_secret=secret
        )
        record_event(
            "delivery.wallet.registered",
            actor=actor,
            obj=wallet,
            payload={"name": name, "user": user.username, "webhook_url": webhook_url},
        )
        _token, plaintext = issue_api_token(user, name=f"wallet {name}"[:100], actor=actor)
    return wallet, plaintext, secret


# --- binding a wallet ------------------------------------------------------------------------


def start_binding(payer: User) -> tuple[BindingCode, str]:
    """A one-time code the payer types into the wallet app; returns it once, stores a hash."""
    if not policy.is_payer(payer):
        raise NotAllowed(_("Only payers bind wallet apps."))
    if not payer.phone:
        raise InvalidInput(
            fields={"phone": _("Add your mobile number first: wallets find receipts by it.")}
        )
    code = codes.new_code()
    now = timezone.now()
    with transaction.atomic():
        binding_code = BindingCode.objects.create(
            payer=payer,
            code_hash=codes.code_hash(codes.BINDING, code),
            expires_at=now + timedelta(minutes=settings.IPDESK_WALLET_BINDING_MINUTES),
        )
        record_event(
            "delivery.binding.started",
            actor=payer,
            obj=binding_code,
            payload={"expires_at": binding_code.expires_at},
        )
    return binding_code, code


def complete_binding(wallet: WalletClient, *, code: str, phone: str) -> WalletBinding:
    """The wallet presents the payer's code and phone: bind, and spend the code."""
    errors: dict[str, Any] = {}
    code = codes.normalise(code)
    if not codes.well_formed(code):
        errors["code"] = _("The binding code is %(length)s letters and digits.") % {
            "length": codes.CODE_LENGTH
        }
    try:
        phone = validate_mobile(phone or "")
    except ValidationError as exc:
        errors["phone"] = exc.messages
    if errors:
        raise InvalidInput(fields=errors)
    refused = InvalidInput(
        fields={
            "code": _(
                "This binding code is unknown, used or expired, or was not issued for this "
                "mobile number."
            )
        }
    )
    now = timezone.now()
    with transaction.atomic():
        binding_code = (
            BindingCode.objects.select_for_update()
            .select_related("payer")
            .filter(code_hash=codes.code_hash(codes.BINDING, code))
            .first()
        )
        if (
            binding_code is None
            or binding_code.used_at is not None
            or binding_code.expires_at <= now
            or binding_code.payer.phone != phone
            or not binding_code.payer.is_active
        ):
            raise refused
        binding = WalletBinding.objects.filter(
            wallet=wallet, payer=binding_code.payer, revoked_at__isnull=True
        ).first()
        created = binding is None
        if binding is None:
            binding = WalletBinding.objects.create(wallet=wallet, payer=binding_code.payer)
        BindingCode.objects.filter(pk=binding_code.pk).update(used_at=now, binding=binding)
        record_event(
            "delivery.binding.completed",
            actor=wallet.user,
            obj=binding,
            payload={
                "wallet": wallet.name,
                "payer": binding_code.payer.username,
                "new": created,
            },
        )
    return binding


def revoke_binding(binding: WalletBinding, *, actor: User) -> None:
    if actor.pk != binding.payer_id:
        raise NotAllowed()
    with transaction.atomic():
        WalletBinding.objects.filter(pk=binding.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        record_event(
            "delivery.binding.revoked",
            actor=actor,
            obj=binding,
            payload={"wallet": binding.wallet.name},
        )


# --- planning deliveries ---------------------------------------------------------------------


def _enqueue(deliveries: Iterable[Delivery]) -> None:
    """Start the sending tasks once the deliveries are committed."""
    from . import tasks

    plan = [(d.pk, d.channel) for d in deliveries]

    def start() -> None:
        for pk, channel in plan:
            tasks.dispatch(channel, pk)

    if plan:
        transaction.on_commit(start)


def _creation_event(delivery: Delivery, actor: Any = None) -> EventSpec:
    return EventSpec(
        action="delivery.queued",
        actor=actor,
        object_type="delivery.delivery",
        object_id=str(delivery.pk),
        payload={
            "receipt": delivery.receipt_id,
            "channel": delivery.channel,
            "purpose": delivery.purpose,
            "target": delivery.target,
        },
    )


def send_receipt_to(receipt: Receipt, *, email: str, actor: User) -> Delivery:
    """Send to e-mail: queue the receipt for any address a reader of it names."""
    email = (email or "").strip()
    try:
        if not email or len(email) > MAX_EMAIL_LENGTH:
            raise ValidationError("length")
        validate_email(email)
    except ValidationError:
        raise InvalidInput(
            fields={"email": _("Enter a valid e-mail address (at most 254 characters).")}
        ) from None
    with transaction.atomic():
        delivery = Delivery.objects.create(
            receipt=receipt,
            channel=Channel.EMAIL,
            purpose=Purpose.REQUESTED,
            target=email,
            requested_by=actor,
        )
        record_events([_creation_event(delivery, actor)])
        _enqueue([delivery])
    return delivery


PLAN_CHUNK = 1000


def plan_deliveries(receipt_ids: Iterable[int]) -> list[Delivery]:
    """New receipts: e-mail the payer (blue: the receipt; red: a reversal notice) and call
    the webhook of every wallet the payer has bound. Works through big batches in chunks."""
    ids = list(receipt_ids)
    planned: list[Delivery] = []
    for start in range(0, len(ids), PLAN_CHUNK):
        planned.extend(_plan_chunk(ids[start : start + PLAN_CHUNK]))
    return planned


def _plan_chunk(receipt_ids: list[int]) -> list[Delivery]:
    receipts = list(
        Receipt.objects.filter(pk__in=receipt_ids)
        .exclude(payment__payer_email="", payment__payer_phone="")
        .select_related("payment")
        .order_by("pk")
    )
    phones = {r.payment.payer_phone for r in receipts if r.payment.payer_phone}
    wallets_by_phone: dict[str, list[WalletClient]] = {}
    if phones:
        bindings = WalletBinding.objects.filter(
            revoked_at__isnull=True,
            payer__phone__in=phones,
            payer__is_active=True,
            wallet__is_active=True,
        ).exclude(wallet__webhook_url="")
        for binding in bindings.select_related("wallet", "payer"):
            wallets_by_phone.setdefault(binding.payer.phone, []).append(binding.wallet)
    planned: list[Delivery] = []
    for receipt in receipts:
        purpose = Purpose.REVERSED if receipt.kind == ReceiptKind.RED else Purpose.ISSUED
        if receipt.payment.payer_email:
            planned.append(
                Delivery(
                    receipt=receipt,
                    channel=Channel.EMAIL,
                    purpose=purpose,
                    target=receipt.payment.payer_email,
                )
            )
        for wallet in wallets_by_phone.get(receipt.payment.payer_phone, []):
            planned.append(
                Delivery(
                    receipt=receipt,
                    channel=Channel.WEBHOOK,
                    purpose=purpose,
                    target=wallet.webhook_url,
                    wallet=wallet,
                )
            )
    if not planned:
        return []
    with transaction.atomic():
        created = [Delivery.objects.create(**_fields(d)) for d in planned]
        record_events([_creation_event(d) for d in created])
        _enqueue(created)
    return created


def _fields(delivery: Delivery) -> dict[str, Any]:
    return {
        "receipt": delivery.receipt,
        "channel": delivery.channel,
        "purpose": delivery.purpose,
        "target": delivery.target,
        "wallet": delivery.wallet,
    }


# --- attempts --------------------------------------------------------------------------------


def _load(delivery_id: int) -> Delivery:
    return Delivery.objects.select_related(
        "receipt__series", "receipt__payment", "receipt__original__series", "wallet"
    ).get(pk=delivery_id)


def _attempt_started(delivery: Delivery, **changes: Any) -> None:
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1, **changes)
        record_event(
            "delivery.attempt",
            obj=delivery,
            payload={"channel": delivery.channel, "attempt": delivery.attempts + 1},
        )


def _attempt_failed(delivery: Delivery, error: str) -> None:
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(last_error=error)
        record_event("delivery.attempt_failed", obj=delivery, payload={"error": error})


def _finish(delivery: Delivery, status: str, error: str = "") -> None:
    now = timezone.now()
    with transaction.atomic():
        changed = Delivery.objects.filter(pk=delivery.pk, status=Status.QUEUED).update(
            status=status,
            sent_at=now if status == Status.SENT else None,
            **({"last_error": error} if error else {}),
        )
        if changed:
            record_event(
                f"delivery.{status}",
                obj=delivery,
                payload={"channel": delivery.channel, "error": error},
            )


def mark_failed(delivery_id: int, *, error: str) -> None:
    """The last retry failed: the delivery is given up and logged as failed."""
    _finish(_load(delivery_id), Status.FAILED, error[:500])


def attempt_email(delivery_id: int) -> str:
    """Send one queued e-mail delivery with a fresh pickup code.

    Raises ``smtplib.SMTPException`` or ``OSError`` when the attempt may pass later;
    a refused recipient is final (bounced).
    """
    delivery = _load(delivery_id)
    if delivery.status != Status.QUEUED:
        return str(delivery.status)
    pickup_code = codes.new_code()
    message = emails.compose(delivery.receipt, to=delivery.target, pickup_code=pickup_code)
    # Only the code in the latest e-mail opens the receipt; nobody knows an earlier one.
    _attempt_started(delivery, pickup_hash=codes.code_hash(codes.PICKUP, pickup_code))
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        _finish(delivery, Status.BOUNCED, _error_text(exc))
        return Status.BOUNCED
    except (smtplib.SMTPException, OSError) as exc:
        _attempt_failed(delivery, _error_text(exc))
        raise
    _finish(delivery, Status.SENT)
    return Status.SENT


def webhook_payload(delivery: Delivery) -> dict[str, Any]:
    receipt = delivery.receipt
    return {
        "event": "receipt.reversed" if receipt.kind == ReceiptKind.RED else "receipt.issued",
        "delivery": delivery.pk,
        "phone": receipt.payment.payer_phone,
        "receipt": selectors.receipt_item(receipt),
    }


def attempt_webhook(delivery_id: int) -> str:
    """POST one queued webhook delivery, signed; raises ``RetryableError`` or ``OSError``
    when the wallet may accept it later (5xx, 408, 429, no connection)."""
    delivery = _load(delivery_id)
    if delivery.status != Status.QUEUED:
        return str(delivery.status)
    wallet = delivery.wallet
    assert wallet is not None
    if not wallet.is_active:
        _finish(delivery, Status.FAILED, "wallet app deactivated")
        return Status.FAILED
    if not selectors.wallet_bound_to(wallet, delivery.receipt.payment.payer_phone):
        _finish(delivery, Status.FAILED, "binding revoked")
        return Status.FAILED
    body = webhooks.encode(webhook_payload(delivery))
    timestamp = str(int(time.time()))
    headers = {
        webhooks.TIMESTAMP_HEADER: timestamp,
        webhooks.SIGNATURE_HEADER: webhooks.signature(wallet.webhook_secret, timestamp, body),
        webhooks.DELIVERY_HEADER: str(delivery.pk),
    }
    _attempt_started(delivery)
    try:
        status = webhooks.post(
            delivery.target, body, headers, timeout=settings.IPDESK_WEBHOOK_TIMEOUT
        )
    except OSError as exc:
        _attempt_failed(delivery, _error_text(exc))
        raise
    if 200 <= status < 300:
        _finish(delivery, Status.SENT)
        return Status.SENT
    error = f"HTTP {status}"
    if status in (408, 429) or status >= 500:
        _attempt_failed(delivery, error)
        raise RetryableError(error)
    _finish(delivery, Status.FAILED, error)
    return Status.FAILED
