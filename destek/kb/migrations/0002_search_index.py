"""The search index: an FTS5 table on SQLite; a GIN full-text index and pg_trgm on PostgreSQL."""

from __future__ import annotations

from django.db import migrations

SQLITE_UP = [
    "CREATE VIRTUAL TABLE kb_fts USING fts5("
    "title, body, language UNINDEXED, tokenize='unicode61 remove_diacritics 0')",
]
SQLITE_DOWN = ["DROP TABLE IF EXISTS kb_fts"]
# The weighted document is a stored generated column: ranking reads it instead of parsing
# the text of every matching row again (Django does not need to know the column).
POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "ALTER TABLE kb_translation ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, search_title), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, search_body), 'B')) STORED",
    "CREATE INDEX kb_translation_fts ON kb_translation USING gin (search_vector)",
    "CREATE INDEX kb_term_trgm ON kb_term USING gin (term gin_trgm_ops)",
    "CREATE INDEX kb_term_prefix ON kb_term (language, term text_pattern_ops)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS kb_term_prefix",
    "DROP INDEX IF EXISTS kb_term_trgm",
    "DROP INDEX IF EXISTS kb_translation_fts",
    "ALTER TABLE kb_translation DROP COLUMN IF EXISTS search_vector",
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
