from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0008_diagnostic_details"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="notify_sms",
            field=models.BooleanField(default=False, verbose_name="SMS the customer"),
        ),
    ]
