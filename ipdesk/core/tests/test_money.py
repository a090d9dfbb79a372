from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import example, given
from hypothesis import strategies as st

from ipdesk.core.money import (
    CENT,
    MAX_AMOUNT_IN_WORDS,
    amount_in_words,
    money_str,
    round_money,
    to_money,
)

# to_money ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("900", "900.00"),
        ("1234.5", "1234.50"),
        ("-3.20", "-3.20"),
        ("+7.1", "7.10"),
        (" 3.20 ", "3.20"),
        ("0", "0.00"),
        ("-0.00", "0.00"),  # no negative zero
        ("1.500", "1.50"),  # extra zeros lose nothing
        (7, "7.00"),
        (-15, "-15.00"),
        (Decimal("1234.5"), "1234.50"),
        (Decimal("1E+3"), "1000.00"),
        (Decimal("12345678901234567890123456789.99"), "12345678901234567890123456789.99"),
    ],
)
def test_to_money_quantises(value: Decimal | int | str, expected: str) -> None:
    amount = to_money(value)
    assert amount == Decimal(expected)
    assert amount.as_tuple().exponent == -2
    assert str(amount) == expected


def test_to_money_never_returns_negative_zero() -> None:
    assert str(to_money(Decimal("-0"))) == "0.00"
    assert money_str("-0.00") == "0.00"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1.005", "money_precision"),
        ("0.001", "money_precision"),
        (Decimal("1.001"), "money_precision"),
        (Decimal("1E-10"), "money_precision"),
        ("abc", "money_format"),
        ("", "money_format"),
        ("1,234.50", "money_format"),
        ("1e3", "money_format"),
        ("12.", "money_format"),
        (".5", "money_format"),
        ("１２３", "money_format"),  # full-width digits
        ("NaN", "money_format"),
        (Decimal("NaN"), "money_not_finite"),
        (Decimal("Infinity"), "money_not_finite"),
        (Decimal("-Infinity"), "money_not_finite"),
    ],
)
def test_to_money_refuses_bad_amounts(value: Decimal | str, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        to_money(value)
    assert caught.value.code == code


def test_to_money_precision_message() -> None:
    with pytest.raises(ValidationError) as caught:
        to_money("1.005")
    # Messages are lazy: they take the language active when they are read.
    with translation.override("en"):
        assert caught.value.messages == ["An amount has at most two decimal places (fen)."]
    with translation.override("zh-hans"):
        assert caught.value.messages == ["金额最多保留两位小数（到分）。"]


@pytest.mark.parametrize("value", [1.5, 0.1, 900.0, True, False, None, [1]])
def test_to_money_refuses_floats_booleans_and_other_types(value: object) -> None:
    with pytest.raises(TypeError):
        to_money(value)  # type: ignore[arg-type]


# round_money and money_str -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0.005"), "0.01"),
        (Decimal("0.0049"), "0.00"),
        (Decimal("2.675"), "2.68"),  # banker's rounding would give 2.68 too; 2.665 differs
        (Decimal("2.665"), "2.67"),
        (Decimal("-2.665"), "-2.67"),
        (Decimal("-0.001"), "0.00"),
        (Decimal("1200") * 15 / 100, "180.00"),
        (Decimal("2500") * Decimal("0.15"), "375.00"),
        (Decimal("333.33") * 5 / 100, "16.67"),
        (7, "7.00"),
    ],
)
def test_round_money_half_up(value: Decimal | int, expected: str) -> None:
    assert str(round_money(value)) == expected


def test_round_money_refuses_floats_and_non_finite() -> None:
    with pytest.raises(TypeError):
        round_money(2.675)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        round_money(Decimal("Infinity"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1234.5", "1234.50"),
        (Decimal("1234567.8"), "1234567.80"),
        (900, "900.00"),
        ("-3.2", "-3.20"),
        (Decimal("0"), "0.00"),
    ],
)
def test_money_str(value: Decimal | int | str, expected: str) -> None:
    assert money_str(value) == expected


def test_money_str_refuses_what_to_money_refuses() -> None:
    with pytest.raises(ValidationError):
        money_str("1.005")
    with pytest.raises(TypeError):
        money_str(1.5)  # type: ignore[arg-type]


# amount_in_words ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        # zero, and amounts under one yuan start with 角 or 分
        ("0", "零元整"),
        ("0.00", "零元整"),
        ("0.05", "伍分"),
        ("0.50", "伍角"),
        ("0.56", "伍角陆分"),
        ("0.01", "壹分"),
        # plain amounts; 整 only when the amount ends at 元
        ("1", "壹元整"),
        ("1.20", "壹元贰角"),
        ("900", "玖佰元整"),
        ("1234.50", "壹仟贰佰叁拾肆元伍角"),
        ("1234.56", "壹仟贰佰叁拾肆元伍角陆分"),
        ("2500", "贰仟伍佰元整"),
        # a leading 1 in the tens is 壹拾
        ("10", "壹拾元整"),
        ("15", "壹拾伍元整"),
        ("110", "壹佰壹拾元整"),
        ("100000", "壹拾万元整"),
        # one 零 per run of zeros inside the integer part
        ("101", "壹佰零壹元整"),
        ("1005", "壹仟零伍元整"),
        ("1010", "壹仟零壹拾元整"),
        ("1000", "壹仟元整"),
        ("20000.00", "贰万元整"),
        ("100010", "壹拾万零壹拾元整"),
        ("105000", "壹拾万零伍仟元整"),  # the 万 digit is 0 before a non-zero 仟
        ("1010101", "壹佰零壹万零壹佰零壹元整"),
        ("10010000", "壹仟零壹万元整"),
        ("100000000", "壹亿元整"),
        ("100000001", "壹亿零壹元整"),  # across 万 and 亿: no 万 for an all-zero group
        ("100100000", "壹亿零壹拾万元整"),
        ("1010000000", "壹拾亿零壹仟万元整"),
        ("123456789.12", "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元壹角贰分"),
        # 零 between 元 and the first non-zero decimal
        ("1005.07", "壹仟零伍元零柒分"),
        ("1000000.01", "壹佰万元零壹分"),
        ("1200.05", "壹仟贰佰元零伍分"),
        ("325.04", "叁佰贰拾伍元零肆分"),
        ("10000.50", "壹万元零伍角"),
        ("1680.32", "壹仟陆佰捌拾元零叁角贰分"),
        ("1409.50", "壹仟肆佰零玖元伍角"),
        ("1010101.01", "壹佰零壹万零壹佰零壹元零壹分"),
        # large amounts: above 亿 the count of 亿 uses 万
        ("1000000000000", "壹万亿元整"),
        ("1000100000000", "壹万零壹亿元整"),
        ("9999999999999.99", "玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        # red-letter reversals
        ("-3.20", "负叁元贰角"),
        ("-900", "负玖佰元整"),
        ("-0.05", "负伍分"),
        ("-1005.07", "负壹仟零伍元零柒分"),
        ("-0.00", "零元整"),
        ("-9999999999999.99", "负玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ],
)
def test_amount_in_words(amount: str, words: str) -> None:
    assert amount_in_words(amount) == words
    assert amount_in_words(Decimal(amount)) == words


@pytest.mark.parametrize(("amount", "words"), [(2500, "贰仟伍佰元整"), (-10, "负壹拾元整")])
def test_amount_in_words_accepts_int(amount: int, words: str) -> None:
    assert amount_in_words(amount) == words


@pytest.mark.parametrize("amount", ["10000000000000", "-10000000000000", "10000000000000.00"])
def test_amount_in_words_refuses_too_large(amount: str) -> None:
    with pytest.raises(ValueError, match="too large"):
        amount_in_words(amount)


def test_amount_in_words_refuses_floats_and_three_decimals() -> None:
    with pytest.raises(TypeError):
        amount_in_words(12.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as caught:
        amount_in_words("12.505")
    assert caught.value.code == "money_precision"


# An independent reading of capitals back into a number, to check every generated amount.

_CAPITALS = "零壹贰叁肆伍陆柒捌玖"
_SMALL = {"拾": 10, "佰": 100, "仟": 1000}


def _read_below_wan(text: str) -> int:
    total, digit = 0, 0
    for char in text:
        if char in _SMALL:
            total += digit * _SMALL[char]
            digit = 0
        else:
            digit = _CAPITALS.index(char)
    return total + digit


def _read_below_yi(text: str) -> int:
    high, wan, low = text.rpartition("万")
    return _read_below_wan(high) * 10_000 + _read_below_wan(low) if wan else _read_below_wan(low)


def _read_capitals(words: str) -> Decimal:
    sign = -1 if words.startswith("负") else 1
    text = words.removeprefix("负").removesuffix("整")
    integer, yuan, decimals = text.partition("元")
    if not yuan:
        integer, decimals = "", text
    high, yi, low = integer.rpartition("亿")
    value = _read_below_yi(high) * 10**8 + _read_below_yi(low) if yi else _read_below_yi(low)
    cents = 0
    for digit, unit in re.findall(r"([壹贰叁肆伍陆柒捌玖])([角分])", decimals):
        cents += _CAPITALS.index(digit) * (10 if unit == "角" else 1)
    return sign * (Decimal(value) + Decimal(cents) / 100)


def _interior_zero_runs(amount: Decimal) -> int:
    """Runs of zeros between two non-zero digits of the amount written in fen."""
    digits = str(int(abs(amount) * 100)).strip("0")
    return len(re.findall(r"0+", digits))


# Amounts rich in zeros, where the rules are hard, as well as plain ones.
amounts = st.text(alphabet="000000123456789", min_size=1, max_size=15).map(
    lambda digits: Decimal(int(digits)) * CENT
)


@given(amount=amounts, negative=st.booleans())
@example(amount=Decimal("1000000.01"), negative=False)
@example(amount=Decimal("0"), negative=True)
def test_capitals_read_back_to_the_amount(amount: Decimal, negative: bool) -> None:
    if negative:
        amount = -amount
    words = amount_in_words(amount)
    assert _read_capitals(words) == amount
    assert re.fullmatch(r"负?[零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整]+", words)
    assert words.startswith("负") == (amount < 0)
    assert words.endswith("整") == (amount % 1 == 0)
    assert "零零" not in words
    if amount:
        assert words.count("零") == _interior_zero_runs(amount)
        assert not words.removeprefix("负").startswith("零")
    assert not re.search(r"(?<![壹贰叁肆伍陆柒捌玖])拾", words)  # 壹拾, never a bare 拾
    assert abs(amount) <= MAX_AMOUNT_IN_WORDS
