"""Pickup by code (取票码), shared by the API and the pickup page: parsing what was typed,
finding the receipt the code opens, its download links, and the file download itself."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from ipdesk.core.errors import InvalidInput, NotFound
from ipdesk.receipts.codes import NUMBER_RE
from ipdesk.receipts.formats import FORMATS
from ipdesk.receipts.models import Receipt

from . import codes, selectors

PICKUP_NOT_FOUND = _("No receipt matches this pickup code and receipt number.")


def parse_pickup(params: Any) -> tuple[str, int, str]:
    """Pickup code, receipt number and the wanted format; every error names its field."""
    errors: dict[str, Any] = {}
    code = codes.normalise(params.get("code") or "")
    number = (params.get("number") or "").strip()
    fmt = (params.get("format") or "").strip().lower()
    if not codes.well_formed(code):
        errors["code"] = _("The pickup code (取票码) is %(length)s letters and digits.") % {
            "length": codes.CODE_LENGTH
        }
    if not NUMBER_RE.match(number) or int(number) == 0:
        errors["number"] = _("The receipt number (票据号码) is up to 10 digits.")
    if fmt and fmt not in FORMATS:
        errors["format"] = _("The format is one of: %(formats)s.") % {"formats": ", ".join(FORMATS)}
    if errors:
        raise InvalidInput(fields=errors)
    return code, int(number), fmt


def picked_up(code: str, number: int) -> Receipt:
    receipt = selectors.pickup_receipt(code, number)
    if receipt is None:
        raise NotFound(PICKUP_NOT_FOUND)
    return receipt


def pickup_links(code: str, receipt: Receipt) -> dict[str, str]:
    base = reverse("delivery:pickup-download")
    return {
        fmt: f"{base}?{urlencode({'code': code, 'number': receipt.number_text, 'format': fmt})}"
        for fmt in FORMATS
    }
