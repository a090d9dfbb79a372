"""Payments are entered with the fee reductions of the tariff's one list."""

from __future__ import annotations

from ipdesk.collection.api import LineIn
from ipdesk.collection.forms import BookingForm
from ipdesk.tariff.models import Reduction


def test_the_entry_page_and_the_api_offer_the_reductions_of_the_list(db: None) -> None:
    listed = set(Reduction.values)
    form = BookingForm(channels=["counter"])
    assert {int(v) for v, _label in form.fields["reduction"].choices} == listed
    assert set(LineIn().fields["reduction"].choices) == listed
