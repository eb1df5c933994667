"""Azerbaijani and Turkish search words are now folded (ş→s, ç→c, ğ→g, ö→o, ü→u, ə→e, see
lib/stems.py): the stored search text of those articles, their FTS5 rows and the words for typos
are made again the new way. Articles of other languages are not touched."""

from __future__ import annotations

from django.db import migrations

LANGUAGES = ("az", "tr")


def refold(apps, schema_editor):
    from destek.kb.markdown import plain_text
    from destek.lib.stems import terms

    Translation = apps.get_model("kb", "Translation")
    Term = apps.get_model("kb", "Term")
    sqlite = schema_editor.connection.vendor == "sqlite"
    words: dict[str, set[str]] = {language: set() for language in LANGUAGES}
    for translation in Translation.objects.filter(language__in=LANGUAGES).only(
        "pk", "language", "title", "body"
    ):
        title = terms(translation.title, translation.language)
        body = terms(plain_text(translation.body), translation.language)
        Translation.objects.filter(pk=translation.pk).update(
            search_title=" ".join(title), search_body=" ".join(body)
        )
        if sqlite:
            with schema_editor.connection.cursor() as cursor:
                cursor.execute("DELETE FROM kb_fts WHERE rowid = %s", [translation.pk])
                cursor.execute(
                    "INSERT INTO kb_fts(rowid, title, body, language) VALUES (%s, %s, %s, %s)",
                    [translation.pk, " ".join(title), " ".join(body), translation.language],
                )
        words[translation.language].update(t for t in (*title, *body) if len(t) < 100)
    Term.objects.filter(language__in=LANGUAGES).delete()
    Term.objects.bulk_create(
        [
            Term(language=language, term=term)
            for language in LANGUAGES
            for term in sorted(words[language])
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("kb", "0003_admin_names_of_searches_and_article_events")]
    operations = [migrations.RunPython(refold, migrations.RunPython.noop)]
