from __future__ import annotations

from django.db import migrations, models


def create_switch(apps, schema_editor):
    IntakeRule = apps.get_model("tickets", "IntakeRule")
    IntakeRule.objects.get_or_create(code="critical", defaults={"enabled": True, "limit": 3})


def remove_switch(apps, schema_editor):
    apps.get_model("tickets", "IntakeRule").objects.filter(code="critical").delete()


class Migration(migrations.Migration):
    dependencies = [("tickets", "0010_mail_quotes_and_billing")]

    operations = [
        migrations.AddField(
            model_name="intakerule",
            name="limit",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text=(
                    "Critical incidents: how many one customer may declare in 30 days; beyond "
                    "it a declaration is filed as high priority. Empty: 3."
                ),
                null=True,
                verbose_name="limit per customer in 30 days",
            ),
        ),
        migrations.AddField(
            model_name="ticket",
            name="declared_critical",
            field=models.BooleanField(
                default=False, verbose_name="critical incident declared by the customer"
            ),
        ),
        migrations.AlterField(
            model_name="intakerule",
            name="code",
            field=models.CharField(
                choices=[
                    ("generic_subject", "Refuse subjects that say nothing"),
                    ("shouting_subject", "Refuse subjects with runs of ??? or !!!"),
                    ("duplicate", "Refuse duplicates of an open ticket"),
                    ("nudge", "Treat messages that only ask for news as nudges"),
                    ("critical", "Accept customers' critical incidents that give the facts"),
                ],
                max_length=32,
                unique=True,
                verbose_name="rule",
            ),
        ),
        migrations.RunPython(create_switch, remove_switch),
    ]
