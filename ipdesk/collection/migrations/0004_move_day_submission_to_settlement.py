"""Day submissions (报送) move to settlement, beside the fine for sending them late.

The table is renamed, rows and ids kept; the model leaves collection's state here and
``settlement.0002_day_submission`` takes it into settlement's state without touching the
database.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("collection", "0003_day_submission")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable("DaySubmission", "settlement_daysubmission"),
            ],
            state_operations=[migrations.DeleteModel("DaySubmission")],
        ),
    ]
