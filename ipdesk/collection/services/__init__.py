"""Every write of fee collection, one module per topic.

- ``volumes``: bookkeeping volumes opened and closed;
- ``payment_dates``: the payment date (缴费日) of each channel and the booking deadline;
- ``booking``: a payment booked into an open volume, priced by the schedule;
- ``review``: review (复核) by a second person, sent-back entries and their re-entry;
- ``corrections``: reversal and replacement of a reviewed payment (更正);
- ``refunds``: refunds (退款) and returned remittances;
- ``ledger``: the office ledger's journal entries;
- ``roles``: the staff roles these services admit.

Callers use the package (``from ipdesk.collection import services``); the names below are
its public surface.
"""

from .booking import BookingData, LineData, PayerData, book_payment
from .corrections import correct_payment
from .ledger import post_journal
from .payment_dates import ChannelDates, determine_payment_date, is_booked_late
from .refunds import decide_refund, refundable, request_refund, return_remittance
from .review import reenter_payment, review_payment, review_volume, send_back
from .volumes import close_volume, open_volume

__all__ = [
    "BookingData",
    "ChannelDates",
    "LineData",
    "PayerData",
    "book_payment",
    "close_volume",
    "correct_payment",
    "decide_refund",
    "determine_payment_date",
    "is_booked_late",
    "open_volume",
    "post_journal",
    "reenter_payment",
    "refundable",
    "request_refund",
    "return_remittance",
    "review_payment",
    "review_volume",
    "send_back",
]
