from django.db import migrations


def install(apps, schema_editor):
    from ipdesk.audit import guards

    guards.install(schema_editor, "receipts_receipt")


def remove(apps, schema_editor):
    from ipdesk.audit import guards

    guards.remove(schema_editor, "receipts_receipt")


class Migration(migrations.Migration):
    dependencies = [("receipts", "0001_initial"), ("audit", "0002_append_only_guards")]
    operations = [migrations.RunPython(install, remove)]
