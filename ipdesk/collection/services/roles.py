"""Who does what in collection: the staff roles its services admit."""

from __future__ import annotations

from ipdesk.accounts.models import Role

# A reviewer may also book (small offices share the work) but never reviews their own entries.
BOOKING_STAFF = {Role.COLLECTOR, Role.REVIEWER}
REVIEW_STAFF = {Role.REVIEWER}
