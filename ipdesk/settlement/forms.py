"""The forms of the settlement pages.

Like the bookkeeping forms, they check only the shape of the input (a month is a month, a
date a date); every business rule stays in the services, whose ``InvalidInput.fields`` are
put back next to the field they name by ``show_service_errors``. Amounts are kept as the
text typed: the services read money from text and refuse what is not an amount in yuan.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ipdesk.collection.forms import DateInput
from ipdesk.core.errors import DomainError, InvalidInput

from . import services


class MonthInput(forms.TextInput):
    """A month picker on phones; browsers without one show a text box taking YYYY-MM."""

    input_type = "month"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"placeholder": "YYYY-MM", "pattern": r"\d{4}-\d{2}", **(attrs or {})})

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, dt.date):
            return f"{value:%Y-%m}"
        return super().format_value(value)


class MonthField(forms.Field):
    """``YYYY-MM`` read as the first day of the month (the services' own reading)."""

    widget = MonthInput

    def to_python(self, value: Any) -> dt.date | None:
        if isinstance(value, dt.date):
            return value.replace(day=1)
        text = str(value or "").strip()
        if not text:
            return None
        try:
            return services.parse_month(text)
        except InvalidInput as exc:
            raise ValidationError([str(m) for ms in exc.fields.values() for m in ms]) from None


def _amount(label: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=20,
        help_text=_("In yuan, e.g. 1234.50"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )


def _reference(label: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "mono"}),
    )


def _text(label: Any, max_length: int = 4000) -> forms.CharField:
    return forms.CharField(
        label=label, max_length=max_length, widget=forms.Textarea(attrs={"rows": 3})
    )


class Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label_suffix = ""


class MonthForm(Form):
    month = MonthField(label=_("Month"))


class YearForm(Form):
    year = forms.IntegerField(
        label=_("Year"),
        min_value=2000,
        max_value=2100,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "short"}),
    )


class DisputeForm(Form):
    differences = _text(_("Differences found against the office's own data"))


class RemittanceForm(Form):
    bank_reference = _reference(_("Bank reference"))
    remitted_on = forms.DateField(label=_("Transfer date"), widget=DateInput())
    amount = _amount(_("Amount"))


class InterestForm(Form):
    month = MonthField(label=_("Month the interest was earned"))
    amount = _amount(_("Interest"))
    explanation = _text(_("How the interest arose"))
    bank_reference = _reference(_("Bank reference"))
    remitted_on = forms.DateField(label=_("Transfer date"), widget=DateInput())


class DeductionForm(Form):
    year = forms.IntegerField(
        label=_("Year"), widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    reference = _reference(_("Decision reference"))
    base_amount = _amount(_("Fees misappropriated or withheld"))
    reason = _text(_("Reason"))


class ExcuseForm(Form):
    reason = _text(_("Reason accepted for the delay"), max_length=1000)


def show_service_errors(error: DomainError, form: forms.Form) -> None:
    """Each of the service's field errors next to its input; any other refusal above them."""
    if not error.fields:
        form.add_error(None, str(error.message))
        return
    for name, messages in error.fields.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, str(message))
