"""The numbers that name a receipt (票据代码, 票据号码, 校验码) as people type them, and the
inputs of verification (查验), shared by the API and the verification page."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy as _

from ipdesk.core.errors import InvalidInput

CODE_RE = re.compile(r"^[0-9]{8}$")
NUMBER_RE = re.compile(r"^[0-9]{1,10}$")
CHECK_CODE_RE = re.compile(r"^[0-9a-zA-Z]{6}$")
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


def parse_verification_query(params: Any) -> dict[str, Any]:
    """The inputs of 查验 from a query string, each checked; every error names its field."""
    errors: dict[str, Any] = {}
    code = (params.get("code") or "").strip()
    number = (params.get("number") or "").strip()
    check_code = (params.get("check_code") or "").strip()
    raw_date = (params.get("date") or "").strip()
    raw_amount = (params.get("amount") or "").strip()
    if not CODE_RE.match(code):
        errors["code"] = _("The receipt code (票据代码) is 8 digits.")
    if not NUMBER_RE.match(number) or int(number) == 0:
        errors["number"] = _("The receipt number (票据号码) is up to 10 digits.")
    if not CHECK_CODE_RE.match(check_code):
        errors["check_code"] = _("The check code (校验码) is 6 letters or digits.")
    issue_date: dt.date | None = None
    if raw_date:
        try:
            issue_date = dt.date.fromisoformat(raw_date)
        except ValueError:
            errors["date"] = _("Enter a date as YYYY-MM-DD.")
    amount: Decimal | None = None
    if raw_amount:
        try:
            amount = Decimal(raw_amount)
            if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
                raise InvalidOperation
        except InvalidOperation:
            errors["amount"] = _("Enter the amount in yuan with at most two decimals.")
            amount = None
    if errors:
        raise InvalidInput(fields=errors)
    return {
        "code": code,
        "number": int(number),
        "check_code": check_code.lower(),
        "issue_date": issue_date,
        "amount": amount,
    }
