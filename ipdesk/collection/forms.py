"""The staff entry form: parsing what was typed into the service's ``BookingData``.

The forms check only the shape of the input (dates are dates, numbers are numbers); every
business rule stays in ``services.book_payment``, whose ``InvalidInput.fields`` are put back
next to the field they name by ``show_service_errors``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseFormSet, formset_factory
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipdesk.core.errors import DomainError, InvalidInput
from ipdesk.core.identifiers import parse_application_number
from ipdesk.tariff import selectors as tariff_selectors
from ipdesk.tariff.models import FeeType, Reduction
from ipdesk.tariff.services import QuoteRequest, quote_fees

from . import services
from .channels import CHANNELS, DATE_FIELDS
from .models import Channel, PayerKind, Payment

ALL_DATES = DATE_FIELDS
# Fields of every line that belong to the application rather than to one fee.
SHARED_LINE_FIELDS = ("reduction", "filing_date", "grant_date")
MAX_LINES = 50


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class FeeSelect(forms.Select):
    """A fee list whose options say which quantity each fee needs (for the page's script)."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        basis = getattr(self, "bases", {}).get(str(value))
        if basis:
            option["attrs"]["data-basis"] = basis
        return option


def _number(label: Any, low: int, high: int) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=low,
        max_value=high,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "short"}),
    )


class BookingForm(forms.Form):
    """One payment: payer, application, channel dates. Its fee lines are ``LineFormSet``."""

    payer_name = forms.CharField(
        label=_("Payer"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    payer_kind = forms.ChoiceField(
        label=_("Payer kind"), choices=PayerKind.choices, initial=PayerKind.INDIVIDUAL
    )
    payer_id_code = forms.CharField(
        label=_("Credit code or ID number"),
        max_length=18,
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "mono"}),
    )
    payer_phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    payer_email = forms.CharField(
        label=_("E-mail"),
        max_length=254,
        required=False,
        widget=forms.TextInput(attrs={"type": "email", "autocomplete": "off"}),
    )
    receipt_title = forms.CharField(
        label=_("Receipt title (抬头)"),
        max_length=200,
        required=False,
        help_text=_("Leave empty to use the payer's name."),
    )
    application_number = forms.CharField(
        label=_("Application number"),
        max_length=20,
        help_text=_("12 digits and the check character, e.g. 202310123456.7"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "mono"}),
    )
    reduction = forms.TypedChoiceField(
        label=_("Fee reduction"),
        coerce=int,
        initial=0,
        choices=Reduction.choices,
    )
    filing_date = forms.DateField(label=_("Filing date"), required=False, widget=DateInput())
    grant_date = forms.DateField(label=_("Grant date"), required=False, widget=DateInput())
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    received_on = forms.DateField(
        label=_("Arrived at the office"),
        widget=DateInput(),
        help_text=_("At the counter: the day of payment."),
    )
    remitted_on = forms.DateField(label=_("Transfer date"), required=False, widget=DateInput())
    info_complete_on = forms.DateField(
        label=_("Complete information arrived"),
        required=False,
        widget=DateInput(),
        help_text=_("Only when the transfer lacked the application number or the fee names."),
    )
    postmarked_on = forms.DateField(label=_("Postmark date"), required=False, widget=DateInput())
    second_postmarked_on = forms.DateField(
        label=_("Second postmark date"),
        required=False,
        widget=DateInput(),
        help_text=_("Only for a remittance resent with the refund slip completed."),
    )
    voucher_ref = forms.CharField(label=_("Voucher reference"), max_length=100, required=False)
    reenters = forms.IntegerField(required=False, widget=forms.HiddenInput())
    form_key = forms.CharField(max_length=100, required=False, widget=forms.HiddenInput())

    def __init__(self, *args: Any, channels: Sequence[str], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("received_on", timezone.localdate())
        kwargs["initial"].setdefault("channel", channels[0] if channels else "")
        super().__init__(*args, **kwargs)
        self.label_suffix = ""
        self.channels = list(channels)
        field = self.fields["channel"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(c, label) for c, label in Channel.choices if c in self.channels]
        if len(self.channels) == 1:
            field.widget = forms.HiddenInput()
        wanted = {name for c in self.channels if c in CHANNELS for name in CHANNELS[c].dates}
        for name in ALL_DATES:
            if name not in wanted:
                del self.fields[name]
        self.fields["payer_name"].widget.attrs["autofocus"] = True

    def date_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ALL_DATES if name in self.fields]

    def date(self, name: str) -> dt.date | None:
        value = self.cleaned_data.get(name)
        return value if isinstance(value, dt.date) else None


class LineForm(forms.Form):
    fee_code = forms.ChoiceField(label=_("Fee"), required=False, widget=FeeSelect())
    year = _number(_("Patent year"), 1, 30)
    quantity = _number(_("Quantity"), 1, 999)
    claims = _number(_("Number of claims"), 1, 100_000)
    pages = _number(_("Description pages"), 1, 100_000)
    amount = forms.DecimalField(
        label=_("Amount paid"),
        required=False,
        max_digits=15,
        decimal_places=2,
        min_value=0,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    override_reason = forms.CharField(
        label=_("Reason for a different amount"),
        max_length=300,
        required=False,
        help_text=_("Only with a documented reason; a reviewer must approve it."),
    )

    def __init__(self, *args: Any, fees: Sequence[FeeType] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label_suffix = ""
        field = self.fields["fee_code"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "—"), *((f.code, f.name) for f in fees)]
        widget = field.widget
        assert isinstance(widget, FeeSelect)
        widget.bases = {f.code: f.basis for f in fees}  # type: ignore[attr-defined]

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not data.get("fee_code") and data.get("amount") is None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("fee_code") and data.get("amount") is None and "amount" not in self.errors:
            self.add_error("amount", _("Enter the amount paid."))
        if data.get("amount") is not None and not data.get("fee_code"):
            self.add_error("fee_code", _("Choose the fee this amount is for."))
        return data


if TYPE_CHECKING:
    _FormSet = BaseFormSet[LineForm]
else:  # Django's formsets are generic for the type checker only
    _FormSet = BaseFormSet


class BaseLineFormSet(_FormSet):
    def filled(self) -> list[tuple[int, LineForm]]:
        """The lines that were filled in, with their row index on the page."""
        return [(i, f) for i, f in enumerate(self.forms) if not f.is_blank()]


LineFormSet = formset_factory(
    LineForm, formset=BaseLineFormSet, extra=3, max_num=MAX_LINES, validate_max=True
)


def line_formset(data: Any = None, initial: list[dict[str, Any]] | None = None) -> BaseLineFormSet:
    """The fee lines of the entry form (``lines-N-…``), the fee list read once for all rows."""
    formset = LineFormSet(
        data,
        initial=initial,
        prefix="lines",
        form_kwargs={"fees": list(tariff_selectors.fee_types())},
    )
    if initial:
        formset.extra = 1
    assert isinstance(formset, BaseLineFormSet)
    return formset


class DayForm(forms.Form):
    """The day of the daily report."""

    day = forms.DateField(label=_("Day"), widget=DateInput())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label_suffix = ""


# --- from the forms to the service, and back ---------------------------------------------


def _line_data(line: dict[str, Any], shared: dict[str, Any]) -> services.LineData:
    return services.LineData(
        fee_code=line["fee_code"],
        amount=line["amount"],
        year=line.get("year"),
        quantity=line.get("quantity"),
        claims=line.get("claims"),
        pages=line.get("pages"),
        reduction=shared.get("reduction") or 0,
        filing_date=shared.get("filing_date"),
        grant_date=shared.get("grant_date"),
        override_reason=line.get("override_reason") or "",
    )


def booking_data(form: BookingForm, formset: BaseLineFormSet) -> services.BookingData:
    """Both forms must be valid; blank line rows are left out."""
    data = form.cleaned_data
    return services.BookingData(
        channel=data["channel"],
        payer=services.PayerData(
            name=data["payer_name"],
            kind=data["payer_kind"],
            id_code=data["payer_id_code"],
            phone=data.get("payer_phone") or "",
            email=data.get("payer_email") or "",
            receipt_title=data.get("receipt_title") or "",
        ),
        application_number=data["application_number"],
        lines=[_line_data(f.cleaned_data, data) for _i, f in formset.filled()],
        dates=services.ChannelDates(
            received_on=data["received_on"],
            remitted_on=form.date("remitted_on"),
            postmarked_on=form.date("postmarked_on"),
            info_complete_on=form.date("info_complete_on"),
            second_postmarked_on=form.date("second_postmarked_on"),
        ),
        voucher_ref=data.get("voucher_ref") or "",
    )


def show_service_errors(
    error: DomainError, form: BookingForm, formset: BaseLineFormSet
) -> list[Any]:
    """Put each of the service's field errors next to the input it names.

    Returns the errors about the fee lines as a whole (shown above them). A refusal without
    fields (not allowed, volume closed) becomes an error of the whole form.
    """
    rows = [index for index, _form in formset.filled()]
    about_lines: list[Any] = []
    if not error.fields:
        form.add_error(None, error.message)
        return about_lines
    for name, messages in error.fields.items():
        for message in messages:
            _place(name, message, form, formset, rows, about_lines)
    return about_lines


def _place(
    name: str,
    message: Any,
    form: BookingForm,
    formset: BaseLineFormSet,
    rows: list[int],
    about_lines: list[Any],
) -> None:
    parts = name.split(".")
    if parts[0] == "payer" and len(parts) == 2:
        target = f"payer_{parts[1]}" if parts[1] != "receipt_title" else "receipt_title"
        form.add_error(target if target in form.fields else None, message)
    elif parts[0] == "lines" and len(parts) >= 2 and parts[1].isdigit():
        index = int(parts[1])
        line_form = formset.forms[rows[index]] if index < len(rows) else None
        field = parts[2] if len(parts) > 2 else None
        if field in SHARED_LINE_FIELDS:
            if str(message) not in form.errors.get(field, []):
                form.add_error(field, message)
        elif line_form is None:
            about_lines.append(message)
        else:
            line_form.add_error(field if field in line_form.fields else None, message)
    elif parts[0] == "lines":
        about_lines.append(message)
    else:
        form.add_error(name if name in form.fields else None, message)


def first_error_gets_focus(form: BookingForm, formset: BaseLineFormSet) -> None:
    """After a refusal the cursor goes to the first input in error (in page order)."""
    bottom = ("channel", *ALL_DATES, "voucher_ref")
    names = [n for n in form.fields if n in form.errors and not form.fields[n].widget.is_hidden]
    candidates = [form.fields[n] for n in names if n not in bottom]
    for line_form in formset.forms:
        candidates += [line_form.fields[n] for n in line_form.fields if n in line_form.errors]
    candidates += [form.fields[n] for n in names if n in bottom]
    if candidates:
        form.fields["payer_name"].widget.attrs.pop("autofocus", None)
        candidates[0].widget.attrs["autofocus"] = True


def initial_from(payment: Payment) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What to prefill when a sent-back entry is typed again (counts of claims/pages excepted)."""
    booking: dict[str, Any] = {
        "payer_name": payment.payer_name,
        "payer_kind": payment.payer_kind,
        "payer_id_code": payment.payer_id_code,
        "payer_phone": payment.payer_phone,
        "payer_email": payment.payer_email,
        "receipt_title": payment.receipt_title,
        "application_number": payment.application_number,
        "channel": payment.channel,
        "voucher_ref": payment.voucher_ref,
        "reenters": payment.pk,
    }
    for name in ALL_DATES:
        value = getattr(payment, name)
        if value is not None:
            booking[name] = value
    lines = [
        {
            "fee_code": line.fee_type.code,
            "year": line.year,
            "quantity": line.quantity if line.fee_type.basis == "count" else None,
            "amount": line.amount,
            "override_reason": line.override_reason,
        }
        for line in payment.lines.all()
    ]
    return booking, lines


# --- the inline fee calculator -----------------------------------------------------------


def _typed_amount(line_form: forms.Form) -> Any:
    """The amount as typed, also when the service refused it (and so took it out)."""
    try:
        return line_form.fields["amount"].clean(line_form["amount"].value())
    except ValidationError:
        return None


def expected_amounts(form: BookingForm, formset: BaseLineFormSet) -> dict[str, Any]:
    """The schedule's amount of each line typed so far, by row index; nothing is written.

    Works on partly filled forms: whatever cannot be read yet is left out.
    """
    data: dict[str, Any] = getattr(form, "cleaned_data", {})
    out: dict[str, Any] = {"payment_date": None, "patent_kind": None, "lines": {}}
    try:
        number = parse_application_number(data.get("application_number") or "")
    except ValidationError:  # not typed completely yet
        return out
    out["patent_kind"] = number.patent_kind
    paid_on = timezone.localdate()
    received = data.get("received_on")
    if isinstance(received, dt.date):
        try:
            paid_on, _rule = services.determine_payment_date(
                data.get("channel") or "",
                services.ChannelDates(
                    received_on=received,
                    remitted_on=form.date("remitted_on"),
                    postmarked_on=form.date("postmarked_on"),
                    info_complete_on=form.date("info_complete_on"),
                    second_postmarked_on=form.date("second_postmarked_on"),
                ),
            )
            out["payment_date"] = paid_on
        except DomainError:
            pass
    for index, line_form in enumerate(formset.forms):
        line = getattr(line_form, "cleaned_data", None) or {}
        if not line.get("fee_code"):
            continue
        try:
            quote = quote_fees(
                QuoteRequest(
                    patent_kind=number.patent_kind,
                    fee_code=line["fee_code"],
                    quantity=line.get("quantity"),
                    year=line.get("year"),
                    claims=line.get("claims"),
                    pages=line.get("pages"),
                    reduction=data.get("reduction") or 0,
                    filing_date=data.get("filing_date"),
                    grant_date=data.get("grant_date"),
                    paid_on=paid_on,
                )
            )
        except InvalidInput as exc:
            messages = [str(m) for ms in exc.fields.values() for m in ms] or [str(exc.message)]
            out["lines"][str(index)] = {"error": " ".join(messages)}
            continue
        except DomainError as exc:
            out["lines"][str(index)] = {"error": str(exc.message)}
            continue
        amount = _typed_amount(line_form)
        out["lines"][str(index)] = {
            "amount": quote.total,
            "explanation": " ".join(q.explanation for q in quote.lines),
            "differs": amount is not None and amount != quote.total,
        }
    return out
