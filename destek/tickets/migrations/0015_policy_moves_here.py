"""The SLA policy moves from `sla` to `tickets` (the floors: a policy matches tickets by
department, priority, channel and tier; `sla` keeps the calendars and the engine). Only
Django's state moves: the table keeps its name (`sla_policy`) and every row stays where it is.
"""

import django.db.models.deletion
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="tickets", model="policy").exists():
        ContentType.objects.filter(app_label="sla", model="policy").update(app_label="tickets")


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="sla", model="policy").exists():
        ContentType.objects.filter(app_label="tickets", model="policy").update(
            app_label="sla"
        )


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0007_calendar_for_persian_dates'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('sla', '0005_policy_names'),
        ('tickets', '0014_department_names'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
        migrations.CreateModel(
            name='Policy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100, verbose_name='name')),
                ('names', models.JSONField(blank=True, default=dict, help_text='The name customers and agents read in each language; the name above where a language has none.', verbose_name='names by language')),
                ('position', models.PositiveIntegerField(default=100, verbose_name='position')),
                ('enabled', models.BooleanField(default=True, verbose_name='enabled')),
                ('if_priority', models.CharField(blank=True, choices=[('low', 'Low'), ('normal', 'Normal'), ('high', 'High'), ('critical', 'Critical')], max_length=16, verbose_name='when priority is')),
                ('if_tier', models.CharField(blank=True, choices=[('standard', 'Standard'), ('premium', 'Premium'), ('vip', 'VIP')], max_length=16, verbose_name='when tier is')),
                ('if_channel', models.CharField(blank=True, choices=[('web', 'Web'), ('api', 'API'), ('email', 'E-mail'), ('chat', 'Chat'), ('telegram', 'Telegram'), ('phone', 'Phone')], max_length=16, verbose_name='when channel is')),
                ('first_response_minutes', models.PositiveIntegerField(blank=True, null=True, verbose_name='first response (business minutes)')),
                ('next_response_minutes', models.PositiveIntegerField(blank=True, null=True, verbose_name='next response (business minutes)')),
                ('resolution_minutes', models.PositiveIntegerField(blank=True, null=True, verbose_name='resolution (business minutes)')),
                ('warning_percent', models.PositiveSmallIntegerField(default=80, verbose_name='warning threshold (percent of the target)')),
                ('raise_priority', models.BooleanField(default=False, verbose_name='raise the priority one step on breach')),
                ('calendar', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='policies', to='sla.calendar', verbose_name='calendar')),
                ('if_department', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tickets.department', verbose_name='when department is')),
                ('if_organisation', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.organisation', verbose_name='when organisation is')),
            ],
            options={
                'verbose_name': 'SLA policy',
                'verbose_name_plural': 'SLA policies',
                'db_table': 'sla_policy',
                'ordering': ['position', 'id'],
            },
        ),
        ]),
        # The foreign key already points at this table: state only.
        migrations.SeparateDatabaseAndState(state_operations=[
        migrations.AlterField(
            model_name='ticket',
            name='sla_policy',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='tickets.policy', verbose_name='SLA policy'),
        ),
        ]),
        # Permissions and admin history follow the model.
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
