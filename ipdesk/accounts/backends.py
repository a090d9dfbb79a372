"""Sign-in backends. Password sign-in lives here; phone + one-time code joins it as a
second backend (``PhoneCodeBackend``) with the payer portal, sharing the lockout rules of
``services``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from ipdesk.core.clientaddress import client_address
from ipdesk.core.errors import DomainError

from .models import User
from .services import AccountLocked, PhoneLocked, check_password_login, login_with_code


class LockoutPasswordBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None or password is None:
            return None
        try:
            return check_password_login(username, password, ip=client_address(request))
        except AccountLocked as exc:
            # PermissionDenied stops Django from trying other backends.
            raise PermissionDenied(str(exc.message)) from exc
        except DomainError:
            return None


class PhoneCodeBackend(ModelBackend):
    """Payers sign in with their mobile number and the one-time code texted to it."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        *,
        phone: str | None = None,
        code: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if phone is None or code is None:
            return None
        try:
            return login_with_code(phone, code, ip=client_address(request))
        except PhoneLocked as exc:
            raise PermissionDenied(str(exc.message)) from exc
        except DomainError:
            return None
