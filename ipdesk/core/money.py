"""Money in yuan (CNY) as ``Decimal`` with two places, and amounts in Chinese capitals (大写).

Floats are refused everywhere: a binary float cannot hold 0.10 exactly, and a fee office
must reconcile to the fen. An amount is typed in as text or an integer, or computed from
Decimals and then rounded with :func:`round_money`.

Capitals follow the rules for writing amounts on receipts and vouchers in 《支付结算办法》
(附件一 "正确填写票据和结算凭证的基本规定") and 《会计基础工作规范》 art. 52, which the
layout of a fiscal e-receipt uses for its total:

- digits 零壹贰叁肆伍陆柒捌玖, units 拾佰仟, 万 and 亿, then 元角分;
- a leading 1 in the tens is written 壹拾 (10 → 壹拾元整), never a bare 拾, so that nothing
  can be written in front of it;
- 整 follows an amount that ends at 元; after 角 it may be omitted and is (1.20 → 壹元贰角);
  after 分 it is never written;
- a run of zeros between two non-zero digits is written as one 零, wherever the run lies:
  inside a four-digit group (1005 → 壹仟零伍), across the 万 or 亿 boundary
  (100000001 → 壹亿零壹元整), or across 元 (1005.07 → 壹仟零伍元零柒分). The rules make the
  零 compulsory when 角 is 0 and 分 is not, and optional when only the 万, 亿 or 元 digit
  itself is 0 before a non-zero digit (105000 → 壹拾万零伍仟 or 壹拾万伍仟; 10.50 →
  壹拾元零伍角 or 壹拾元伍角). ipdesk always writes it, so one rule covers every case and the
  result never depends on where a group happens to end;
- zeros before the first or after the last non-zero digit are not written, so an amount under
  one yuan starts with 角 or 分 (0.05 → 伍分) and zero itself is 零元整;
- a negative amount (a red-letter reversal receipt, 冲红) is prefixed 负.

Numbers above 亿 are counted in 万 of 亿 (10^12 → 壹万亿), which is enough for the
supported maximum of 9 999 999 999 999.99.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, localcontext

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT_IN_WORDS = Decimal("9999999999999.99")

CAPITAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")

# Plain decimal notation only: no exponent, no grouping, no full-width digits, so that what a
# clerk typed is what is stored.
_AMOUNT_RE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")

# The default context keeps 28 significant digits; quantising a larger number would raise
# InvalidOperation instead of giving an answer, so exact work gets room to spare.
_PRECISION = 60


def _refuse_non_decimal(value: object) -> None:
    # bool is an int subclass, and True yuan is a bug, not an amount.
    if isinstance(value, float | bool):
        raise TypeError(f"money is never a {type(value).__name__}; pass a Decimal, int or str")


def to_money(value: Decimal | int | str) -> Decimal:
    """An exact amount in yuan, quantised to 0.01.

    Accepts a Decimal, an int, or a string in plain notation ("900", "1234.5", "-3.20").
    Trailing zeros beyond the fen are harmless ("1.500" is 1.50); a non-zero digit beyond
    the fen is refused, never rounded, because it means the input is not a price.
    """
    _refuse_non_decimal(value)
    if isinstance(value, str):
        text = value.strip()
        if not _AMOUNT_RE.fullmatch(text):
            raise ValidationError(
                _("Enter an amount in yuan, such as 900 or 1234.50."), code="money_format"
            )
        amount = Decimal(text)
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    else:
        raise TypeError(f"an amount is a Decimal, int or str, not {type(value).__name__}")
    if not amount.is_finite():
        raise ValidationError(
            _("An amount must be a finite number of yuan."), code="money_not_finite"
        )
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)  # finite, so never "n", "N" or "F"
    if exponent < -2:
        beyond_fen = amount.as_tuple().digits[exponent + 2 :]
        if any(beyond_fen):
            raise ValidationError(
                _("An amount has at most two decimal places (fen)."), code="money_precision"
            )
    with localcontext() as context:
        context.prec = max(_PRECISION, amount.adjusted() + 4)
        money = amount.quantize(CENT)
    # -0.00 would print as "-0.00" and read as a reversal of nothing.
    return money if money else ZERO


def round_money(value: Decimal | int) -> Decimal:
    """A computed amount (a 15 % share, a 5 % late charge) rounded to the fen.

    ROUND_HALF_UP rounds a half fen away from zero (2.675 → 2.68, -2.675 → -2.68), which is
    how amounts are rounded by hand in Chinese bookkeeping, unlike Decimal's default
    banker's rounding.
    """
    _refuse_non_decimal(value)
    amount = Decimal(value) if isinstance(value, int) else value
    if not amount.is_finite():
        raise ValueError(f"cannot round {amount} to the fen")
    with localcontext() as context:
        context.prec = max(_PRECISION, amount.adjusted() + 4)
        money = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return money if money else ZERO


def money_str(value: Decimal | int | str) -> str:
    """The amount as the API writes it: two decimals, no grouping ("1234.50")."""
    if type(value) is Decimal and value.as_tuple().exponent == -2 and value:
        return f"{value:f}"  # already money, as read from the database: nothing to check
    return f"{to_money(value):f}"


def _integer_in_words(yuan: int) -> tuple[str, bool]:
    """Capitals for a positive whole number of yuan, and whether its last digit is 0.

    The second value lets the caller continue a run of zeros into 角 and 分.
    """
    digits = str(yuan)
    top = len(digits) - 1
    words: list[str] = []
    in_zero_run = False
    for index, char in enumerate(digits):
        position = top - index
        digit = int(char)
        if digit:
            if in_zero_run:
                words.append("零")
                in_zero_run = False
            words.append(CAPITAL_DIGITS[digit] + SMALL_UNITS[position % 4])
        else:
            in_zero_run = True
        if position and position % 4 == 0:
            if position % 8 == 0:
                # The leading digit is non-zero, so something always stands before 亿.
                words.append("亿")
            elif int(digits[max(0, index - 3) : index + 1]):
                # An all-zero 万 group is silent: 100000001 is 壹亿零壹, not 壹亿万零壹.
                words.append("万")
    return "".join(words), in_zero_run


def amount_in_words(value: Decimal | int | str) -> str:
    """The amount in capitals as on a fiscal receipt: 1005.07 → 壹仟零伍元零柒分.

    See the module docstring for the rules. Raises ``ValueError`` above
    9 999 999 999 999.99 in absolute value; the input goes through :func:`to_money`.
    """
    amount = to_money(value)
    if abs(amount) > MAX_AMOUNT_IN_WORDS:
        raise ValueError(f"{amount} is too large to write in capitals")
    sign = "负" if amount < 0 else ""
    fen_total = int(abs(amount) * 100)
    yuan, cents = divmod(fen_total, 100)
    jiao, fen = divmod(cents, 10)
    if not fen_total:
        return "零元整"

    words = ""
    in_zero_run = False
    if yuan:
        integer, in_zero_run = _integer_in_words(yuan)
        words = integer + "元"
        if not cents:
            return sign + words + "整"
    for digit, unit in ((jiao, "角"), (fen, "分")):
        if digit:
            if in_zero_run:
                words += "零"
            words += CAPITAL_DIGITS[digit] + unit
            in_zero_run = False
        elif words:
            # Only zeros after a non-zero digit count; 0.05 is 伍分, not 零伍分.
            in_zero_run = True
    return sign + words
