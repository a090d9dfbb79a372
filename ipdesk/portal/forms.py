"""The filter of "my receipts": one form for the list, the ZIP and the background job."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ipdesk.core.identifiers import parse_application_number
from ipdesk.receipts.formats import FORMATS
from ipdesk.receipts.models import ReceiptKind
from ipdesk.tariff.selectors import fee_type

GENUINE = "genuine"
REVERSED = "reversed"


class ReceiptFilterForm(forms.Form):
    date_from = forms.DateField(
        label=_("Issued from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Issued until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    application_number = forms.CharField(label=_("Application number"), required=False)
    fee_code = forms.SlugField(label=_("Fee code"), required=False, max_length=40)
    amount = forms.DecimalField(
        label=_("Amount (yuan)"),
        required=False,
        max_digits=14,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any")), (GENUINE, _("In force")), (REVERSED, _("Reversed (冲红)"))],
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any")), *ReceiptKind.choices]
    )
    after = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean_application_number(self) -> str:
        raw = self.cleaned_data.get("application_number", "").strip()
        if not raw:
            return ""
        try:
            return parse_application_number(raw).digits
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None

    def clean_fee_code(self) -> str:
        code = self.cleaned_data.get("fee_code", "").strip()
        if code and fee_type(code) is None:
            raise ValidationError(_("No fee has this code."), code="unknown_fee")
        return code

    def clean_amount(self) -> Decimal | None:
        amount = self.cleaned_data.get("amount")
        if amount is not None and amount == 0:
            raise ValidationError(_("A receipt's amount is never zero."), code="zero_amount")
        return amount

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filters(self) -> dict[str, Any]:
        """The cleaned filters (without the page position), JSON-friendly."""
        data = self.cleaned_data
        out: dict[str, Any] = {}
        for name in ("date_from", "date_to"):
            if data.get(name):
                out[name] = data[name].isoformat()
        for name in ("application_number", "fee_code", "status", "kind"):
            if data.get(name):
                out[name] = data[name]
        if data.get("amount") is not None:
            out["amount"] = str(data["amount"])
        return out


def parse_formats(raw: list[str]) -> tuple[list[str], str | None]:
    """The formats asked for in a ZIP (PDF always); an error message for an unknown one."""
    formats = ["pdf"]
    for value in raw:
        value = value.strip().lower()
        if value not in FORMATS:
            return formats, str(
                _("Unknown format; use one of: %(formats)s.") % {"formats": ", ".join(FORMATS)}
            )
        if value not in formats:
            formats.append(value)
    return formats, None
