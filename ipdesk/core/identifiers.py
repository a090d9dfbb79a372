"""Identifiers that carry a check character, validated and normalised.

Every validator strips surrounding whitespace, normalises case, and returns the clean value,
or raises ``ValidationError`` whose ``code`` names the rule that failed, so that callers and
tests can tell the failures apart whatever the language of the message.

- 统一社会信用代码, unified social credit code (GB 32100-2015): 18 characters from
  ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I, O, S, V, Z, easily misread). Character 1 is the
  registration authority (1–9, A, N, Y), 2 the kind of organisation, 3–8 the administrative
  division code (digits), 9–17 the organisation's identifier (its organisation code,
  GB 11714) and 18 a check character: the values of the first 17 weighted 1, 3, 9, 27, 19,
  26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28 (3^(i−1) mod 31 at position i), and
  check = (31 − sum mod 31) mod 31, read back through the character set. The kind
  (character 2) is not checked: its table depends on the authority and has grown since
  2015, and the check character already catches a mistyped one.
- 公民身份号码, resident ID number (GB 11643-1999): a 6-digit address code, the birth date
  as YYYYMMDD, a 3-digit sequence number (odd for men) and a check character by ISO 7064
  MOD 11-2: the first 17 digits weighted 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4,
  2 (2^(18−i) mod 11 at position i), the sum mod 11 indexing "10X98765432". The birth date
  must exist and lie between 1900-01-01 and today; the address code is not checked against
  the division list, which changes every year while old numbers keep their code.
- Mainland mobile numbers: 11 digits, 1 then 3–9, optionally written with the country code
  (+86, 0086 or 86), spaces and hyphens; the bare 11 digits are stored.
- 申请号/专利号, CNIPA application number (format since 1 October 2003): ``YYYYTNNNNNNN.C`` —
  filing year, type digit (1 invention, 2 utility model, 3 design, 8 a PCT application for
  an invention entering the national phase, 9 the same for a utility model), a 7-digit
  serial, and a check character: the 12 digits weighted 2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5,
  sum mod 11, a remainder of 10 written X. A granted patent keeps its application's number,
  usually written after ``ZL`` (专利); ``CN`` is the country code. ipdesk stores the 13
  characters without the dot and shows the dotted form. Older 8- and 9-digit numbers are
  not accepted.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# --- unified social credit code -------------------------------------------------------------

CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 32100-2015 annex A: 1 机构编制, 2 外交, 3 司法行政, 4 文化, 5 民政, 6 旅游, 7 宗教,
# 8 工会, 9 工商 (market regulation), A 中央军委改革和编制办公室, N 农业, Y 其他.
CREDIT_CODE_AUTHORITIES = frozenset("123456789ANY")


def credit_code_check_character(first17: str) -> str:
    """The 18th character of a unified social credit code whose first 17 are given."""
    if len(first17) != 17 or any(c not in CREDIT_CODE_CHARSET for c in first17):
        raise ValueError("17 characters from the credit-code character set are needed")
    total = sum(
        CREDIT_CODE_CHARSET.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> str:
    """A unified social credit code, upper-cased; codes ``credit_code_*``."""
    code = str(value).strip().upper()
    if len(code) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters (GB 32100-2015); this has %(n)s."),
            code="credit_code_length",
            params={"n": len(code)},
        )
    bad = [c for c in code if c not in CREDIT_CODE_CHARSET]
    if bad:
        raise ValidationError(
            _(
                "A unified social credit code uses digits and the letters A–Y without I, O, S, V "
                "and Z (GB 32100-2015); %(char)s is not allowed."
            ),
            code="credit_code_charset",
            params={"char": bad[0]},
        )
    if code[0] not in CREDIT_CODE_AUTHORITIES:
        raise ValidationError(
            _(
                "The first character of a unified social credit code names the registration "
                "authority and must be 1–9, A, N or Y (GB 32100-2015)."
            ),
            code="credit_code_authority",
        )
    if not code[2:8].isdigit():
        raise ValidationError(
            _(
                "Characters 3–8 of a unified social credit code are the administrative division "
                "code and must be digits (GB 32100-2015)."
            ),
            code="credit_code_division",
        )
    expected = credit_code_check_character(code[:17])
    if code[17] != expected:
        raise ValidationError(
            _(
                "The check character of this unified social credit code does not match "
                "(GB 32100-2015): expected %(expected)s."
            ),
            code="credit_code_check",
            params={"expected": expected},
        )
    return code


# --- resident ID number ---------------------------------------------------------------------

RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_CHECKS = "10X98765432"
EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)

# ASCII only: \d would also take full-width and other Unicode digits, which int() accepts.
_RESIDENT_ID_RE = re.compile(r"[0-9]{17}[0-9X]")


def resident_id_check_character(first17: str) -> str:
    """The 18th character of a resident ID number whose first 17 digits are given."""
    if not re.fullmatch(r"[0-9]{17}", first17):
        raise ValueError("17 digits are needed")
    total = sum(int(c) * w for c, w in zip(first17, RESIDENT_ID_WEIGHTS, strict=True))
    return RESIDENT_ID_CHECKS[total % 11]


def validate_resident_id(value: str) -> str:
    """An 18-character resident ID number, X upper-cased; codes ``resident_id_*``."""
    number = str(value).strip().upper()
    if not _RESIDENT_ID_RE.fullmatch(number):
        raise ValidationError(
            _("A resident ID number has 17 digits followed by a digit or X (GB 11643-1999)."),
            code="resident_id_format",
        )
    try:
        born: dt.date | None = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        born = None
    if born is None or not EARLIEST_BIRTH_DATE <= born <= timezone.localdate():
        raise ValidationError(
            _(
                "Digits 7–14 of a resident ID number are a birth date; %(digits)s is not a "
                "possible one (GB 11643-1999)."
            ),
            code="resident_id_birth_date",
            params={"digits": number[6:14]},
        )
    expected = resident_id_check_character(number[:17])
    if number[17] != expected:
        raise ValidationError(
            _(
                "The check character of this resident ID number does not match "
                "(GB 11643-1999): expected %(expected)s."
            ),
            code="resident_id_check",
            params={"expected": expected},
        )
    return number


# --- mobile numbers -------------------------------------------------------------------------

_MOBILE_SEPARATORS_RE = re.compile(r"[\s-]")
_MOBILE_RE = re.compile(r"(?:\+86|0086|86)?(1[3-9][0-9]{9})")


def validate_mobile(value: str) -> str:
    """A mainland China mobile number as its 11 digits; code ``mobile_format``."""
    match = _MOBILE_RE.fullmatch(_MOBILE_SEPARATORS_RE.sub("", str(value)))
    if match is None:
        raise ValidationError(
            _("A mainland mobile number has 11 digits and starts with 13 to 19."),
            code="mobile_format",
        )
    return match.group(1)


# --- patent application numbers -------------------------------------------------------------

APPLICATION_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
APPLICATION_TYPES = {
    1: "invention",
    2: "utility_model",
    3: "design",
    8: "invention",
    9: "utility_model",
}
PCT_TYPE_DIGITS = frozenset({8, 9})
# The 13-character format started in October 2003; earlier numbers have 8 or 9 digits.
FIRST_APPLICATION_YEAR = 2003

_APPLICATION_RE = re.compile(r"(?:(?:CN|ZL)\s?)?([0-9]{12})\.?([0-9X])")


def application_check_digit(first12: str) -> str:
    """The check character (0–9 or X) of an application number's first 12 digits."""
    if not re.fullmatch(r"[0-9]{12}", first12):
        raise ValueError("12 digits are needed")
    total = sum(int(c) * w for c, w in zip(first12, APPLICATION_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


@dataclass(frozen=True)
class ApplicationNumber:
    """A parsed application (or patent) number; build it with :func:`parse_application_number`."""

    year: int
    type_digit: int
    serial: int
    check: str

    @property
    def first12(self) -> str:
        return f"{self.year:04d}{self.type_digit}{self.serial:07d}"

    @property
    def digits(self) -> str:
        """The canonical stored form: 12 digits and the check character, no dot."""
        return self.first12 + self.check

    @property
    def display(self) -> str:
        """The form printed by CNIPA, with the check character after a dot."""
        return f"{self.first12}.{self.check}"

    @property
    def patent_kind(self) -> str:
        """The kind of patent sought, "invention", "utility_model" or "design"; PCT too."""
        return APPLICATION_TYPES[self.type_digit]

    @property
    def is_pct(self) -> bool:
        return self.type_digit in PCT_TYPE_DIGITS

    def __str__(self) -> str:
        return self.display


def parse_application_number(value: str) -> ApplicationNumber:
    """Parse ``2023101234567``, ``202310123456.7``, ``CN…`` or ``ZL …``; codes
    ``application_number_format``, ``_type``, ``_year`` and ``_check``."""
    raw = str(value).strip().upper()
    match = _APPLICATION_RE.fullmatch(raw)
    if match is None:
        raise ValidationError(
            _(
                "An application or patent number is 12 digits and a check character, e.g. "
                "202310123456.7 or 2023101234567, optionally after CN or ZL."
            ),
            code="application_number_format",
        )
    first12, check = match.groups()
    year, type_digit, serial = int(first12[:4]), int(first12[4]), int(first12[5:])
    if type_digit not in APPLICATION_TYPES:
        raise ValidationError(
            _(
                "The fifth digit of an application number is its type: 1, 2, 3, 8 or 9; "
                "%(digit)s is not one."
            ),
            code="application_number_type",
            params={"digit": type_digit},
        )
    this_year = timezone.localdate().year
    if not FIRST_APPLICATION_YEAR <= year <= this_year:
        raise ValidationError(
            _(
                "The first four digits of an application number are its filing year, from "
                "%(first)s to %(last)s; %(year)s is outside."
            ),
            code="application_number_year",
            params={"first": FIRST_APPLICATION_YEAR, "last": this_year, "year": year},
        )
    expected = application_check_digit(first12)
    if check != expected:
        raise ValidationError(
            _(
                "The check character of this application number does not match: expected "
                "%(expected)s."
            ),
            code="application_number_check",
            params={"expected": expected},
        )
    return ApplicationNumber(year=year, type_digit=type_digit, serial=serial, check=check)


def validate_application_number(value: str) -> str:
    """The canonical 13-character form, for use as a model or form field validator."""
    return parse_application_number(value).digits
