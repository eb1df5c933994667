"""The bounce list moved to `notify` (notify 0007): only Django's state forgets it here; the
table and its rows stay."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("mail", "0003_mailbox_password_stored_encrypted"),
        ("notify", "0007_failing_addresses_move_here"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="FailingAddress")]
        ),
    ]
