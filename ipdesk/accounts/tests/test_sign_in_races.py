"""Issue 11 item 6: sign-in limits hold under real concurrency (PostgreSQL, one connection
per thread, as several web processes would have)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction

from ipdesk.accounts import services
from ipdesk.accounts.models import LoginCode, Role, User
from ipdesk.audit.models import AuditEvent
from ipdesk.core.errors import DomainError
from ipdesk.testing import PASSWORD, user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PHONE = "13800138000"


def _together(count: int, attempt: Callable[[int], Any]) -> list[Any]:
    """Run ``attempt(i)`` in ``count`` threads released at the same moment; their outcomes."""
    start = threading.Barrier(count)
    outcomes: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            start.wait()
            outcomes[index] = attempt(index)
        except DomainError as exc:
            outcomes[index] = exc.code
        except Exception as exc:  # a crash is an outcome the test must see
            outcomes[index] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return outcomes


def test_forty_parallel_code_requests_send_one_code() -> None:
    """Issue 11 item 6: 40 concurrent sign-in code requests for one number sent 2 codes
    although the limit is 1 a minute."""
    outcomes = _together(40, lambda i: services.request_login_code(PHONE, ip=f"192.0.2.{i}").pk)
    assert LoginCode.objects.filter(phone=PHONE).count() == 1
    assert Counter(type(o).__name__ if isinstance(o, int) else o for o in outcomes) == {
        "int": 1,
        "rate_limited": 39,
    }


def test_parallel_code_requests_from_one_address_keep_its_hourly_limit(settings: Any) -> None:
    """Issue 11 item 6: the per-address limit (20 an hour) counts under concurrency too."""
    settings.IPDESK_LOGIN_CODE_PER_IP_HOUR = 3
    outcomes = _together(
        12, lambda i: services.request_login_code(f"139001390{i:02d}", ip="192.0.2.1").pk
    )
    assert LoginCode.objects.filter(ip="192.0.2.1").count() == 3
    assert outcomes.count("rate_limited") == 9


def _slow_hashing(settings: Any) -> None:
    # The real hasher: its cost is the window in which unlocked guesses overlapped.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]


def test_thirty_parallel_wrong_passwords_check_only_the_allowed_guesses(settings: Any) -> None:
    """Issue 11 item 6: 30 concurrent wrong passwords had 6–9 of them checked although the
    account locks after 5."""
    _slow_hashing(settings)
    settings.IPDESK_LOGIN_MAX_FAILURES = 5
    user(Role.AUDITOR, "target")
    outcomes = _together(
        30, lambda i: services.check_password_login("target", f"wrong-{i}", ip="192.0.2.9")
    )
    # Four wrong answers, then the fifth failure locks; the other 25 are refused unchecked.
    assert Counter(outcomes) == {"invalid_credentials": 4, "account_locked": 26}
    locks = AuditEvent.objects.filter(action="accounts.user.locked")
    assert [json.loads(event.payload)["failures"] for event in locks] == [5]
    assert User.objects.get(username="target").locked_until is not None


def _someone_waits_for_a_lock() -> bool:
    with connections["default"].cursor() as cursor:
        # pg_locks is read afresh by every query (pg_stat_activity keeps one snapshot per
        # transaction, and this runs inside one).
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return bool(cursor.fetchone()[0])


def test_a_correct_password_is_not_let_in_while_the_lock_is_being_set(settings: Any) -> None:
    """Issue 11 item 6: a correct password that arrived while the fifth wrong one was locking
    the account got in; it now waits for that guess and is refused."""
    target = user(Role.AUDITOR, "target")
    outcome: list[Any] = []

    def correct_password() -> None:
        try:
            outcome.append(services.check_password_login("target", PASSWORD).username)
        except DomainError as exc:
            outcome.append(exc.code)
        finally:
            connection.close()

    # This transaction plays the fifth wrong guess: it holds the account while it locks it.
    with transaction.atomic():
        User.objects.select_for_update().get(pk=target.pk)
        User.objects.filter(pk=target.pk).update(
            locked_until=target.date_joined.replace(year=2999), failed_logins=0
        )
        attempt = threading.Thread(target=correct_password)
        attempt.start()
        # Either the attempt finishes (it did not wait: the defect) or it waits for the row.
        deadline = time.monotonic() + 60
        while attempt.is_alive() and not _someone_waits_for_a_lock():
            assert time.monotonic() < deadline, "the attempt neither finished nor waited"
            time.sleep(0.01)
    attempt.join(60)
    assert outcome == ["account_locked"]
