"""Reads of the fee schedule."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, QuerySet

from .models import FeeRate, FeeType, LateChargeBand, ScheduleVersion


def version_in_force(day: dt.date) -> ScheduleVersion | None:
    """The schedule version whose period contains ``day``."""
    return ScheduleVersion.objects.filter(valid_from__lte=day).order_by("-valid_from").first()


def next_version_after(version: ScheduleVersion) -> ScheduleVersion | None:
    return (
        ScheduleVersion.objects.filter(valid_from__gt=version.valid_from)
        .order_by("valid_from")
        .first()
    )


def late_charge_bands(version: ScheduleVersion) -> list[LateChargeBand]:
    """The version's late-charge bands, by month of delay."""
    return list(LateChargeBand.objects.filter(version=version).order_by("month"))


def fee_type(code: str) -> FeeType | None:
    return FeeType.objects.filter(code=code).first()


def fee_types() -> QuerySet[FeeType]:
    return FeeType.objects.all()


def rates_for(version: ScheduleVersion, fee: FeeType, patent_kind: str) -> list[FeeRate]:
    return list(
        FeeRate.objects.filter(version=version, fee_type=fee, patent_kind=patent_kind).order_by(
            "band_from", "filed_from"
        )
    )


def schedule(version: ScheduleVersion) -> QuerySet[FeeType]:
    """Every fee type with its rates in ``version``, for display."""
    return (
        FeeType.objects.prefetch_related(
            Prefetch(
                "rates",
                queryset=FeeRate.objects.filter(version=version).order_by(
                    "patent_kind", "band_from"
                ),
            )
        )
        .filter(rates__version=version)
        .distinct()
    )


def versions() -> QuerySet[ScheduleVersion]:
    return ScheduleVersion.objects.all()
