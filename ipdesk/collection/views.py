"""Pages of fee collection for agency-office staff: volumes, fast entry, review, daily reports.

Thin, like the API: a view parses its form, calls a service (every write) or a selector
(reads), then redirects or re-renders. A refusal by a service is shown with the service's own
message; nothing is written here. Collectors and reviewers see their own office only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ipdesk.accounts import policy
from ipdesk.accounts.models import Organisation, User
from ipdesk.core.errors import Conflict, DomainError
from ipdesk.core.money import money_str
from ipdesk.core.pages import choice_label, refusal_text
from ipdesk.core.services import request_fingerprint, run_idempotent

from . import selectors, services
from .channels import CHANNELS, STAFF_VOLUMES, channels_taken_by
from .forms import (
    BaseLineFormSet,
    BookingForm,
    DayForm,
    booking_data,
    expected_amounts,
    first_error_gets_focus,
    initial_from,
    line_formset,
    show_service_errors,
)
from .models import (
    Channel,
    EntryKind,
    Payment,
    PaymentLine,
    PaymentStatus,
    RefundReason,
    Volume,
    VolumeKind,
    VolumeStatus,
)

ZERO = Decimal("0.00")
# Volumes staff open and fill by hand; online payments come through the API, and correction
# volumes are opened by the correction service itself.
OPENABLE = STAFF_VOLUMES

# A sent-back entry is typed again into today's volume of its channel.
REENTRY_VOLUME = {channel: str(rule.volume) for channel, rule in CHANNELS.items()}


# --- whose office ------------------------------------------------------------------------


def _office(request: HttpRequest) -> Organisation:
    office = getattr(request.user, "organisation", None)
    if office is None:
        raise PermissionDenied
    return office


def _own_volume(request: HttpRequest, pk: int) -> Volume:
    volume = selectors.volume(pk)
    if volume is None:
        raise Http404
    if volume.office_id != getattr(request.user, "organisation_id", None):
        policy.refuse(request, "staff of the office")
    return volume


def _own_payment(request: HttpRequest, pk: int) -> Payment:
    payment = selectors.payment(pk)
    if payment is None:
        raise Http404
    if payment.office_id != getattr(request.user, "organisation_id", None):
        policy.refuse(request, "staff of the office")
    return payment


def _actor(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # role_required let only signed-in staff through
    return user


def _channels(volume: Volume) -> list[str]:
    return channels_taken_by(volume.kind)


# --- today's volumes ---------------------------------------------------------------------


@policy.role_required(policy.BOOKKEEPERS)
@require_GET
def today(request: HttpRequest) -> HttpResponse:
    office = _office(request)
    day = timezone.localdate()
    volumes = list(selectors.volumes_of_day(office, day))
    return render(
        request,
        "collection/today.html",
        {
            "office": office,
            "day": day,
            "volumes": volumes,
            "entries": sum(getattr(v, "entries", 0) for v in volumes),
            "amount": sum((getattr(v, "amount", None) or ZERO for v in volumes), ZERO),
            "awaiting": selectors.volumes_awaiting_review(office),
            "left_open": selectors.open_volumes_before(office, day),
            "sent_back": [
                (entry, REENTRY_VOLUME.get(entry.channel, entry.volume.kind))
                for entry in selectors.sent_back_entries(office)
            ],
            "kinds": [(k.value, k.label) for k in OPENABLE],
            "openable": [k.value for k in OPENABLE],
        },
    )


@policy.role_required(policy.BOOKKEEPERS)
@require_POST
def open_volume(request: HttpRequest) -> HttpResponse:
    office = _office(request)
    kind = request.POST.get("kind", "")
    if kind not in OPENABLE:
        messages.error(request, _("Choose a counter, post, bank, transfer or month-end volume."))
        return redirect("collection:today")
    try:
        volume = services.open_volume(
            office=office, kind=kind, day=timezone.localdate(), actor=_actor(request)
        )
    except DomainError as exc:
        messages.error(request, refusal_text(exc))
        return redirect("collection:today")
    url = reverse("collection:book", args=[volume.pk])
    reenters = request.POST.get("reenters", "")
    if reenters.isdigit():
        url += "?" + urlencode({"reenters": reenters})
    return redirect(url)


@policy.role_required(policy.BOOKKEEPERS)
@require_POST
def close_volume(request: HttpRequest, pk: int) -> HttpResponse:
    volume = _own_volume(request, pk)
    try:
        services.close_volume(volume, actor=_actor(request))
    except DomainError as exc:
        messages.error(request, refusal_text(exc))
    else:
        messages.success(
            request,
            _("Volume %(label)s is closed; a reviewer now checks it.") % {"label": volume.label},
        )
    return redirect("collection:today")


# --- fast entry --------------------------------------------------------------------------


def _sent_back_original(request: HttpRequest, value: Any) -> Payment | None:
    text = str(value or "")
    if not text.isdigit():
        return None
    original = _own_payment(request, int(text))
    return original if original.status == PaymentStatus.SENT_BACK else None


def _book(
    request: HttpRequest,
    volume: Volume,
    form: BookingForm,
    formset: BaseLineFormSet,
    original: Payment | None,
) -> int:
    """Book once per rendered form: a double click or a resent page books nothing twice."""
    data = booking_data(form, formset)

    def produce() -> tuple[int, Any]:
        if original is not None:
            payment = services.reenter_payment(
                original, volume=volume, data=data, actor=_actor(request)
            )
        else:
            payment = services.book_payment(volume=volume, data=data, actor=_actor(request))
        return 201, {"id": payment.pk}

    key = form.cleaned_data.get("form_key") or ""
    if not key:
        return int(produce()[1]["id"])
    sent = {k: v for k, v in request.POST.lists() if k != "csrfmiddlewaretoken"}
    _status, body = run_idempotent(
        client=request.user,
        key=f"page:{key}",
        fingerprint=request_fingerprint("POST", request.path, sent),
        produce=produce,
    )
    return int(body["id"])


@policy.role_required(policy.BOOKKEEPERS)
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest, pk: int) -> HttpResponse:
    volume = _own_volume(request, pk)
    channels = _channels(volume)
    context: dict[str, Any] = {"volume": volume, "summary": selectors.volume_summary(volume)}
    # Entries are booked on the volume's day: typing into an earlier day's volume would
    # back-date them (and hide a late booking), so only today's volumes take entries here.
    if (
        volume.status != VolumeStatus.OPEN
        or volume.kind not in OPENABLE
        or not channels
        or volume.day != timezone.localdate()
    ):
        context["closed"] = True
        return render(request, "collection/book.html", context)
    original = _sent_back_original(
        request, request.POST.get("reenters") or request.GET.get("reenters")
    )
    about_lines: list[Any] = []
    preview: dict[str, Any] = {}
    if request.method == "POST":
        form = BookingForm(request.POST, channels=channels)
        formset = line_formset(request.POST)
        valid = form.is_valid() & formset.is_valid()
        if valid and "check" not in request.POST:
            try:
                payment_id = _book(request, volume, form, formset, original)
            except Conflict as exc:
                if exc.code == "idempotency_key_reused":
                    form.add_error(
                        None,
                        _(
                            "This form was already used to book a payment. Check the volume's "
                            "entries below before booking again."
                        ),
                    )
                else:
                    about_lines = show_service_errors(exc, form, formset)
            except DomainError as exc:
                about_lines = show_service_errors(exc, form, formset)
            else:
                messages.success(request, _("Payment booked."))
                url = reverse("collection:book", args=[volume.pk])
                return redirect(f"{url}?{urlencode({'booked': payment_id})}")
        preview = expected_amounts(form, formset)
        first_error_gets_focus(form, formset)
    else:
        initial: dict[str, Any] = {}
        lines = None
        if original is not None:
            initial, lines = initial_from(original)
        form = BookingForm(initial=initial, channels=channels)
        formset = line_formset(initial=lines)
    booked = None
    if request.GET.get("booked", "").isdigit():
        booked = selectors.payment(int(request.GET["booked"]))
        if booked is None or booked.volume_id != volume.pk:
            booked = None
    context.update(
        {
            "form": form,
            "formset": formset,
            "about_lines": about_lines,
            "preview": preview,
            "lines": [
                (line_form, preview.get("lines", {}).get(str(index)))
                for index, line_form in enumerate(formset.forms)
            ],
            "original": original,
            # Each rendering gets its own key: only a resend of the very same page is recognised.
            "form_key": uuid.uuid4().hex,
            "booked": booked,
            "latest": selectors.volume_entries(volume).order_by("-id")[:10],
        }
    )
    return render(request, "collection/book.html", context)


@policy.role_required(policy.BOOKKEEPERS)
@require_GET
def quote(request: HttpRequest, pk: int) -> JsonResponse:
    """The schedule's amount for each fee line typed so far (the entry form's calculator)."""
    volume = _own_volume(request, pk)
    form = BookingForm(request.GET, channels=_channels(volume) or [Channel.COUNTER])
    formset = line_formset(request.GET)
    form.is_valid()
    formset.is_valid()
    result = expected_amounts(form, formset)
    paid_on = result["payment_date"]
    return JsonResponse(
        {
            "payment_date": paid_on.isoformat() if isinstance(paid_on, dt.date) else None,
            "lines": {
                index: (
                    {
                        "amount": money_str(line["amount"]),
                        "explanation": line["explanation"],
                        "differs": line["differs"],
                    }
                    if "amount" in line
                    else line
                )
                for index, line in result["lines"].items()
            },
        }
    )


# --- review ------------------------------------------------------------------------------


@dataclass
class EntryRow:
    """One entry on the review screen, with what the reviewer must notice."""

    entry: Payment
    lines: list[tuple[PaymentLine, Decimal]]  # each line with its difference from the schedule
    overridden: bool
    waiting: bool
    paper_receipt: bool

    @classmethod
    def of(cls, entry: Payment) -> EntryRow:
        lines = list(entry.lines.all())
        return cls(
            entry=entry,
            lines=[(line, line.amount - line.tariff_amount) for line in lines],
            overridden=any(line.amount != line.tariff_amount for line in lines),
            waiting=entry.status == PaymentStatus.ENTERED,
            paper_receipt=entry.channel == Channel.COUNTER
            and entry.entry_kind != EntryKind.REVERSAL
            and entry.status in (PaymentStatus.ENTERED, PaymentStatus.REVIEWED),
        )


@policy.role_required(policy.BOOKKEEPERS)
@require_GET
def volume_detail(request: HttpRequest, pk: int) -> HttpResponse:
    volume = _own_volume(request, pk)
    rows = [EntryRow.of(entry) for entry in selectors.volume_entries(volume)]
    waiting = [r for r in rows if r.waiting]
    return render(
        request,
        "collection/volume.html",
        {
            "volume": volume,
            "today": timezone.localdate(),
            "rows": rows,
            "summary": selectors.volume_summary(volume),
            "waiting": len(waiting),
            "overrides_waiting": any(r.overridden for r in waiting),
            "late": sum(1 for r in rows if r.entry.booked_late),
            "is_reviewer": policy.has_role(request.user, policy.REVIEWERS),
            "can_review": volume.status == VolumeStatus.CLOSED and bool(waiting),
        },
    )


@policy.role_required(policy.BOOKKEEPERS)
@require_POST
def review_volume(request: HttpRequest, pk: int) -> HttpResponse:
    volume = _own_volume(request, pk)
    try:
        reviewed = services.review_volume(
            volume,
            actor=_actor(request),
            approve_overrides=request.POST.get("approve_overrides") == "1",
        )
    except DomainError as exc:
        messages.error(request, refusal_text(exc))
    else:
        if reviewed.status == VolumeStatus.REVIEWED:
            messages.success(request, _("Volume %(label)s is reviewed.") % {"label": volume.label})
        else:
            messages.success(request, _("The entries awaiting review are reviewed."))
    return redirect("collection:volume", pk=volume.pk)


@policy.role_required(policy.BOOKKEEPERS)
@require_POST
def send_back(request: HttpRequest, pk: int) -> HttpResponse:
    payment = _own_payment(request, pk)
    try:
        services.send_back(payment, actor=_actor(request), note=request.POST.get("note", ""))
    except DomainError as exc:
        messages.error(request, refusal_text(exc))
    else:
        messages.success(
            request,
            _("Entry %(number)s is sent back to the collector.")
            % {"number": payment.application_number},
        )
    return redirect("collection:volume", pk=payment.volume_id)


# --- daily reports -----------------------------------------------------------------------


def _volume_label(label: str) -> str:
    kind, _sep, number = label.rpartition("-")
    return f"{choice_label(VolumeKind, kind)} {number}"


def _channel_date_label(label: str) -> str:
    channel, _sep, day = label.partition(" ")
    return f"{choice_label(Channel, channel)} {day}"


@policy.role_required(policy.BOOKKEEPERS)
@require_GET
def daily_report(request: HttpRequest) -> HttpResponse:
    office = _office(request)
    form = DayForm(request.GET or None, initial={"day": timezone.localdate()})
    day = form.cleaned_data["day"] if form.is_bound and form.is_valid() else timezone.localdate()
    report = selectors.daily_report(office, day)
    sections = [
        (
            _("Day closing (日结单) by volume"),
            _("Volume"),
            [(_volume_label(r.label), r.count, r.amount) for r in report.closing],
        ),
        (
            _("Day closing (日结单) by channel"),
            _("Channel"),
            [(choice_label(Channel, r.label), r.count, r.amount) for r in report.by_channel],
        ),
        (
            _("Summary 1 (汇总表1) by fee"),
            _("Fee"),
            [(r.label, r.count, r.amount) for r in report.by_fee],
        ),
        (
            _("Summary 2 (汇总表2) by channel and payment date"),
            _("Channel and payment date"),
            [(_channel_date_label(r.label), r.count, r.amount) for r in report.by_channel_and_date],
        ),
        (
            _("Refunds approved"),
            _("Reason"),
            [(choice_label(RefundReason, r.label), r.count, r.amount) for r in report.refunds],
        ),
    ]
    download = reverse("api:daily-report", args=[office.code])
    return render(
        request,
        "collection/report.html",
        {
            "office": office,
            "form": form,
            "day": day,
            "report": report,
            "sections": [
                (title, head, rows, sum(r[1] for r in rows), sum((r[2] for r in rows), ZERO))
                for title, head, rows in sections
            ],
            "pdf_url": f"{download}?{urlencode({'day': day.isoformat(), 'format': 'pdf'})}",
            "xlsx_url": f"{download}?{urlencode({'day': day.isoformat(), 'format': 'xlsx'})}",
            "counter_payments": selectors.counter_payments_of_day(office, day),
        },
    )
