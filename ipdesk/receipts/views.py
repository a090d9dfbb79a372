"""The public verification page (查验): by the numbers on the receipt, or by its file."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from ipdesk.core.errors import DomainError

from . import selectors
from .codes import MAX_UPLOAD_BYTES, parse_verification_query
from .datafile import UnreadableDocument
from .throttles import VerifyThrottle


def verify_page(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {"query": request.GET, "errors": {}}
    asked = request.method == "POST" or "code" in request.GET
    if asked and not VerifyThrottle.allows(request):
        context["refused"] = _("Too many verifications from your address; try again soon.")
        return render(request, "receipts/verify.html", context, status=429)
    try:
        if request.method == "POST":
            upload = request.FILES.get("file")
            if upload is None or not upload.size or upload.size > MAX_UPLOAD_BYTES:
                context["errors"] = {
                    "file": [_("Attach the receipt file (XML, PDF or OFD), at most 2 MB.")]
                }
            else:
                context["answer"] = selectors.verify_document(upload.read())
        elif asked:
            context["answer"] = selectors.verify_receipt(**parse_verification_query(request.GET))
    except DomainError as exc:
        context["errors"] = {
            name: [str(m) for m in messages] for name, messages in exc.fields.items()
        }
    except UnreadableDocument as exc:
        context["errors"] = {
            "file": [
                _("This is not a receipt file ipdesk can read: %(why)s")
                % {"why": str(exc).removeprefix("file: ")}
            ]
        }
    status = 400 if context["errors"] else 200
    return render(request, "receipts/verify.html", context, status=status)
