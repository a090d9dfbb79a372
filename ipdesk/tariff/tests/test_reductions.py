"""Fee reductions come from one list: the calculator, the API and every form offer the same."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ipdesk.core.errors import InvalidInput
from ipdesk.tariff.api import QuoteIn
from ipdesk.tariff.models import Reduction
from ipdesk.tariff.services import QuoteRequest, quote_fees
from ipdesk.tariff.views import QuoteForm

pytestmark = pytest.mark.django_db


def test_the_calculator_page_and_api_offer_the_reductions_of_the_list() -> None:
    listed = set(Reduction.values)
    assert listed == {0, 70, 85}
    assert {int(v) for v, _label in QuoteForm().fields["reduction"].choices} == listed
    assert set(QuoteIn().fields["reduction"].choices) == listed


@pytest.mark.parametrize("reduction", Reduction.values)
def test_each_reduction_takes_its_per_cent_off_a_reducible_fee(reduction: int) -> None:
    quote = quote_fees(
        QuoteRequest(
            patent_kind="invention",
            fee_code="application",
            reduction=reduction,
            paid_on=dt.date(2025, 3, 3),
        )
    )
    assert quote.total == Decimal("900.00") * (100 - reduction) / 100


def test_a_reduction_not_in_the_list_is_refused_naming_those_that_are() -> None:
    with pytest.raises(InvalidInput) as caught:
        quote_fees(QuoteRequest(patent_kind="invention", fee_code="application", reduction=50))
    message = str(caught.value.fields["reduction"][0])
    assert all(str(value) in message for value in Reduction.values)
