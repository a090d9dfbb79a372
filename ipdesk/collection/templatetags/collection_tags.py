"""Template filters of the bookkeeping pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from ipdesk.core.money import money_str

register = template.Library()


@register.filter
def yuan(value: Any) -> str:
    """An amount with its two decimals ("2750.00"); sums read back from SQLite lose them."""
    if value is None or value == "":
        return "0.00"
    try:
        return money_str(Decimal(value))
    except (ValueError, ArithmeticError, TypeError):
        return str(value)


@register.filter
def signed_yuan(value: Any) -> str:
    """A difference with its sign ("+50.00", "-20.00")."""
    text = yuan(value)
    return text if text.startswith("-") else f"+{text}"
