"""The anonymous pickup page (取票): pickup code + receipt number → that receipt's files."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from ipdesk.core.errors import DomainError
from ipdesk.receipts.documents import download

from .pickup import parse_pickup, picked_up, pickup_links
from .throttles import PickupThrottle


def _refused(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    context["refused"] = _("Too many pickup attempts from your address; try again soon.")
    return render(request, "delivery/pickup.html", context, status=429)


def pickup_page(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {"query": request.GET, "errors": {}}
    if "code" not in request.GET:
        return render(request, "delivery/pickup.html", context)
    if not PickupThrottle.allows(request):
        return _refused(request, context)
    status = 200
    try:
        code, number, _fmt = parse_pickup(request.GET)
        receipt = picked_up(code, number)
        context["receipt"] = receipt
        context["links"] = pickup_links(code, receipt)
    except DomainError as exc:
        status = exc.status
        context["errors"] = {name: [str(m) for m in msgs] for name, msgs in exc.fields.items()}
        if not exc.fields:
            context["not_found"] = str(exc.message)
    return render(request, "delivery/pickup.html", context, status=status)


def pickup_download(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {"query": request.GET, "errors": {}}
    if not PickupThrottle.allows(request):
        return _refused(request, context)
    try:
        params = request.GET.copy()
        params.setdefault("format", "pdf")
        code, number, fmt = parse_pickup(params)
        return download(picked_up(code, number), fmt)
    except DomainError as exc:
        context["errors"] = {name: [str(m) for m in msgs] for name, msgs in exc.fields.items()}
        if not exc.fields:
            context["not_found"] = str(exc.message)
        return render(request, "delivery/pickup.html", context, status=exc.status)
