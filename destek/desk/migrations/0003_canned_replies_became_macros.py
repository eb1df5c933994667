"""Canned replies are macros now (automation 0002 moved every one); the table goes."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("desk", "0002_canned_reply_language"),
        # The rows are moved before the table is removed.
        ("automation", "0002_canned_replies_to_macros"),
    ]

    operations = [
        migrations.DeleteModel(
            name="CannedReply",
        ),
    ]
