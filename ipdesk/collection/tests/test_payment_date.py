"""Payment-date rules (缴费日) and the bookkeeping deadline, with calendar edge cases."""

from __future__ import annotations

import datetime as dt

import pytest

from ipdesk.collection.services import ChannelDates, determine_payment_date, is_booked_late
from ipdesk.core.errors import InvalidInput

D = dt.date
pytestmark = pytest.mark.django_db


def test_counter_is_the_day_of_payment() -> None:
    assert determine_payment_date("counter", ChannelDates(received_on=D(2025, 10, 9))) == (
        D(2025, 10, 9),
        "counter_day",
    )


def test_post_is_the_postmark() -> None:
    dates = ChannelDates(received_on=D(2025, 2, 5), postmarked_on=D(2025, 1, 27))
    assert determine_payment_date("post", dates) == (D(2025, 1, 27), "postmark")


def test_post_resent_with_refund_slip_uses_the_second_postmark() -> None:
    dates = ChannelDates(
        received_on=D(2025, 3, 10), postmarked_on=D(2025, 1, 27), second_postmarked_on=D(2025, 3, 5)
    )
    assert determine_payment_date("post", dates) == (D(2025, 3, 5), "second_postmark")


def test_bank_with_complete_information_is_the_transfer_date() -> None:
    dates = ChannelDates(received_on=D(2025, 4, 30), remitted_on=D(2025, 4, 29))
    assert determine_payment_date("bank", dates) == (D(2025, 4, 29), "bank_transfer")


def test_bank_information_completed_on_the_transfer_day_keeps_it() -> None:
    dates = ChannelDates(
        received_on=D(2025, 4, 30), remitted_on=D(2025, 4, 29), info_complete_on=D(2025, 4, 29)
    )
    assert determine_payment_date("bank", dates) == (D(2025, 4, 29), "bank_transfer")


def test_bank_information_completed_later_moves_the_date() -> None:
    dates = ChannelDates(
        received_on=D(2025, 5, 6), remitted_on=D(2025, 4, 29), info_complete_on=D(2025, 5, 6)
    )
    assert determine_payment_date("bank", dates) == (D(2025, 5, 6), "bank_info_completed")


def test_online_is_the_gateway_date() -> None:
    assert determine_payment_date(
        "online", ChannelDates(received_on=D(2025, 5, 6), remitted_on=D(2025, 5, 5))
    ) == (
        D(2025, 5, 5),
        "online",
    )


@pytest.mark.parametrize(
    ("channel", "dates", "field"),
    [
        ("post", ChannelDates(received_on=D(2025, 2, 5)), "postmarked_on"),
        (
            "post",
            ChannelDates(received_on=D(2025, 2, 5), postmarked_on=D(2025, 2, 6)),
            "postmarked_on",
        ),
        ("bank", ChannelDates(received_on=D(2025, 2, 5)), "remitted_on"),
        (
            "bank",
            ChannelDates(
                received_on=D(2025, 2, 5), remitted_on=D(2025, 2, 4), info_complete_on=D(2025, 2, 3)
            ),
            "info_complete_on",
        ),
        ("bank", ChannelDates(received_on=D(2025, 2, 5), remitted_on=D(2099, 2, 4)), "remitted_on"),
        (
            "post",
            ChannelDates(
                received_on=D(2025, 3, 10),
                postmarked_on=D(2025, 2, 7),
                second_postmarked_on=D(2025, 2, 1),
            ),
            "second_postmarked_on",
        ),
        ("cheque", ChannelDates(received_on=D(2025, 2, 5)), "channel"),
    ],
)
def test_impossible_dates_are_refused(channel: str, dates: ChannelDates, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        determine_payment_date(channel, dates)
    assert field in caught.value.fields


@pytest.mark.parametrize(
    ("channel", "arrived", "booked", "late"),
    [
        ("counter", D(2025, 6, 3), D(2025, 6, 3), False),
        ("counter", D(2025, 6, 3), D(2025, 6, 4), True),
        # Bank: arrived Friday 2025-05-30, next working day Tuesday 3 June
        # (Dragon Boat holiday 31 May–2 June).
        ("bank", D(2025, 5, 30), D(2025, 6, 3), False),
        ("bank", D(2025, 5, 30), D(2025, 6, 4), True),
        # Post: arrived Friday 2025-01-24; Sunday 26 January is a make-up working day.
        ("post", D(2025, 1, 24), D(2025, 1, 26), False),
        ("post", D(2025, 1, 24), D(2025, 1, 27), True),
        # Month end: arrived Friday 2025-02-28, next working day Monday 3 March.
        ("bank", D(2025, 2, 28), D(2025, 3, 3), False),
        ("bank", D(2025, 2, 28), D(2025, 3, 4), True),
        ("online", D(2025, 2, 28), D(2025, 3, 20), False),
    ],
)
def test_bookkeeping_deadline(channel: str, arrived: dt.date, booked: dt.date, late: bool) -> None:
    dates = ChannelDates(received_on=arrived, remitted_on=arrived, postmarked_on=arrived)
    assert is_booked_late(channel, dates, booked) is late


def test_bank_deadline_runs_from_when_the_information_was_complete() -> None:
    dates = ChannelDates(
        received_on=D(2025, 4, 25), remitted_on=D(2025, 4, 24), info_complete_on=D(2025, 4, 30)
    )
    # Complete on Wednesday 30 April; 1–5 May are holidays: the next working day is 6 May.
    assert is_booked_late("bank", dates, D(2025, 5, 6)) is False
    assert is_booked_late("bank", dates, D(2025, 5, 7)) is True
