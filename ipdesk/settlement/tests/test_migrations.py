"""Migrating a database that has day submissions moves them to settlement without loss.

Runs on SQLite and, with ``DATABASE_URL`` set, on PostgreSQL: the table is renamed, so its
rows, ids and id sequence must all survive, and the content type must follow the model.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from ipdesk.accounts.models import OrganisationKind, Role
from ipdesk.settlement.models import DaySubmission
from ipdesk.testing import organisation, user

BEFORE = [("collection", "0003_day_submission"), ("settlement", "0001_initial")]
AFTER = [
    ("collection", "0004_move_day_submission_to_settlement"),
    ("settlement", "0002_day_submission"),
]


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


@pytest.mark.django_db(transaction=True)
def test_day_submissions_keep_their_rows_ids_and_content_type_when_moved() -> None:
    office = organisation(OrganisationKind.AGENCY_OFFICE, "GZ")
    collector = user(Role.COLLECTOR, "gz-collector", office)
    clerk = user(Role.FEE_CLERK, "clerk")
    content_type = ContentType.objects.get_for_model(DaySubmission).pk

    executor = _migrate(BEFORE)
    assert "collection_daysubmission" in connection.introspection.table_names()
    old = executor.loader.project_state(BEFORE).apps.get_model("collection", "DaySubmission")
    sent = old.objects.create(
        office_id=office.pk,
        day=dt.date(2025, 9, 26),
        due_on=dt.date(2025, 9, 29),
        submitted_on=dt.date(2025, 10, 9),
        submitted_by_id=collector.pk,
        entries=3,
        total=Decimal("2700.00"),
        late_working_days=3,
        excuse="省网络中断",
        excused_by_id=clerk.pk,
        excused_on=dt.date(2025, 10, 10),
    )
    on_time = old.objects.create(
        office_id=office.pk,
        day=dt.date(2025, 9, 29),
        due_on=dt.date(2025, 9, 30),
        submitted_on=dt.date(2025, 9, 30),
        submitted_by_id=collector.pk,
        entries=1,
        total=Decimal("900.00"),
    )
    assert ContentType.objects.get(pk=content_type).app_label == "collection"

    _migrate(AFTER)
    tables = connection.introspection.table_names()
    assert "settlement_daysubmission" in tables and "collection_daysubmission" not in tables
    moved = DaySubmission.objects.get(pk=sent.pk)
    assert (moved.office, moved.day, moved.due_on, moved.submitted_on) == (
        office,
        dt.date(2025, 9, 26),
        dt.date(2025, 9, 29),
        dt.date(2025, 10, 9),
    )
    assert (moved.submitted_by, moved.entries, moved.total, moved.late_working_days) == (
        collector,
        3,
        Decimal("2700.00"),
        3,
    )
    assert (moved.excuse, moved.excused_by, moved.excused_on) == (
        "省网络中断",
        clerk,
        dt.date(2025, 10, 10),
    )
    assert DaySubmission.objects.get(pk=on_time.pk).excuse == ""
    # The id sequence went with the table: the next row is numbered after the moved ones.
    later = DaySubmission.objects.create(
        office=office,
        day=dt.date(2025, 9, 30),
        due_on=dt.date(2025, 10, 9),
        submitted_on=dt.date(2025, 10, 9),
        submitted_by=collector,
        entries=0,
        total=Decimal("0.00"),
    )
    assert later.pk > max(sent.pk, on_time.pk)
    # Permissions hang on the content type, which followed the model.
    moved_type = ContentType.objects.get(pk=content_type)
    assert (moved_type.app_label, moved_type.model) == ("settlement", "daysubmission")
    ContentType.objects.clear_cache()
    assert ContentType.objects.get_for_model(DaySubmission).pk == content_type
