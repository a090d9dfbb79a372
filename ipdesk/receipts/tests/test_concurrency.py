"""Gapless numbering under concurrency and crashes, on PostgreSQL with real processes."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from typing import Any

import pytest
from django.db import connections

from ipdesk.audit.selectors import verify_chain
from ipdesk.receipts import services
from ipdesk.receipts.models import Receipt, ReceiptSeries
from ipdesk.testing import bulk_reviewed_payments

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _issue_all(ids: list[int], seed: int, start: Any) -> None:
    """A worker process: issue every payment, in batches of 25, in its own order."""
    try:
        batches = [ids[i : i + 25] for i in range(0, len(ids), 25)]
        random.Random(seed).shuffle(batches)
        start.wait()
        for batch in batches:
            services.issue_receipts(batch)
    finally:
        connections.close_all()
    os._exit(0)


def _issue_and_hang(ids: list[int], inside: Any) -> None:
    """A worker that is killed after taking numbers and inserting, before committing."""

    def hang(*args: Any, **kwargs: Any) -> None:
        inside.set()
        time.sleep(600)

    services.record_events = hang  # type: ignore[assignment]
    services.issue_receipts(ids)
    os._exit(1)


def _fork() -> Any:
    connections.close_all()  # a forked child must not share the parent's connection
    return multiprocessing.get_context("fork")


def test_eight_processes_issue_into_one_series_without_gap_or_duplicate() -> None:
    ids = bulk_reviewed_payments(400)
    context = _fork()
    start = context.Event()
    workers = [context.Process(target=_issue_all, args=(ids, seed, start)) for seed in range(8)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    numbers = list(Receipt.objects.order_by("number").values_list("number", flat=True))
    assert numbers == list(range(1, 401))
    assert sorted(Receipt.objects.values_list("payment_id", flat=True)) == sorted(ids)
    assert ReceiptSeries.objects.get().next_number == 401
    assert verify_chain().ok


def test_process_killed_mid_batch_leaves_no_gap() -> None:
    ids = bulk_reviewed_payments(60)
    services.issue_receipts(ids[:10])
    context = _fork()
    inside = context.Event()
    victim = context.Process(target=_issue_and_hang, args=(ids[10:40], inside))
    victim.start()
    assert inside.wait(60), "the worker never reached the end of its batch"
    os.kill(victim.pid, signal.SIGKILL)
    victim.join(30)
    assert victim.exitcode == -signal.SIGKILL
    # Recovery: whatever is pending is issued again; the killed batch left nothing behind.
    assert Receipt.objects.count() == 10
    services.issue_receipts(ids[10:])
    numbers = list(Receipt.objects.order_by("number").values_list("number", flat=True))
    assert numbers == list(range(1, 61))
    assert services.issue_receipts(ids) == []
    assert verify_chain().ok
