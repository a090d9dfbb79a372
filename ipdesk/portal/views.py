"""Pages of the payer portal (我的票据): list, detail, downloads, ZIPs. Thin: parse, read,
render; the only writes (background ZIP jobs) go through ``services``."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ipdesk.accounts import policy
from ipdesk.core.errors import DomainError
from ipdesk.delivery import selectors as delivery_selectors
from ipdesk.delivery import services as delivery_services
from ipdesk.delivery.throttles import SendThrottle
from ipdesk.receipts import documents
from ipdesk.receipts.formats import FORMATS
from ipdesk.receipts.models import Receipt

from . import selectors, services
from .bundle import stream_bundle
from .forms import ReceiptFilterForm, parse_formats

LOGIN = reverse_lazy("accounts:phone")


def _receipt_or_404(request: HttpRequest, code: str, number: str) -> Receipt:
    receipt = selectors.my_receipt(request.user, code, number)
    if receipt is None:
        if selectors.receipt_exists(code, number):
            policy.refuse(request, "receipt owner", as_not_found=True)
        raise Http404()
    return receipt


def _errors(form: ReceiptFilterForm) -> dict[str, list[str]]:
    return {name: [str(m) for m in messages] for name, messages in form.errors.items()}


@require_GET
@login_required(login_url=LOGIN)
def receipt_list(request: HttpRequest) -> HttpResponse:
    form = ReceiptFilterForm(request.GET)
    context: dict[str, Any] = {"form": form, "formats": FORMATS}
    if not form.is_valid():
        context["errors"] = _errors(form)
        return render(request, "portal/receipts.html", context, status=400)
    filters = form.filters()
    page = selectors.receipt_page(request.user, filters, after=form.cleaned_data.get("after"))
    context.update(
        {
            "page": page,
            "filters": filters,
            "query": urlencode(filters),
            "first_page": bool(form.cleaned_data.get("after")),
            "next_query": urlencode({**filters, "after": page.next_after})
            if page.next_after
            else "",
            "sync_limit": settings.IPDESK_PORTAL_SYNC_ZIP_LIMIT,
            "jobs": selectors.my_zip_jobs(request.user)[:5],
        }
    )
    return render(request, "portal/receipts.html", context)


def receipt_context(receipt: Receipt) -> dict[str, Any]:
    reversal = Receipt.objects.select_related("series").filter(original=receipt).first()
    verify_query = urlencode(
        {
            "code": receipt.series.code,
            "number": receipt.number_text,
            "check_code": receipt.check_code,
        }
    )
    return {
        "receipt": receipt,
        "reversal": reversal,
        "formats": FORMATS,
        "verify_query": verify_query,
    }


@require_GET
@login_required(login_url=LOGIN)
def receipt_detail(request: HttpRequest, code: str, number: str) -> HttpResponse:
    receipt = _receipt_or_404(request, code, number)
    context = receipt_context(receipt)
    return render(request, "portal/receipt.html", context)


@require_GET
@login_required(login_url=LOGIN)
def receipt_file(request: HttpRequest, code: str, number: str, fmt: str) -> HttpResponse:
    if fmt not in FORMATS:
        raise Http404()
    receipt = _receipt_or_404(request, code, number)
    return documents.download(receipt, fmt)


@require_POST
@login_required(login_url=LOGIN)
def zip_download(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """A ZIP of the filtered receipts: streamed at once when small, else a background job."""
    form = ReceiptFilterForm(request.POST)
    formats, format_error = parse_formats(request.POST.getlist("formats"))
    if not form.is_valid() or format_error:
        errors = _errors(form) if form.errors else {}
        if format_error:
            errors["formats"] = [format_error]
        context = {"form": form, "errors": errors, "formats": FORMATS}
        return render(request, "portal/receipts.html", context, status=400)
    filters = form.filters()
    if selectors.selection_exceeds(request.user, filters, settings.IPDESK_PORTAL_SYNC_ZIP_LIMIT):
        job = services.start_zip_job(request.user, filters, formats)
        return redirect("portal:zip-job", pk=job.pk)
    receipts = selectors.iterate_receipts(request.user, filters)
    response = StreamingHttpResponse(
        stream_bundle(receipts, formats), content_type="application/zip"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="receipts-{stamp}.zip"'
    return response


def _job_or_404(request: HttpRequest, pk: int) -> Any:
    job = selectors.my_zip_job(request.user, pk)
    if job is None:
        if selectors.zip_job_exists(pk):
            policy.refuse(request, "zip job owner", as_not_found=True)
        raise Http404()
    return job


@require_GET
@login_required(login_url=LOGIN)
def zip_job(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "portal/job.html", {"job": _job_or_404(request, pk)})


@require_GET
@login_required(login_url=LOGIN)
def zip_job_file(request: HttpRequest, pk: int) -> FileResponse:
    job = _job_or_404(request, pk)
    if not job.file:
        raise Http404()
    path = Path(settings.MEDIA_ROOT) / job.file
    if not path.is_file():
        raise Http404()
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"receipts-{job.pk}.zip")


@require_POST
@login_required(login_url=LOGIN)
def receipt_send(request: HttpRequest, code: str, number: str) -> HttpResponse:
    """Send to e-mail (发送到邮箱): the receipt's PDF and OFD to any address, rate-limited."""
    receipt = _receipt_or_404(request, code, number)
    context = receipt_context(receipt)
    email = request.POST.get("email", "")
    context["email"] = email
    if not SendThrottle().allow_request(request, None):
        context["send_errors"] = [_("Too many e-mails sent; try again later.")]
        return render(request, "portal/receipt.html", context, status=429)
    try:
        delivery_services.send_receipt_to(receipt, email=email, actor=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        context["send_errors"] = [str(m) for m in exc.fields.get("email", [exc.message])]
        return render(request, "portal/receipt.html", context, status=400)
    context["sent_to"] = email.strip()
    return render(request, "portal/receipt.html", context)


@login_required(login_url=LOGIN)
def wallets(request: HttpRequest) -> HttpResponse:
    """Wallet apps (电子票夹): a one-time binding code, the bound wallets, revoking one."""
    payer: Any = request.user
    context: dict[str, Any] = {}
    if request.method == "POST":
        try:
            if "revoke" in request.POST:
                binding = delivery_selectors.binding_of(payer, _int(request.POST["revoke"]))
                if binding is None:
                    policy.refuse(request, "binding owner", as_not_found=True)
                delivery_services.revoke_binding(binding, actor=payer)
                context["revoked"] = binding.wallet.name
            else:
                binding_code, code = delivery_services.start_binding(payer)
                context["code"] = code
                context["expires_at"] = binding_code.expires_at
        except DomainError as exc:
            context["errors"] = [str(exc.message)] + [
                str(m) for messages in exc.fields.values() for m in messages
            ]
    context["bindings"] = delivery_selectors.active_bindings(payer)
    return render(
        request, "portal/wallets.html", context, status=400 if "errors" in context else 200
    )


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Http404() from None
