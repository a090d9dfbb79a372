"""Role checks for the API and the pages; every refusal is logged and audited."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .services import record_access_denied


def _has_role(user: Any, roles: frozenset[str]) -> bool:
    return bool(user and user.is_authenticated and user.role in roles)


def role_permission(*roles: str) -> type[BasePermission]:
    """A DRF permission class admitting only the given roles."""
    allowed = frozenset(roles)

    class HasRole(BasePermission):
        message = "forbidden"

        def has_permission(self, request: Request, view: Any) -> bool:
            user = request.user
            if not (user and user.is_authenticated):
                return False
            if _has_role(user, allowed):
                return True
            record_access_denied(
                user,
                path=request.path,
                method=request.method or "",
                required=",".join(sorted(allowed)),
            )
            return False

    HasRole.__name__ = "HasRole_" + "_".join(sorted(allowed))
    return HasRole


def role_required(
    *roles: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Page decorator: anonymous users go to the login page, wrong roles get 403."""
    allowed = frozenset(roles)

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not _has_role(user, allowed):
                record_access_denied(
                    user,
                    path=request.path,
                    method=request.method or "",
                    required=",".join(sorted(allowed)),
                )
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
