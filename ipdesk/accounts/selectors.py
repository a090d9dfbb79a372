"""Reads about organisations, users and tokens."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from .models import ApiToken, Organisation, OrganisationKind, User


def agency_offices() -> QuerySet[Organisation]:
    return Organisation.objects.filter(kind=OrganisationKind.AGENCY_OFFICE, is_active=True)


def fee_office() -> Organisation | None:
    return Organisation.objects.filter(kind=OrganisationKind.FEE_OFFICE, is_active=True).first()


def active_token(token_hash: str) -> ApiToken | None:
    return (
        ApiToken.objects.select_related("user", "user__organisation")
        .filter(key_hash=token_hash, revoked_at__isnull=True, user__is_active=True)
        .first()
    )


def is_locked(username: str) -> bool:
    user = User.objects.filter(username=username).only("locked_until").first()
    return bool(user and user.locked_until and user.locked_until > timezone.now())
