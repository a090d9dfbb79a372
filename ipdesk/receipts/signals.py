"""Signals other apps listen to (delivery), so that receipts needs to know nothing of them."""

from django.dispatch import Signal

# Sent after the transaction that issued receipts has committed; receivers get
# ``receipt_ids`` (blue and red receipts alike, in number order).
receipts_issued = Signal()
