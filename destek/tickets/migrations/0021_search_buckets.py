"""Ticket search on PostgreSQL: every ticket's words once more, each marked with the bucket of
50,000 ticket ids it falls in (tickets/search.py reads an agent's newest buckets first, so a
common word does not make PostgreSQL visit every ticket that uses it). Adding the column
rewrites the table: on a million tickets, a few minutes."""

from django.db import migrations

#: tickets/search.py builds the same words: "b" + the bucket in six digits + "x" + the word.
POSTGRES_UP = [
    "ALTER TABLE tickets_ticketsearch ADD COLUMN bucket_vector tsvector GENERATED ALWAYS AS ("
    "strip(to_tsvector('simple'::regconfig, regexp_replace(public || ' ' || internal, "
    "'(\\S+)', 'b' || lpad((ticket_id / 50000)::text, 6, '0') || 'x\\1', 'g')))) STORED",
    "CREATE INDEX tickets_search_bucket ON tickets_ticketsearch USING gin (bucket_vector)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS tickets_search_bucket",
    "ALTER TABLE tickets_ticketsearch DROP COLUMN IF EXISTS bucket_vector",
]


def up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_UP:
            schema_editor.execute(statement)


def down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0020_time_entries"),
    ]

    operations = [migrations.RunPython(up, down)]
