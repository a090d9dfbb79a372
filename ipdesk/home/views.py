"""The dashboard: one page, with panels chosen by the user's role.

It kept the names it had when it lived in ``core`` (the URL ``core:dashboard``, the
templates ``core/dashboard_<role>.html``), so links, ``LOGIN_REDIRECT_URL`` and bookmarks
still work.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ipdesk.accounts import policy
from ipdesk.accounts.selectors import agency_offices
from ipdesk.audit.selectors import chain_head
from ipdesk.core.calendar import calendar
from ipdesk.core.errors import DomainError


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    today = timezone.localdate()
    context: dict[str, Any] = {"role": user.role, "today": today}
    try:
        context["working_day"] = calendar.is_working_day(today)
    except DomainError as exc:
        context["calendar_error"] = exc.message
    if policy.has_role(user, policy.OVERSIGHT):
        context["offices"] = agency_offices()
    if policy.has_role(user, policy.AUDITORS):
        context["audit_head"] = chain_head()
    return render(request, f"core/dashboard_{user.role}.html", context)
