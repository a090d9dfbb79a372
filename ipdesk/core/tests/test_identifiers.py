from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from ipdesk.core.identifiers import (
    CREDIT_CODE_CHARSET,
    ApplicationNumber,
    application_check_digit,
    credit_code_check_character,
    parse_application_number,
    resident_id_check_character,
    validate_application_number,
    validate_credit_code,
    validate_mobile,
    validate_resident_id,
)

THIS_YEAR = timezone.localdate().year


def _code(error: ValidationError) -> str | None:
    assert len(error.error_list) == 1
    return error.error_list[0].code


def _english(error: ValidationError) -> str:
    with translation.override("en"):
        return error.messages[0]


# 统一社会信用代码 -------------------------------------------------------------------------
# Checked by hand: for 91350100M000100Y43 the values of the first 17 characters (M = 21,
# Y = 30) times the weights sum to 9 + 3 + 27 + 135 + 26 + 420 + 8 + 900 + 112 = 1640;
# 1640 mod 31 = 28 and 31 − 28 = 3. The published codes of Tencent (…136T: sum 966, mod 31 = 5,
# 31 − 5 = 26 = T), Alibaba China (…058B: 1384 → 20 → 11 = B) and Huawei (…8216: 831 → 25 → 6)
# work out the same way; Y1110000000000001U is made up (30 + 3 + 9 + 27 + 28 = 97 → 4 → 27 = U).


@pytest.mark.parametrize(
    ("value", "clean"),
    [
        ("91350100M000100Y43", "91350100M000100Y43"),
        ("91440300708461136T", "91440300708461136T"),
        ("91330100799655058B", "91330100799655058B"),
        ("914403001922038216", "914403001922038216"),
        ("12100000400010398P", "12100000400010398P"),
        ("Y1110000000000001U", "Y1110000000000001U"),
        (" 91350100m000100y43\n", "91350100M000100Y43"),
        ("91440300708461136t", "91440300708461136T"),
    ],
)
def test_valid_credit_codes(value: str, clean: str) -> None:
    assert validate_credit_code(value) == clean


def test_credit_code_check_character_by_hand() -> None:
    assert credit_code_check_character("91350100M000100Y4") == "3"
    assert credit_code_check_character("91440300708461136") == "T"
    assert credit_code_check_character("Y1110000000000001") == "U"
    assert credit_code_check_character("1" + "0" * 16) == "Y"  # 31 − 1 = 30 = Y
    # A weighted sum divisible by 31 gives 0, not 31.
    assert credit_code_check_character("0" * 17) == "0"


@pytest.mark.parametrize("bad", ["", "9135010", "91350100M000100YI", "9" * 18])
def test_credit_code_check_character_needs_17_valid_characters(bad: str) -> None:
    with pytest.raises(ValueError):
        credit_code_check_character(bad)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "credit_code_length"),
        ("91350100M000100Y4", "credit_code_length"),
        ("91350100M000100Y433", "credit_code_length"),
        ("91350100 M000100Y43", "credit_code_length"),
        ("91350100M000100I43", "credit_code_charset"),  # I is not used
        ("91350100M0001O0Y43", "credit_code_charset"),  # nor O
        ("91350100M000100S43", "credit_code_charset"),  # nor S
        ("91350100M000100V43", "credit_code_charset"),  # nor V
        ("91350100M000100Z43", "credit_code_charset"),  # nor Z
        ("91350100M000100Y4-", "credit_code_charset"),
        ("B1350100M000100Y43", "credit_code_authority"),
        ("01350100M000100Y43", "credit_code_authority"),
        ("9135A100M000100Y43", "credit_code_division"),
        ("9135010M000100Y43X", "credit_code_division"),
        ("91350100M000100Y44", "credit_code_check"),
        ("91350100M000100Y4X", "credit_code_check"),
        ("91350100M000100Y34", "credit_code_check"),  # swapped neighbours
    ],
)
def test_invalid_credit_codes(value: str, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_credit_code(value)
    assert _code(caught.value) == code


def test_credit_code_messages_name_the_rule() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_credit_code("91350100M000100Y44")
    assert _english(caught.value) == (
        "The check character of this unified social credit code does not match "
        "(GB 32100-2015): expected 3."
    )
    assert caught.value.error_list[0].params == {"expected": "3"}
    with pytest.raises(ValidationError) as caught:
        validate_credit_code("91350100M000100Y4")
    assert _english(caught.value) == (
        "A unified social credit code has 18 characters (GB 32100-2015); this has 17."
    )


_CREDIT_BODY = st.tuples(
    st.sampled_from("123456789ANY"),
    st.sampled_from(CREDIT_CODE_CHARSET),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=CREDIT_CODE_CHARSET, min_size=9, max_size=9),
).map("".join)


@given(
    body=_CREDIT_BODY,
    position=st.integers(min_value=0, max_value=17),
    replacement=st.sampled_from(CREDIT_CODE_CHARSET),
)
def test_credit_code_with_computed_check_passes_and_any_single_change_fails(
    body: str, position: int, replacement: str
) -> None:
    code = body + credit_code_check_character(body)
    assert validate_credit_code(code) == code
    assert validate_credit_code(code.lower()) == code
    changed = code[:position] + replacement + code[position + 1 :]
    if changed != code:
        # Mod 31 is prime and no weight is 0 mod 31, so one changed character always shows.
        with pytest.raises(ValidationError):
            validate_credit_code(changed)


# 公民身份号码 ------------------------------------------------------------------------------
# 11010519491231002X is the example in GB 11643-1999: weighted sum 167, 167 mod 11 = 2 → X.
# 110101199003074477: sum 214, mod 11 = 5 → 7. 320102200002290013 (a leap day): sum 141,
# mod 11 = 9 → 3. 440524188001010014 has a right check (sum 195 → 8 → 4) but a birth year
# before 1900.


@pytest.mark.parametrize(
    ("value", "clean"),
    [
        ("11010519491231002X", "11010519491231002X"),
        ("11010519491231002x", "11010519491231002X"),
        (" 11010519491231002X ", "11010519491231002X"),
        ("110101199003074477", "110101199003074477"),
        ("320102200002290013", "320102200002290013"),
    ],
)
def test_valid_resident_ids(value: str, clean: str) -> None:
    assert validate_resident_id(value) == clean


def test_resident_id_check_character_by_hand() -> None:
    assert resident_id_check_character("11010519491231002") == "X"
    assert resident_id_check_character("11010119900307447") == "7"
    assert resident_id_check_character("32010220000229001") == "3"
    with pytest.raises(ValueError):
        resident_id_check_character("1101051949123100")


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "resident_id_format"),
        ("11010519491231002", "resident_id_format"),
        ("11010519491231002XX", "resident_id_format"),
        ("1101051949123100XX", "resident_id_format"),
        ("11010519491231002Y", "resident_id_format"),
        ("1101051949123１002X", "resident_id_format"),  # a full-width digit
        ("110105194912310", "resident_id_format"),  # the old 15-digit numbers
        ("11010519491331002X", "resident_id_birth_date"),  # month 13
        ("11010519490230002X", "resident_id_birth_date"),  # 30 February
        ("320102199902290013", "resident_id_birth_date"),  # 1999 is not a leap year
        ("440524188001010014", "resident_id_birth_date"),  # before 1900
        ("110105299912310021", "resident_id_birth_date"),  # in the future
        ("110105194912310021", "resident_id_check"),
        ("110101199003074478", "resident_id_check"),
        ("110101199003074X77", "resident_id_format"),
    ],
)
def test_invalid_resident_ids(value: str, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_resident_id(value)
    assert _code(caught.value) == code


def test_resident_id_check_message_names_the_expected_character() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_resident_id("110105194912310021")
    assert _english(caught.value) == (
        "The check character of this resident ID number does not match (GB 11643-1999): expected X."
    )


def test_resident_id_birth_date_up_to_today() -> None:
    today = timezone.localdate()
    for born, valid in [
        (today, True),
        (today + dt.timedelta(days=1), False),
        (dt.date(1900, 1, 1), True),
        (dt.date(1899, 12, 31), False),
    ]:
        body = "110105" + born.strftime("%Y%m%d") + "001"
        number = body + resident_id_check_character(body)
        if valid:
            assert validate_resident_id(number) == number
        else:
            with pytest.raises(ValidationError) as caught:
                validate_resident_id(number)
            assert _code(caught.value) == "resident_id_birth_date"


@given(
    region=st.text(alphabet="0123456789", min_size=6, max_size=6),
    born=st.dates(min_value=dt.date(1900, 1, 1), max_value=timezone.localdate()),
    sequence=st.text(alphabet="0123456789", min_size=3, max_size=3),
    position=st.sampled_from([*range(6), *range(14, 18)]),
    step=st.integers(min_value=1, max_value=9),
)
def test_resident_id_with_computed_check_passes_and_a_changed_digit_fails(
    region: str, born: dt.date, sequence: str, position: int, step: int
) -> None:
    body = region + born.strftime("%Y%m%d") + sequence
    number = body + resident_id_check_character(body)
    assert validate_resident_id(number) == number
    assert validate_resident_id(number.lower()) == number
    # Change a digit outside the birth date, so that only the check can catch it.
    old = number[position]
    new = "0" if old == "X" else str((int(old) + step) % 10)
    with pytest.raises(ValidationError) as caught:
        validate_resident_id(number[:position] + new + number[position + 1 :])
    assert _code(caught.value) == "resident_id_check"


# Mobile numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "clean"),
    [
        ("13800138000", "13800138000"),
        (" 13800138000 ", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("8613912345678", "13912345678"),
        ("86 139 1234 5678", "13912345678"),
        ("0086 199 1234 5678", "19912345678"),
        ("00861991234 5678", "19912345678"),
        ("14712345678", "14712345678"),
        ("16612345678", "16612345678"),
    ],
)
def test_valid_mobiles(value: str, clean: str) -> None:
    assert validate_mobile(value) == clean


@pytest.mark.parametrize(
    "value",
    [
        "",
        "12345",
        "1380013800",  # 10 digits
        "138001380001",  # 12 digits
        "12800138000",  # 12x is not a mobile range
        "10800138000",
        "23800138000",
        "010-12345678",  # a landline
        "+85213800138000",  # not mainland
        "+86 1380013800",
        "8613800138",
        "(138)00138000",
        "138.0013.8000",
        "+1 13800138000",
        "１３８００１３８０００",  # full-width digits
        "abc",
    ],
)
def test_invalid_mobiles(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_mobile(value)
    assert _code(caught.value) == "mobile_format"


# Application and patent numbers ------------------------------------------------------------
# By hand: 2,0,2,3,1,0,1,2,3,4,5,6 × 2,3,4,5,6,7,8,9,2,3,4,5 = 4+0+8+15+6+0+8+18+6+12+20+30
# = 127, mod 11 = 6. 201920000001: 4+4+45+12+5 = 70 → 4. 202330000004: 4+8+15+18+20 = 65
# → 10 → X. 202080012345: 4+8+48+9+4+9+16+25 = 123 → 2. 202190000007: 4+8+5+54+35 = 106 → 7.


@pytest.mark.parametrize(
    ("first12", "check"),
    [
        ("202310123456", "6"),
        ("201920000001", "4"),
        ("202330000004", "X"),
        ("202080012345", "2"),
        ("202190000007", "7"),
        ("000000000000", "0"),
    ],
)
def test_application_check_digit_by_hand(first12: str, check: str) -> None:
    assert application_check_digit(first12) == check


@pytest.mark.parametrize("bad", ["", "20231012345", "2023101234567", "20231012345X"])
def test_application_check_digit_needs_12_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        application_check_digit(bad)


@pytest.mark.parametrize(
    "value",
    [
        "2023101234566",
        "202310123456.6",
        " 202310123456.6 ",
        "CN202310123456.6",
        "cn2023101234566",
        "ZL202310123456.6",
        "ZL 202310123456.6",
        "zl 2023101234566",
        "Cn 202310123456.6",
    ],
)
def test_application_number_forms(value: str) -> None:
    number = parse_application_number(value)
    assert number == ApplicationNumber(year=2023, type_digit=1, serial=123456, check="6")
    assert number.patent_kind == "invention"
    assert number.is_pct is False
    assert number.digits == "2023101234566"
    assert number.display == "202310123456.6"
    assert str(number) == "202310123456.6"
    assert validate_application_number(value) == "2023101234566"


@pytest.mark.parametrize(
    ("value", "year", "type_digit", "serial", "kind", "pct", "digits"),
    [
        ("201920000001.4", 2019, 2, 1, "utility_model", False, "2019200000014"),
        ("202330000004.X", 2023, 3, 4, "design", False, "202330000004X"),
        ("202330000004.x", 2023, 3, 4, "design", False, "202330000004X"),
        ("zl202330000004x", 2023, 3, 4, "design", False, "202330000004X"),
        ("202080012345.2", 2020, 8, 12345, "invention", True, "2020800123452"),
        ("202190000007.7", 2021, 9, 7, "utility_model", True, "2021900000077"),
    ],
)
def test_application_number_kinds(
    value: str, year: int, type_digit: int, serial: int, kind: str, pct: bool, digits: str
) -> None:
    number = parse_application_number(value)
    assert (number.year, number.type_digit, number.serial) == (year, type_digit, serial)
    assert (number.patent_kind, number.is_pct, number.digits) == (kind, pct, digits)
    assert number.display == digits[:12] + "." + digits[12]


def test_application_number_is_frozen() -> None:
    number = parse_application_number("2023101234566")
    with pytest.raises(AttributeError):
        number.year = 2024  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "application_number_format"),
        ("20231012345", "application_number_format"),
        ("20231012345.6", "application_number_format"),
        ("20231012345666", "application_number_format"),
        ("202310123456-6", "application_number_format"),
        ("202310123456..6", "application_number_format"),
        ("2023.101234566", "application_number_format"),
        ("US202310123456.6", "application_number_format"),
        ("CNZL202310123456.6", "application_number_format"),
        ("ZL  202310123456.6", "application_number_format"),
        ("202310123456.Y", "application_number_format"),
        ("02123456.7", "application_number_format"),  # the pre-2003 format
        ("２02310123456.6", "application_number_format"),  # a full-width digit
        ("202350123456.8", "application_number_type"),  # right check, type 5
        ("202300123456.2", "application_number_type"),
        ("200210123456.4", "application_number_year"),  # right check, before 2003
        ("209910123456.9", "application_number_year"),  # right check, in the future
        ("202310123456.7", "application_number_check"),
        ("202310123456.X", "application_number_check"),
        ("2023101234565", "application_number_check"),
        ("ZL202310124356.6", "application_number_check"),  # swapped neighbours
    ],
)
def test_invalid_application_numbers(value: str, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_application_number(value)
    assert _code(caught.value) == code
    with pytest.raises(ValidationError):
        validate_application_number(value)


def test_application_number_year_runs_from_2003_to_this_year() -> None:
    for year, valid in [(2003, True), (THIS_YEAR, True), (THIS_YEAR + 1, False)]:
        first12 = f"{year}10000001"
        value = first12 + application_check_digit(first12)
        if valid:
            assert parse_application_number(value).year == year
        else:
            with pytest.raises(ValidationError) as caught:
                parse_application_number(value)
            assert _code(caught.value) == "application_number_year"


def test_application_number_check_message_names_the_expected_character() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_application_number("202310123456.7")
    assert _english(caught.value) == (
        "The check character of this application number does not match: expected 6."
    )
    assert caught.value.error_list[0].params == {"expected": "6"}


@given(
    year=st.integers(min_value=2003, max_value=THIS_YEAR),
    type_digit=st.sampled_from([1, 2, 3, 8, 9]),
    serial=st.integers(min_value=0, max_value=9_999_999),
    position=st.integers(min_value=0, max_value=12),
    step=st.integers(min_value=1, max_value=9),
)
def test_application_number_with_computed_check_passes_and_a_changed_digit_fails(
    year: int, type_digit: int, serial: int, position: int, step: int
) -> None:
    first12 = f"{year}{type_digit}{serial:07d}"
    digits = first12 + application_check_digit(first12)
    number = parse_application_number(digits)
    assert (number.year, number.type_digit, number.serial) == (year, type_digit, serial)
    assert number.digits == digits
    assert validate_application_number(number.display) == digits
    assert validate_application_number("ZL " + number.display.lower()) == digits
    old = digits[position]
    new = "0" if old == "X" else str((int(old) + step) % 10)
    # Mod 11 with weights 2–9 (all non-zero mod 11) catches every single changed digit; the
    # change may also make the year or the type invalid, which is refused all the same.
    with pytest.raises(ValidationError):
        validate_application_number(digits[:position] + new + digits[position + 1 :])
