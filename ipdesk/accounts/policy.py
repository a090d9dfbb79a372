"""Who may do what: the one access policy of ipdesk.

Every app asks here, and nowhere else says which roles may do something:

- role groups (``BOOKKEEPERS``, ``OVERSIGHT``…) name the sets of roles the rules are made of;
- rules (``BOOKKEEPING``, ``FEE_OFFICE_CLERK``…) add where the user must belong (the office
  acted on, or the fee office); services call ``require(actor, RULE, _("do this"), office=…)``;
- visibility is a filter of the query (``office_filter``, ``visible_offices``), never a pass
  over rows already fetched;
- the web side: ``role_permission`` (DRF), ``role_required`` (pages) and ``refuse``, the one
  way a page turns someone away. Every refusal of a signed-in user is logged and audited.

How to add a rule: docs/architecture.md, "Access policy: how to add a rule".
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, NoReturn

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from ipdesk.audit.services import record_event
from ipdesk.core.errors import NotAllowed

from .models import Organisation, OrganisationKind, Role

security_log = logging.getLogger("ipdesk.security")

RoleGroup = frozenset[str]

# --- role groups --------------------------------------------------------------------------

PAYERS: RoleGroup = frozenset({Role.PAYER})
# Agency-office staff who keep the volumes: both book, only the reviewer reviews.
BOOKKEEPERS: RoleGroup = frozenset({Role.COLLECTOR, Role.REVIEWER})
REVIEWERS: RoleGroup = frozenset({Role.REVIEWER})
# Staff who act for an office's accounts: volumes, statements, remittances, interest.
OFFICE_STAFF: RoleGroup = BOOKKEEPERS | {Role.ADMIN}
FEE_CLERKS: RoleGroup = frozenset({Role.FEE_CLERK})
# Fee-office roles that read every agency office's figures (the clerk also acts on them).
OVERSIGHT: RoleGroup = frozenset({Role.FEE_CLERK, Role.AUDITOR, Role.ADMIN})
# Readers of the audit log.
AUDITORS: RoleGroup = frozenset({Role.AUDITOR, Role.ADMIN})
RECEIPT_REVERSERS: RoleGroup = frozenset({Role.FEE_CLERK, Role.ADMIN})
# Everyone who works at an organisation of the office: every role but the payer.
STAFF: RoleGroup = frozenset(Role.values) - PAYERS

# Which organisation kinds a role may belong to; a payer may also have none (an individual).
ROLE_ORGANISATION_KINDS: dict[str, frozenset[str]] = {
    Role.PAYER: frozenset({OrganisationKind.PATENT_AGENCY, OrganisationKind.ENTERPRISE}),
    Role.COLLECTOR: frozenset({OrganisationKind.AGENCY_OFFICE, OrganisationKind.FEE_OFFICE}),
    Role.REVIEWER: frozenset({OrganisationKind.AGENCY_OFFICE, OrganisationKind.FEE_OFFICE}),
    Role.FEE_CLERK: frozenset({OrganisationKind.FEE_OFFICE}),
    Role.AUDITOR: frozenset({OrganisationKind.FEE_OFFICE}),
    Role.ADMIN: frozenset({OrganisationKind.FEE_OFFICE}),
}


# --- rules --------------------------------------------------------------------------------


class Where(enum.Enum):
    """Where the user must belong, besides having one of the rule's roles."""

    ANYWHERE = "anywhere"
    OWN_OFFICE = "own_office"  # the office acted on is the user's own organisation
    FEE_OFFICE = "fee_office"  # the user's organisation is the fee office (收费处)


@dataclass(frozen=True)
class Rule:
    """Who may do something: one of ``roles``, belonging ``where``.

    ``refusal`` is the message of the refusal; it may use ``%(what)s`` (what was asked),
    ``%(roles)s`` and ``%(office)s``.
    """

    roles: RoleGroup
    where: Where
    refusal: Any

    def admits(self, user: Any, office: Organisation | None = None) -> bool:
        if not has_role(user, self.roles):
            return False
        if self.where is Where.OWN_OFFICE:
            assert office is not None, "a rule of the own office needs the office acted on"
            return getattr(user, "organisation_id", None) == office.pk
        if self.where is Where.FEE_OFFICE:
            organisation = getattr(user, "organisation", None)
            return organisation is not None and organisation.kind == OrganisationKind.FEE_OFFICE
        return True


_OWN_OFFICE_REFUSAL = _("Only %(roles)s of %(office)s may %(what)s.")

BOOKKEEPING = Rule(BOOKKEEPERS, Where.OWN_OFFICE, _OWN_OFFICE_REFUSAL)
REVIEWING = Rule(REVIEWERS, Where.OWN_OFFICE, _OWN_OFFICE_REFUSAL)
OFFICE_ACCOUNTS = Rule(OFFICE_STAFF, Where.OWN_OFFICE, _OWN_OFFICE_REFUSAL)
FEE_OFFICE_CLERK = Rule(FEE_CLERKS, Where.FEE_OFFICE, _("Only fee-office clerks may %(what)s."))
FEE_OFFICE_OVERSIGHT = Rule(
    OVERSIGHT, Where.FEE_OFFICE, _("Only the fee office sees every office's figures.")
)
RECEIPT_REVERSAL = Rule(
    RECEIPT_REVERSERS, Where.ANYWHERE, _("Only the fee office may reverse receipts.")
)


# --- checks -------------------------------------------------------------------------------


def has_role(user: Any, group: RoleGroup) -> bool:
    return bool(user and user.is_authenticated and getattr(user, "role", None) in group)


def is_payer(user: Any) -> bool:
    return getattr(user, "role", None) == Role.PAYER


def allows(user: Any, rule: Rule, *, office: Organisation | None = None) -> bool:
    return rule.admits(user, office)


def require(user: Any, rule: Rule, what: Any = "", *, office: Organisation | None = None) -> None:
    """Refuse (``NotAllowed``) unless ``rule`` admits ``user`` (acting on ``office``)."""
    if not rule.admits(user, office):
        raise NotAllowed(
            rule.refusal
            % {
                "roles": "/".join(sorted(rule.roles)),
                "office": office.name if office is not None else "",
                "what": what,
            }
        )


def oversees_all_offices(user: Any) -> bool:
    """A clerk, auditor or admin of the fee office: sees every agency office."""
    return FEE_OFFICE_OVERSIGHT.admits(user)


def can_see_office(user: Any, office: Organisation) -> bool:
    """Bookkeepers see their own office; the fee office's oversight sees every office."""
    return oversees_all_offices(user) or (
        has_role(user, BOOKKEEPERS) and getattr(user, "organisation_id", None) == office.pk
    )


def agency_office_of(user: Any) -> Organisation | None:
    """The agency office whose accounts ``user`` keeps (office staff of an agency office)."""
    organisation = getattr(user, "organisation", None)
    if (
        has_role(user, OFFICE_STAFF)
        and organisation is not None
        and organisation.kind == OrganisationKind.AGENCY_OFFICE
    ):
        return organisation
    return None


# --- visibility in the database -----------------------------------------------------------


def office_filter(user: Any, field: str = "office") -> Q:
    """A filter of rows whose office (reached through ``field``) the user may see, as
    ``can_see_office`` decides: everything, the user's own office, or nothing."""
    if oversees_all_offices(user):
        return Q()
    organisation_id = getattr(user, "organisation_id", None)
    if has_role(user, BOOKKEEPERS) and organisation_id is not None:
        return Q(**{field: organisation_id})
    return Q(pk__in=[])


def visible_offices(user: Any) -> QuerySet[Organisation]:
    return Organisation.objects.filter(office_filter(user, "pk"))


def visible_organisations(user: Any) -> QuerySet[Organisation]:
    """Fee-office staff see every organisation; everyone else only their own."""
    organisation = getattr(user, "organisation", None)
    if organisation is None:
        return Organisation.objects.none()
    if organisation.kind == OrganisationKind.FEE_OFFICE:
        return Organisation.objects.all()
    return Organisation.objects.filter(pk=organisation.pk)


# --- refusals on the web ------------------------------------------------------------------


def record_access_denied(user: Any, *, path: str, method: str, required: str) -> None:
    """A signed-in user tried something their role does not allow: log it and audit it."""
    security_log.warning(
        "access denied: %s (%s) %s %s needs %s", user.username, user.role, method, path, required
    )
    with transaction.atomic():
        record_event(
            "accounts.access.denied",
            actor=user,
            object_type="path",
            object_id=path[:64],
            payload={"method": method, "path": path, "role": user.role, "required": required},
        )


def refuse(request: HttpRequest, required: str, *, as_not_found: bool = False) -> NoReturn:
    """Turn a page request away, saying in the log and the audit what was ``required``.

    403 by default; ``as_not_found`` answers 404 where a 403 would tell that the thing
    asked for exists (someone else's receipt, ZIP or binding).
    """
    record_access_denied(
        request.user, path=request.path, method=request.method or "", required=required
    )
    if as_not_found:
        raise Http404()
    raise PermissionDenied


def _required(group: RoleGroup) -> str:
    return ",".join(sorted(group))


def role_permission(group: RoleGroup) -> type[BasePermission]:
    """A DRF permission class admitting only the roles of ``group``."""

    class HasRole(BasePermission):
        message = "forbidden"

        def has_permission(self, request: Request, view: Any) -> bool:
            user = request.user
            if not (user and user.is_authenticated):
                return False
            if has_role(user, group):
                return True
            record_access_denied(
                user, path=request.path, method=request.method or "", required=_required(group)
            )
            return False

    HasRole.__name__ = "HasRole_" + "_".join(sorted(group))
    return HasRole


def role_required(
    group: RoleGroup,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Page decorator: anonymous users go to the login page, other roles get 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, group):
                refuse(request, _required(group))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
