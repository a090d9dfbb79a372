from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ipdesk.core.canonical import canonical_bytes, canonical_json


def test_canonical_json_is_sorted_compact_and_exact() -> None:
    value = {"b": Decimal("900.00"), "a": "申请费", "c": [dt.date(2025, 1, 2)]}
    assert canonical_json(value) == '{"a":"申请费","b":"900.00","c":["2025-01-02"]}'
    assert canonical_bytes(value) == canonical_json(value).encode("utf-8")


def test_datetimes_in_utc_with_microseconds() -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    moment = dt.datetime(2025, 1, 2, 8, 0, 0, 5, tzinfo=shanghai)
    assert canonical_json(moment) == '"2025-01-02T00:00:00.000005Z"'
    with pytest.raises(ValueError):
        canonical_json(dt.datetime(2025, 1, 2))


def test_non_finite_numbers_and_unknown_types_have_no_canonical_form() -> None:
    with pytest.raises(ValueError):
        canonical_json(float("nan"))
    with pytest.raises(TypeError):
        canonical_json(object())
