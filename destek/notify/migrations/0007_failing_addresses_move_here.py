"""The bounce list moves from `mail` to `notify` (the floors: notify decides what may be sent
and sits below the channels). Only Django's state moves: the table keeps its name
(`mail_failingaddress`) and every row stays where it is.
"""

import django.utils.timezone
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="notify", model="failingaddress").exists():
        ContentType.objects.filter(app_label="mail", model="failingaddress").update(
            app_label="notify"
        )


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="mail", model="failingaddress").exists():
        ContentType.objects.filter(app_label="notify", model="failingaddress").update(
            app_label="mail"
        )


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("mail", "0003_mailbox_password_stored_encrypted"),
        ("notify", "0006_outbox_claims_by_worker_heartbeat"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="FailingAddress",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("email", models.EmailField(max_length=254, unique=True, verbose_name="address")),
                        ("permanent", models.BooleanField(default=False, verbose_name="permanent failure")),
                        ("status", models.CharField(blank=True, max_length=20, verbose_name="status code")),
                        ("diagnostic", models.TextField(blank=True, verbose_name="diagnostic")),
                        ("bounces", models.PositiveIntegerField(default=0, verbose_name="bounces")),
                        ("first_failed_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="first failure")),
                        ("last_failed_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="last failure")),
                    ],
                    options={
                        "verbose_name": "failing address",
                        "verbose_name_plural": "failing addresses",
                        "db_table": "mail_failingaddress",
                        "ordering": ["email"],
                    },
                ),
            ]
        ),
        # Permissions and admin history follow the model.
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
