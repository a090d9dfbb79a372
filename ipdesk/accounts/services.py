"""Every write about organisations, users, sign-in and API tokens."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ipdesk.audit.services import record_event
from ipdesk.core.errors import DomainError, InvalidInput, NotAllowed
from ipdesk.core.identifiers import validate_credit_code, validate_mobile

from .models import (
    ApiToken,
    LoginCode,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from .policy import ROLE_ORGANISATION_KINDS
from .sms import send_sms

security_log = logging.getLogger("ipdesk.security")

TOKEN_PREFIX = "ipd_"  # noqa: S105 - a public marker, not a secret


class AccountLocked(NotAllowed):
    default_code = "account_locked"
    default_message = _("This account is locked after repeated failed sign-ins; try again later.")


def _field_errors(errors: dict[str, Any]) -> None:
    if errors:
        raise InvalidInput(fields=errors)


def create_organisation(
    *,
    kind: str,
    code: str,
    name: str,
    actor: User | None = None,
    name_en: str = "",
    credit_code: str = "",
    bank_name: str = "",
    bank_account: str = "",
) -> Organisation:
    errors: dict[str, Any] = {}
    if kind not in OrganisationKind.values:
        errors["kind"] = _("Unknown organisation kind; use one of: %(kinds)s.") % {
            "kinds": ", ".join(OrganisationKind.values)
        }
    code = code.strip().upper()
    if not code:
        errors["code"] = _("The code is required.")
    elif Organisation.objects.filter(code=code).exists():
        errors["code"] = _("An organisation with this code already exists.")
    if not name.strip():
        errors["name"] = _("The name is required.")
    if credit_code:
        try:
            credit_code = validate_credit_code(credit_code)
        except ValidationError as exc:
            errors["credit_code"] = exc.messages
    if kind == OrganisationKind.AGENCY_OFFICE and not bank_account.strip():
        errors["bank_account"] = _("An agency office must have its own bank account.")
    _field_errors(errors)
    with transaction.atomic():
        org = Organisation.objects.create(
            kind=kind,
            code=code,
            name=name.strip(),
            name_en=name_en.strip(),
            credit_code=credit_code,
            bank_name=bank_name.strip(),
            bank_account=bank_account.strip(),
        )
        record_event(
            "accounts.organisation.created",
            actor=actor,
            obj=org,
            payload={"kind": kind, "code": code, "name": org.name},
        )
    return org


def create_user(
    *,
    username: str,
    password: str,
    role: str,
    organisation: Organisation | None = None,
    actor: User | None = None,
    full_name: str = "",
    email: str = "",
    phone: str = "",
) -> User:
    errors: dict[str, Any] = {}
    username = username.strip()
    if not username:
        errors["username"] = _("The user name is required.")
    elif User.objects.filter(username=username).exists():
        errors["username"] = _("This user name is taken.")
    if role not in Role.values:
        errors["role"] = _("Unknown role; use one of: %(roles)s.") % {
            "roles": ", ".join(Role.values)
        }
    else:
        allowed = ROLE_ORGANISATION_KINDS[role]
        if organisation is None and role != Role.PAYER:
            errors["organisation"] = _("Staff must belong to an organisation.")
        elif organisation is not None and organisation.kind not in allowed:
            errors["organisation"] = _(
                "A %(role)s cannot belong to an organisation of kind %(kind)s."
            ) % {"role": role, "kind": organisation.kind}
    if phone:
        try:
            phone = validate_mobile(phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages
        else:
            if User.objects.filter(phone=phone).exists():
                errors["phone"] = _("This mobile number belongs to another account.")
    try:
        validate_password(password, User(username=username, email=email))
    except ValidationError as exc:
        errors["password"] = exc.messages
    _field_errors(errors)
    with transaction.atomic():
        user = User(
            username=username,
            role=role,
            organisation=organisation,
            email=email.strip(),
            phone=phone,
            first_name=full_name.strip(),
            is_staff=role == Role.ADMIN,
            is_superuser=role == Role.ADMIN,
        )
        user.set_password(password)
        user.save()
        record_event(
            "accounts.user.created",
            actor=actor,
            obj=user,
            payload={
                "username": username,
                "role": role,
                "organisation": organisation.code if organisation else None,
            },
        )
    return user


def check_password_login(username: str, password: str, *, ip: str = "") -> User:
    """Sign-in by password with lockout: the answer for a locked account is always no.

    Raises ``InvalidInput`` for wrong credentials (without saying which part was wrong)
    and ``AccountLocked`` while the account is locked.
    """
    now = timezone.now()
    user = User.objects.filter(username=username).first()
    if user is None:
        # Hash anyway so that unknown names take as long as known ones.
        User().set_password(password)
        security_log.warning("login failed: unknown user %r from %s", username, ip)
        raise InvalidInput(code="invalid_credentials", message=_("Wrong user name or password."))
    if user.locked_until and user.locked_until > now:
        security_log.warning("login refused: %s is locked, from %s", username, ip)
        raise AccountLocked()
    if user.is_active and user.check_password(password):
        if user.failed_logins or user.locked_until:
            User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
            user.failed_logins, user.locked_until = 0, None
        return user
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
        user.refresh_from_db(fields=["failed_logins"])
        failures = user.failed_logins
        locked = failures >= settings.IPDESK_LOGIN_MAX_FAILURES
        if locked:
            until = now + timedelta(minutes=settings.IPDESK_LOGIN_LOCK_MINUTES)
            User.objects.filter(pk=user.pk).update(locked_until=until, failed_logins=0)
            record_event(
                "accounts.user.locked",
                obj=user,
                payload={"failures": failures, "until": until, "ip": ip},
            )
    if locked:
        security_log.warning("account %s locked after %s failures from %s", username, failures, ip)
        raise AccountLocked()
    security_log.warning("login failed: wrong password for %s from %s", username, ip)
    raise InvalidInput(code="invalid_credentials", message=_("Wrong user name or password."))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_api_token(
    user: User, *, name: str = "cli", actor: User | None = None
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; the plaintext is returned once and never stored."""
    if not user.is_active:
        raise InvalidInput(fields={"user": _("The account is not active.")})
    secret = secrets.token_urlsafe(32)
    prefix = secrets.token_hex(4)
    plaintext = f"{TOKEN_PREFIX}{prefix}_{secret}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name[:100], prefix=prefix, key_hash=hash_token(plaintext)
        )
        record_event(
            "accounts.token.issued",
            actor=actor or user,
            obj=token,
            payload={"user": user.username, "name": token.name, "prefix": prefix},
        )
    return token, plaintext


def revoke_api_token(token: ApiToken, *, actor: User | None = None) -> None:
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        record_event(
            "accounts.token.revoked", actor=actor, obj=token, payload={"prefix": token.prefix}
        )


# --- phone + one-time code sign-in (payers) -----------------------------------------------

CODE_DIGITS = 6


class TooManyCodes(DomainError):
    """A rate limit on sign-in codes was reached; nothing was sent."""

    status = 429
    default_code = "rate_limited"
    default_message = _("Too many sign-in codes were asked for; try again later.")


class PhoneLocked(NotAllowed):
    default_code = "phone_locked"
    default_message = _(
        "Sign-in by code is locked for this number after repeated wrong codes; try again later."
    )


def _masked(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else "****"


def _code_hash(phone: str, code: str) -> str:
    # Keyed: six digits are too few for a plain hash to hide them from a database reader.
    return salted_hmac(
        "ipdesk.accounts.login-code", f"{phone}:{code}", algorithm="sha256"
    ).hexdigest()


def _clean_phone(phone: Any) -> str:
    try:
        return validate_mobile(str(phone or ""))
    except ValidationError as exc:
        raise InvalidInput(fields={"phone": exc.messages}) from None


def _phone_locked_until(phone: str, now: Any) -> Any:
    row = (
        LoginCode.objects.filter(phone=phone, locked_until__gt=now)
        .order_by("-locked_until")
        .values_list("locked_until", flat=True)
        .first()
    )
    return row


def request_login_code(phone: Any, *, ip: str = "") -> LoginCode:
    """Send a fresh 6-digit sign-in code to ``phone`` by SMS.

    Refuses a malformed number (``InvalidInput`` on ``phone``), a locked number
    (``PhoneLocked``) and requests over the limits per number and per client address
    (``TooManyCodes``). Numbers of staff accounts get no code: staff sign in by password.
    """
    phone = _clean_phone(phone)
    now = timezone.now()
    if _phone_locked_until(phone, now):
        raise PhoneLocked()
    limits = [
        (
            LoginCode.objects.filter(phone=phone, created_at__gt=now - timedelta(minutes=1)),
            settings.IPDESK_LOGIN_CODE_PER_PHONE_MINUTE,
            _("A code was sent to this number less than a minute ago; wait before asking again."),
        ),
        (
            LoginCode.objects.filter(phone=phone, created_at__gt=now - timedelta(hours=1)),
            settings.IPDESK_LOGIN_CODE_PER_PHONE_HOUR,
            _("Too many codes were sent to this number in the last hour; try again later."),
        ),
    ]
    if ip:
        limits.append(
            (
                LoginCode.objects.filter(ip=ip, created_at__gt=now - timedelta(hours=1)),
                settings.IPDESK_LOGIN_CODE_PER_IP_HOUR,
                _("Too many codes were asked for from your address; try again later."),
            )
        )
    for rows, limit, message in limits:
        if rows.count() >= limit:
            security_log.warning(
                "login code refused for %s from %s: rate limit", _masked(phone), ip
            )
            raise TooManyCodes(fields={"phone": message})
    staff = User.objects.filter(phone=phone).exclude(role=Role.PAYER).exists()
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    with transaction.atomic():
        # Any earlier unused code of the number stops working: only the newest one counts.
        LoginCode.objects.filter(phone=phone, used_at__isnull=True, expires_at__gt=now).update(
            expires_at=now
        )
        row = LoginCode.objects.create(
            phone=phone,
            code_hash=_code_hash(phone, code),
            ip=ip[:45],
            created_at=now,
            expires_at=now + timedelta(seconds=settings.IPDESK_LOGIN_CODE_SECONDS),
        )
        record_event(
            "accounts.login_code.issued",
            obj=row,
            payload={"phone": _masked(phone), "ip": ip, "sent": not staff},
        )
    if staff:
        security_log.warning("login code not sent: %s belongs to staff (%s)", _masked(phone), ip)
    else:
        minutes = max(1, settings.IPDESK_LOGIN_CODE_SECONDS // 60)
        send_sms(
            phone,
            gettext(
                "Your ipdesk sign-in code is %(code)s. It expires in %(minutes)s minutes; "
                "never tell it to anyone."
            )
            % {"code": code, "minutes": minutes},
        )
    return row


def _payer_for_phone(phone: str, ip: str) -> tuple[User, bool]:
    user = User.objects.filter(phone=phone).first()
    if user is not None:
        return user, False
    username = f"m{phone}"
    suffix = 1
    while User.objects.filter(username=username).exists():
        suffix += 1
        username = f"m{phone}-{suffix}"
    user = User(username=username, role=Role.PAYER, phone=phone)
    user.set_unusable_password()
    user.save()
    record_event(
        "accounts.user.created",
        obj=user,
        payload={"username": username, "role": Role.PAYER, "via": "login_code", "ip": ip},
    )
    return user, True


def login_with_code(phone: Any, code: Any, *, ip: str = "") -> User:
    """The payer signed in by ``phone`` and the one-time ``code`` sent to it.

    A payer account is created at the first sign-in of a number no account has. A wrong
    code counts against the code; the last allowed wrong guess burns it and locks the number
    (``PhoneLocked``). Errors name the field: ``phone`` or ``code``.
    """
    phone = _clean_phone(phone)
    code = str(code or "").strip()
    if len(code) != CODE_DIGITS or not code.isdigit() or not code.isascii():
        raise InvalidInput(fields={"code": _("The sign-in code is the 6 digits we sent you.")})
    now = timezone.now()
    if _phone_locked_until(phone, now):
        security_log.warning("login by code refused: %s is locked, from %s", _masked(phone), ip)
        raise PhoneLocked()
    outcome = "failed"
    user: User | None = None
    with transaction.atomic():
        row = (
            LoginCode.objects.select_for_update()
            .filter(phone=phone, used_at__isnull=True, expires_at__gt=now)
            .order_by("-created_at", "-pk")
            .first()
        )
        if row is None:
            outcome = "none"
            record_event(
                "accounts.login_code.failed",
                object_type="phone",
                object_id=_masked(phone),
                payload={"phone": _masked(phone), "ip": ip, "why": "no_valid_code"},
            )
        elif constant_time_compare(row.code_hash, _code_hash(phone, code)):
            candidate = User.objects.filter(phone=phone).first()
            if candidate is not None and (candidate.role != Role.PAYER or not candidate.is_active):
                outcome = "refused"
                LoginCode.objects.filter(pk=row.pk).update(used_at=now)
                record_event(
                    "accounts.login_code.failed",
                    obj=row,
                    payload={"phone": _masked(phone), "ip": ip, "why": "not_a_payer"},
                )
            else:
                LoginCode.objects.filter(pk=row.pk).update(used_at=now)
                user, created = _payer_for_phone(phone, ip)
                User.objects.filter(pk=user.pk).update(last_login=now)
                record_event(
                    "accounts.login_code.succeeded",
                    actor=user,
                    obj=row,
                    payload={"phone": _masked(phone), "ip": ip, "new_account": created},
                )
                outcome = "ok"
        else:
            attempts = row.attempts + 1
            if attempts >= settings.IPDESK_LOGIN_CODE_MAX_ATTEMPTS:
                until = now + timedelta(minutes=settings.IPDESK_LOGIN_LOCK_MINUTES)
                LoginCode.objects.filter(pk=row.pk).update(
                    attempts=attempts, used_at=now, locked_until=until
                )
                record_event(
                    "accounts.login_code.locked",
                    obj=row,
                    payload={
                        "phone": _masked(phone),
                        "ip": ip,
                        "attempts": attempts,
                        "until": until,
                    },
                )
                outcome = "locked"
            else:
                LoginCode.objects.filter(pk=row.pk).update(attempts=attempts)
                record_event(
                    "accounts.login_code.failed",
                    obj=row,
                    payload={
                        "phone": _masked(phone),
                        "ip": ip,
                        "why": "wrong_code",
                        "attempts": attempts,
                    },
                )
    if outcome == "ok":
        assert user is not None
        return user
    security_log.warning("login by code failed (%s) for %s from %s", outcome, _masked(phone), ip)
    if outcome == "locked":
        raise PhoneLocked()
    if outcome == "none":
        raise InvalidInput(
            fields={"code": _("This code has expired or was already used; ask for a new one.")}
        )
    raise InvalidInput(fields={"code": _("Wrong sign-in code.")})
