from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from ipdesk.audit.models import AuditEvent
from ipdesk.audit.selectors import verify_chain
from ipdesk.audit.services import EventSpec, record_event, record_events


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_append_one_unbroken_chain() -> None:
    workers, per_worker = 8, 25
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            barrier.wait()
            for n in range(per_worker):
                with transaction.atomic():
                    if n % 5 == 0:
                        record_events(
                            [
                                EventSpec("test.batch", object_id=f"{worker}-{n}-{i}")
                                for i in range(3)
                            ]
                        )
                    else:
                        record_event("test.single", object_id=f"{worker}-{n}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    expected = workers * (per_worker + (per_worker // 5) * 2)
    sequences = list(AuditEvent.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, expected + 1))
    report = verify_chain()
    assert report.ok and report.checked == expected
