"""Audit entries are append-only at the database level; the default plan exists."""

from django.db import migrations

from comptoir.core.audit import guard_statements


def install_guard(apps, schema_editor):
    for statement in guard_statements(schema_editor.connection.vendor, install=True):
        schema_editor.execute(statement)


def remove_guard(apps, schema_editor):
    for statement in guard_statements(schema_editor.connection.vendor, install=False):
        schema_editor.execute(statement)


def default_plan(apps, schema_editor):
    Plan = apps.get_model("core", "Plan")
    Plan.objects.get_or_create(
        code="standard",
        defaults={"name": "Standard", "max_web_users": 10, "storage_quota_bytes": 30 * 1024**3},
    )


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.RunPython(install_guard, remove_guard),
        migrations.RunPython(default_plan, migrations.RunPython.noop),
    ]
