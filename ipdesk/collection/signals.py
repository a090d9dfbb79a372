"""Signals other apps listen to, so that collection needs to know nothing about them."""

from django.dispatch import Signal

# Sent after the transaction that reviewed (or, online, verified) a payment has committed;
# receivers get ``payment_id``. Receipts are issued from here.
payment_reviewed = Signal()
