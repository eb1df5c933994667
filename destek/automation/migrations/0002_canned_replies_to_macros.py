"""Every canned reply becomes a macro that only replies: its text in its language (or for any
language), its department, status, priority and position. Reversed, every shared macro
that only replies becomes canned replies again, one per text."""

from __future__ import annotations

from typing import Any

from django.db import migrations

BATCH = 500

#: The statuses a canned reply could leave a ticket in.
REPLY_STATUSES = ("", "open", "pending", "resolved")


def canned_to_macros(apps: Any, schema_editor: Any) -> None:
    CannedReply = apps.get_model("desk", "CannedReply")
    Macro = apps.get_model("automation", "Macro")
    MacroText = apps.get_model("automation", "MacroText")
    replies = CannedReply.objects.order_by("pk")
    last = 0
    while True:
        batch = list(replies.filter(pk__gt=last)[:BATCH])
        if not batch:
            break
        for reply in batch:
            macro = Macro.objects.create(
                name=reply.title,
                department_id=reply.department_id,
                status=reply.status,
                priority=reply.priority,
                position=reply.position,
            )
            MacroText.objects.create(macro=macro, language=reply.language, body=reply.body)
        last = batch[-1].pk


def macros_to_canned(apps: Any, schema_editor: Any) -> None:
    CannedReply = apps.get_model("desk", "CannedReply")
    Macro = apps.get_model("automation", "Macro")
    MacroText = apps.get_model("automation", "MacroText")
    only_reply = Macro.objects.filter(
        owner__isnull=True,
        status__in=REPLY_STATUSES,
        set_department__isnull=True,
        assignee_choice="",
        add_tags="",
        remove_tags="",
        note="",
    )
    for macro in only_reply.order_by("pk").iterator(chunk_size=BATCH):
        for text in MacroText.objects.filter(macro=macro).order_by("language"):
            CannedReply.objects.create(
                title=(text.title or macro.name)[:100],
                body=text.body,
                language=text.language,
                department_id=macro.department_id,
                status=macro.status,
                priority=macro.priority,
                position=macro.position,
            )
        macro.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("automation", "0001_macros"),
        ("desk", "0002_canned_reply_language"),
    ]

    operations = [migrations.RunPython(canned_to_macros, macros_to_canned)]
