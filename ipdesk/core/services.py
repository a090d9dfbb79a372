"""Writes owned by core: a year of the official calendar, and idempotent API requests.

Core imports no app above it, not even the audit log: loading a calendar year announces
``signals.state_changed`` inside its transaction, and ``ipdesk.audit`` records the event there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from .calendar import calendar
from .canonical import canonical_bytes
from .errors import Conflict, InvalidInput
from .models import CalendarDay, CalendarYear, DayKind, IdempotentRequest
from .signals import state_changed


def _parse_day(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _expand(
    entries: Iterable[Mapping[str, Any]], field: str, errors: dict[str, list[Any]]
) -> dict[dt.date, str]:
    """Entries are ``{"date": ...}`` or ``{"from": ..., "to": ...}``, each with a ``name``."""
    days: dict[dt.date, str] = {}
    for index, entry in enumerate(entries):
        where = f"{field}[{index}]"
        try:
            if "date" in entry:
                first = last = _parse_day(entry["date"])
            else:
                first, last = _parse_day(entry["from"]), _parse_day(entry["to"])
        except (KeyError, ValueError, TypeError):
            errors.setdefault(where, []).append(_("Give a date, or from and to, as YYYY-MM-DD."))
            continue
        if last < first:
            errors.setdefault(where, []).append(_("The end date is before the start date."))
            continue
        day = first
        while day <= last:
            days[day] = str(entry.get("name", ""))[:50]
            day += dt.timedelta(days=1)
    return days


def load_calendar_year(
    *,
    year: int,
    source: str,
    rest_days: Iterable[Mapping[str, Any]],
    workdays: Iterable[Mapping[str, Any]],
    actor: Any = None,
) -> CalendarYear:
    """Store (or replace) a year's announced holidays and make-up working days.

    ``rest_days`` are the days of each public holiday (including weekend days inside it);
    ``workdays`` are the weekend days announced as working days (调休).
    """
    errors: dict[str, list[Any]] = {}
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        errors["year"] = [_("The year must be a number between 2000 and 2100.")]
    if not str(source).strip():
        errors["source"] = [_("Name the notice the days come from.")]
    rest = _expand(rest_days, "rest_days", errors)
    work = _expand(workdays, "workdays", errors)
    if "year" not in errors:
        for name, days in (("rest_days", rest), ("workdays", work)):
            outside = sorted(d for d in days if d.year != year)
            if outside:
                errors.setdefault(name, []).append(
                    _("%(date)s is not in %(year)s.") % {"date": outside[0], "year": year}
                )
    both = sorted(set(rest) & set(work))
    if both:
        errors.setdefault("workdays", []).append(
            _("%(date)s is both a rest day and a working day.") % {"date": both[0]}
        )
    weekdays = sorted(d for d in work if d.weekday() < 5)
    if weekdays:
        errors.setdefault("workdays", []).append(
            _("%(date)s is a weekday; make-up working days fall on weekends.")
            % {"date": weekdays[0]}
        )
    if not rest:
        errors.setdefault("rest_days", []).append(_("A year has public holidays; none were given."))
    if errors:
        raise InvalidInput(fields=errors)
    with transaction.atomic():
        record, created = CalendarYear.objects.update_or_create(
            year=year, defaults={"source": source.strip()[:300], "loaded_by": actor}
        )
        record.days.all().delete()
        CalendarDay.objects.bulk_create(
            [
                CalendarDay(calendar_year=record, date=d, kind=DayKind.REST, name=n)
                for d, n in rest.items()
            ]
            + [
                CalendarDay(calendar_year=record, date=d, kind=DayKind.WORKDAY, name=n)
                for d, n in work.items()
            ]
        )
        state_changed.send(
            CalendarYear,
            action="core.calendar.loaded" if created else "core.calendar.replaced",
            actor=actor,
            obj=record,
            payload={
                "year": year,
                "source": record.source,
                "rest_days": sorted(rest),
                "workdays": sorted(work),
            },
        )
        transaction.on_commit(lambda: calendar.forget(year))
    calendar.forget(year)
    return record


def request_fingerprint(method: str, path: str, body: Any) -> str:
    return hashlib.sha256(
        canonical_bytes({"method": method, "path": path, "body": body})
    ).hexdigest()


def run_idempotent(
    *, client: Any, key: str, fingerprint: str, produce: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    """Run ``produce`` once per (client, key): a retry gets the stored answer.

    The same key with another request is a conflict. Two concurrent requests with one key
    both run ``produce`` in their own transaction; the unique key row lets only the first
    commit, the second rolls back and answers what the first stored.
    """
    key = key.strip()
    if not key or len(key) > 100:
        raise InvalidInput(fields={"Idempotency-Key": _("Send a key of 1 to 100 characters.")})

    def stored() -> tuple[int, Any] | None:
        row = IdempotentRequest.objects.filter(client=client, key=key).first()
        if row is None:
            return None
        if row.request_hash != fingerprint:
            raise Conflict(
                _("This Idempotency-Key was used for a different request."),
                code="idempotency_key_reused",
            )
        return row.status_code, row.response

    answer = stored()
    if answer is not None:
        return answer
    try:
        with transaction.atomic():
            status, body = produce()
            IdempotentRequest.objects.create(
                client=client, key=key, request_hash=fingerprint, status_code=status, response=body
            )
        return status, body
    except IntegrityError:
        answer = stored()
        if answer is None:
            raise
        return answer
