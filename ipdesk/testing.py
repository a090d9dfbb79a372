"""Helpers shared by the test suites of every app."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rest_framework.test import APIClient

from ipdesk.accounts import policy
from ipdesk.accounts.models import Organisation, OrganisationKind, Role, User
from ipdesk.accounts.services import create_organisation, create_user, issue_api_token

if TYPE_CHECKING:
    from ipdesk.collection.services import BookingData

PASSWORD = "correct-horse-battery-staple"  # noqa: S105 - test accounts only


def organisation(
    kind: str = OrganisationKind.AGENCY_OFFICE, code: str = "BJ", **extra: Any
) -> Organisation:
    existing = Organisation.objects.filter(code=code).first()
    if existing:
        return existing
    defaults: dict[str, Any] = {"name": f"{code} office"}
    if kind == OrganisationKind.AGENCY_OFFICE:
        defaults["bank_account"] = "6222 0000 0000 0001"
    defaults.update(extra)
    return create_organisation(kind=kind, code=code, **defaults)


def user(
    role: str = Role.COLLECTOR,
    username: str | None = None,
    org: Organisation | None = None,
    **extra: Any,
) -> User:
    if org is None and role != Role.PAYER:
        kind = (
            OrganisationKind.AGENCY_OFFICE
            if role in policy.BOOKKEEPERS
            else OrganisationKind.FEE_OFFICE
        )
        org = organisation(kind, "BJ" if kind == OrganisationKind.AGENCY_OFFICE else "CNIPA")
    return create_user(
        username=username or f"{role}-user", password=PASSWORD, role=role, organisation=org, **extra
    )


def api_client(for_user: User | None = None, language: str = "zh-hans") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    if for_user is not None:
        _token, plaintext = issue_api_token(for_user, name="test")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def application_number(year: int = 2023, type_digit: int = 1, serial: int = 123456) -> str:
    from ipdesk.core.identifiers import application_check_digit

    first12 = f"{year}{type_digit}{serial:07d}"
    return first12 + application_check_digit(first12)


PERSON_ID = "11010519491231002X"
UNIT_CODE = "91350100M000100Y43"


def bulk_reviewed_payments(count: int, *, office_code: str = "BJ") -> list[int]:
    """``count`` reviewed counter payments of one annual fee each, inserted in bulk.

    For tests and benchmarks that need many payments: it writes rows directly (the booking
    service checks each payment one by one and would dominate the run), with the same
    amounts the tariff gives and two different people as collector and reviewer.
    """
    from decimal import Decimal

    from django.utils import timezone

    from ipdesk.collection.models import (
        Channel,
        Payment,
        PaymentDateRule,
        PaymentLine,
        PaymentStatus,
        Volume,
        VolumeKind,
        VolumeStatus,
    )
    from ipdesk.tariff.models import FeeType

    office = organisation(OrganisationKind.AGENCY_OFFICE, office_code)
    collector = User.objects.filter(username=f"bulk-c-{office_code}").first() or user(
        Role.COLLECTOR, f"bulk-c-{office_code}", org=office
    )
    reviewer = User.objects.filter(username=f"bulk-r-{office_code}").first() or user(
        Role.REVIEWER, f"bulk-r-{office_code}", org=office
    )
    today = timezone.localdate()
    now = timezone.now()
    number = (Volume.objects.filter(office=office, day=today).count() or 0) + 1
    volume = Volume.objects.create(
        office=office,
        kind=VolumeKind.COUNTER,
        day=today,
        number=number,
        status=VolumeStatus.REVIEWED,
        opened_by=collector,
        closed_at=now,
        reviewed_by=reviewer,
        reviewed_at=now,
    )
    annual = FeeType.objects.get(code="annual")
    amount = Decimal("900.00")  # invention, years 1-3
    ids: list[int] = []
    chunk = 5000
    for start in range(0, count, chunk):
        payments = [
            Payment(
                volume=volume,
                office=office,
                channel=Channel.COUNTER,
                status=PaymentStatus.REVIEWED,
                payer_name=f"缴费人{start + i}",
                payer_kind="individual",
                payer_id_code=PERSON_ID,
                receipt_title=f"缴费人{start + i}",
                application_number=application_number(serial=(start + i) % 10_000_000),
                patent_kind="invention",
                received_on=today,
                payment_date=today,
                payment_date_rule=PaymentDateRule.COUNTER_DAY,
                booked_on=today,
                total=amount,
                entered_by=collector,
                reviewed_by=reviewer,
                reviewed_at=now,
            )
            for i in range(min(chunk, count - start))
        ]
        Payment.objects.bulk_create(payments, batch_size=chunk)
        if payments[0].pk is None:  # backends that return no keys from a bulk insert
            created = list(
                Payment.objects.filter(volume=volume).order_by("pk").values_list("pk", flat=True)
            )[len(ids) :]
        else:
            created = [p.pk for p in payments]
        PaymentLine.objects.bulk_create(
            [
                PaymentLine(
                    payment_id=pk,
                    fee_type=annual,
                    year=1 + (pk % 3),
                    quantity=1,
                    standard=amount,
                    amount=amount,
                    tariff_amount=amount,
                )
                for pk in created
            ],
            batch_size=chunk,
        )
        ids.extend(created)
    return ids


def booking(
    *,
    channel: str = "counter",
    amount: str = "900.00",
    fee: str = "application",
    number: str | None = None,
    **dates: Any,
) -> BookingData:
    """A one-line booking by an individual payer, dated today unless ``dates`` say otherwise."""
    from django.utils import timezone

    from ipdesk.collection.services import BookingData, ChannelDates, LineData, PayerData

    today = timezone.localdate()
    dates.setdefault("received_on", today)
    return BookingData(
        channel=channel,
        payer=PayerData(name="陈发明", kind="individual", id_code=PERSON_ID, phone="13800138000"),
        application_number=number or application_number(),
        lines=[LineData(fee_code=fee, amount=amount)],
        dates=ChannelDates(**dates),
    )


def pdf_text(content: bytes, tmp_path: Path, *, layout: bool = False) -> str:
    """The text of a PDF as poppler's ``pdftotext`` reads it (a real reader, not ReportLab)."""
    import subprocess

    path = tmp_path / "document.pdf"
    path.write_bytes(content)
    command = ["pdftotext", *(["-layout"] if layout else []), str(path), "-"]
    return subprocess.run(command, check=True, capture_output=True).stdout.decode("utf-8")
