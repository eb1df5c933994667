"""The search index: an FTS5 table on SQLite; a GIN full-text index and pg_trgm on PostgreSQL."""

from __future__ import annotations

from django.db import migrations

SQLITE_UP = [
    "CREATE VIRTUAL TABLE kb_fts USING fts5("
    "title, body, language UNINDEXED, tokenize='unicode61 remove_diacritics 0')",
]
SQLITE_DOWN = ["DROP TABLE IF EXISTS kb_fts"]
POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX kb_translation_fts ON kb_translation USING gin ("
    "(setweight(to_tsvector('simple'::regconfig, search_title), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, search_body), 'B')))",
    "CREATE INDEX kb_term_trgm ON kb_term USING gin (term gin_trgm_ops)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS kb_term_trgm",
    "DROP INDEX IF EXISTS kb_translation_fts",
]


def up(apps, schema_editor):
    statements = {"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}.get(
        schema_editor.connection.vendor, []
    )
    for statement in statements:
        schema_editor.execute(statement)


def down(apps, schema_editor):
    statements = {"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}.get(
        schema_editor.connection.vendor, []
    )
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("kb", "0001_knowledge_base")]
    operations = [migrations.RunPython(up, down)]
