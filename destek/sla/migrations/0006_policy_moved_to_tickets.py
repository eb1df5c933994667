"""The SLA policy moved to `tickets` (tickets 0015): only Django's state forgets it here;
the table and its rows stay."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("sla", "0005_policy_names"),
        ("tickets", "0015_policy_moves_here"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="Policy")]),
    ]
