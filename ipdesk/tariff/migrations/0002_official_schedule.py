"""Loads the official schedule (data/schedule.json) as the first two versions."""

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "schedule.json"


def load(apps, schema_editor):
    FeeType = apps.get_model("tariff", "FeeType")
    ScheduleVersion = apps.get_model("tariff", "ScheduleVersion")
    FeeRate = apps.get_model("tariff", "FeeRate")
    data = json.loads(DATA.read_text(encoding="utf-8"))
    types = {}
    for spec in data["fee_types"]:
        types[spec["code"]] = FeeType.objects.create(**spec)
    for spec in data["versions"]:
        version = ScheduleVersion.objects.create(
            valid_from=dt.date.fromisoformat(spec["valid_from"]),
            name=spec["name"],
            source=spec["source"],
            reduction_annual_years=spec["reduction_annual_years"],
        )
        FeeRate.objects.bulk_create(
            FeeRate(
                version=version,
                fee_type=types[row["fee"]],
                patent_kind=row["kind"],
                band_from=row.get("from", 0),
                band_to=row.get("to"),
                filed_from=dt.date.fromisoformat(row["filed_from"]) if row.get("filed_from") else None,
                amount=Decimal(row["amount"]),
                note=row.get("note", ""),
            )
            for row in spec["rates"]
        )


def unload(apps, schema_editor):
    apps.get_model("tariff", "FeeRate").objects.all().delete()
    apps.get_model("tariff", "ScheduleVersion").objects.all().delete()
    apps.get_model("tariff", "FeeType").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("tariff", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
