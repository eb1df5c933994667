from __future__ import annotations

import datetime

from django.conf import settings
from django.db import migrations


def create_default(apps, schema_editor):
    Calendar = apps.get_model("sla", "Calendar")
    WeeklyHours = apps.get_model("sla", "WeeklyHours")
    Policy = apps.get_model("sla", "Policy")
    if Policy.objects.exists():
        return
    calendar, created = Calendar.objects.get_or_create(
        name="Office hours", defaults={"time_zone": settings.TIME_ZONE}
    )
    if created:
        for weekday in range(5):
            WeeklyHours.objects.create(
                calendar=calendar, weekday=weekday, start=datetime.time(9), end=datetime.time(18)
            )
    Policy.objects.create(
        name="Default",
        position=1000,
        calendar=calendar,
        first_response_minutes=240,
        next_response_minutes=240,
        resolution_minutes=3 * 540,
    )


def remove_default(apps, schema_editor):
    apps.get_model("sla", "Policy").objects.filter(name="Default", position=1000).delete()


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]
    operations = [migrations.RunPython(create_default, remove_default)]
