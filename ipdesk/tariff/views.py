"""The fee calculator page, for payers and staff alike."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from ipdesk.core.errors import DomainError

from . import selectors
from .models import PatentKind, Reduction
from .services import QuoteRequest, quote_fees


class QuoteForm(forms.Form):
    patent_kind = forms.ChoiceField(label=_("Patent kind"), choices=PatentKind.choices)
    fee_code = forms.ChoiceField(label=_("Fee"))
    year = forms.IntegerField(
        label=_("Patent year (annual fee)"), required=False, min_value=1, max_value=30
    )
    quantity = forms.IntegerField(label=_("Quantity"), required=False, min_value=1, max_value=999)
    claims = forms.IntegerField(label=_("Number of claims"), required=False, min_value=1)
    pages = forms.IntegerField(label=_("Description pages"), required=False, min_value=1)
    reduction = forms.TypedChoiceField(
        label=_("Fee reduction"),
        coerce=int,
        initial=0,
        choices=Reduction.choices,
    )
    filing_date = forms.DateField(
        label=_("Filing date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    grant_date = forms.DateField(
        label=_("Grant date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    paid_on = forms.DateField(
        label=_("Payment date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fee_code"].choices = [(f.code, f.name) for f in selectors.fee_types()]


def quote_page(request: HttpRequest) -> HttpResponse:
    form = QuoteForm(request.GET or None)
    quote = None
    if form.is_valid():
        try:
            quote = quote_fees(QuoteRequest(**form.cleaned_data))
        except DomainError as exc:
            for name, messages in exc.fields.items():
                target = name if name in form.fields else None
                for message in messages:
                    form.add_error(target, message)
    return render(request, "tariff/quote.html", {"form": form, "quote": quote})
