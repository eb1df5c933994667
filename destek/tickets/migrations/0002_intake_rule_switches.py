from __future__ import annotations

from django.db import migrations

CODES = ["generic_subject", "shouting_subject", "duplicate", "nudge"]


def create_switches(apps, schema_editor):
    IntakeRule = apps.get_model("tickets", "IntakeRule")
    for code in CODES:
        IntakeRule.objects.get_or_create(code=code, defaults={"enabled": True})


def remove_switches(apps, schema_editor):
    apps.get_model("tickets", "IntakeRule").objects.filter(code__in=CODES).delete()


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(create_switches, remove_switches)]
