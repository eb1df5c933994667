"""Critical incidents are answered within 60 minutes at any hour (seed 004): a 24/7 calendar
and a policy for critical priority, unless the admin already has one."""

from __future__ import annotations

import datetime

from django.db import migrations


def create_critical(apps, schema_editor):
    Calendar = apps.get_model("sla", "Calendar")
    WeeklyHours = apps.get_model("sla", "WeeklyHours")
    Policy = apps.get_model("sla", "Policy")
    if Policy.objects.filter(if_priority="critical").exists():
        return
    calendar, created = Calendar.objects.get_or_create(name="24/7", defaults={"time_zone": "UTC"})
    if created:
        for weekday in range(7):
            WeeklyHours.objects.create(
                calendar=calendar, weekday=weekday, start=datetime.time(0), end=datetime.time(0)
            )
    Policy.objects.get_or_create(
        name="Critical",
        defaults={
            "position": 20,
            "if_priority": "critical",
            "calendar": calendar,
            "first_response_minutes": 60,
            "next_response_minutes": 60,
            "resolution_minutes": 3 * 540,
            "raise_priority": True,
        },
    )


def remove_critical(apps, schema_editor):
    apps.get_model("sla", "Policy").objects.filter(
        name="Critical", if_priority="critical", first_response_minutes=60
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("sla", "0003_labels")]
    operations = [migrations.RunPython(create_critical, remove_critical)]
