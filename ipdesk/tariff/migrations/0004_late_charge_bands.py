"""Loads the late-charge bands of data/schedule.json into the versions they belong to.

A version the file does not list (added by an operator) keeps the bands it has been priced
with so far: those of the latest listed version in force before it.
"""

import datetime as dt
import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "schedule.json"


def load_bands(apps, schema_editor):
    ScheduleVersion = apps.get_model("tariff", "ScheduleVersion")
    LateChargeBand = apps.get_model("tariff", "LateChargeBand")
    listed = sorted(
        (dt.date.fromisoformat(spec["valid_from"]), spec["late_charges"])
        for spec in json.loads(DATA.read_text(encoding="utf-8"))["versions"]
    )
    for version in ScheduleVersion.objects.filter(late_charges__isnull=True):
        earlier = [bands for valid_from, bands in listed if valid_from <= version.valid_from]
        bands = earlier[-1] if earlier else listed[0][1]
        LateChargeBand.objects.bulk_create(
            LateChargeBand(version=version, month=band["month"], percent=band["percent"])
            for band in bands
        )


def unload_bands(apps, schema_editor):
    apps.get_model("tariff", "LateChargeBand").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("tariff", "0003_late_charge_band")]
    operations = [migrations.RunPython(load_bands, unload_bands)]
