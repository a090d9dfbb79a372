"""Day submissions (报送) move here from collection, their table renamed by
``collection.0004_move_day_submission_to_settlement``: state only, and the content type
(with its permissions) follows the model."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import ipdesk.core.fields


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="settlement", model="daysubmission").exists():
        ContentType.objects.filter(app_label="collection", model="daysubmission").update(
            app_label="settlement"
        )


def return_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="collection", model="daysubmission").exists():
        ContentType.objects.filter(app_label="settlement", model="daysubmission").update(
            app_label="collection"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_logincode"),
        ("collection", "0004_move_day_submission_to_settlement"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("settlement", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DaySubmission",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("day", models.DateField(verbose_name="booking day")),
                        ("due_on", models.DateField(verbose_name="due by")),
                        ("submitted_on", models.DateField(verbose_name="sent on")),
                        ("submitted_at", models.DateTimeField(auto_now_add=True, verbose_name="sent")),
                        ("entries", models.PositiveIntegerField(verbose_name="entries")),
                        ("total", ipdesk.core.fields.MoneyField(verbose_name="total")),
                        ("late_working_days", models.PositiveSmallIntegerField(default=0, verbose_name="working days late")),
                        ("excuse", models.TextField(blank=True, verbose_name="reason accepted for the delay")),
                        ("excused_on", models.DateField(blank=True, null=True, verbose_name="delay excused on")),
                        ("excused_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("office", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="accounts.organisation")),
                        ("submitted_by", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "verbose_name": "day submission",
                        "verbose_name_plural": "day submissions",
                        "ordering": ["office", "day"],
                        "constraints": [models.UniqueConstraint(fields=("office", "day"), name="day_submission_office_day")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, return_content_type),
    ]
