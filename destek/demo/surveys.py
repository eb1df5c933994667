"""Survey answers for the demo and seeded tickets, so the satisfaction report has something
to show: every resolved ticket was sent a survey, about a third were answered, some unhappy.

Two INSERT ... SELECT statements whatever the number of tickets (a million seeded ones take
seconds, not a Python loop). The scores come from the ticket's id, so a run is reproducible
and the same SQL works on SQLite and PostgreSQL. Safe to run twice: tickets that already
have a survey are left alone.
"""

from __future__ import annotations

from django.db import connection, transaction

from destek.surveys.models import SurveyAnswer, SurveySent
from destek.tickets.models import Message, Ticket


def _score(column: str, salt: int) -> str:
    """1-5 from the id: mostly 4 and 5, a 1 or 2 now and then (the unhappy); a different
    `salt` gives each question its own score."""
    return (
        f"CASE WHEN ({column} + {salt}) % 17 = 0 THEN 1 "
        f"WHEN ({column} + {salt}) % 11 = 0 THEN 2 "
        f"WHEN ({column} + {salt}) % 7 = 0 THEN 3 "
        f"ELSE 4 + ({column} + {salt}) % 2 END"
    )


@transaction.atomic
def seed_survey_answers(every: int = 3) -> tuple[int, int]:
    """Surveys sent for resolved tickets without one, and answers for one in `every` of them,
    less one in four (some surveys stay unanswered), at the resolution instant, kept with the
    ticket's assignee or else the agent who wrote last. Returns (sent, answered) rows added."""
    ticket = Ticket._meta.db_table
    sent = SurveySent._meta.db_table
    answer = SurveyAnswer._meta.db_table
    message = Message._meta.db_table
    agent = f"""COALESCE(t.assignee_id, (
        SELECT m.author_id FROM {message} m
        WHERE m.ticket_id = t.id AND m.author_kind = 'agent' ORDER BY m.id DESC LIMIT 1
    ))"""  # noqa: S608 -- a table name, no input
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {sent} (ticket_id, customer_id, agent_id, department_id, channel,
                sent_at, via, token_version)
            SELECT t.id, t.customer_id, {agent}, t.department_id, t.channel,
                t.resolved_at, 'email', 1
            FROM {ticket} t
            WHERE t.resolved_at IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM {sent} s WHERE s.ticket_id = t.id)
            """  # noqa: S608 -- table names from the models, no input
        )
        added_sent = cursor.rowcount
        cursor.execute(
            f"""
            INSERT INTO {answer} (ticket_id, customer_id, agent_id, department_id, channel,
                speed, clarity, tone, solved, comment, answered_at, updated_at)
            SELECT t.id, t.customer_id, {agent}, t.department_id, t.channel,
                {_score("t.id", 3)}, {_score("t.id", 5)}, {_score("t.id", 13)},
                (t.id % 9 <> 0), '', t.resolved_at, t.resolved_at
            FROM {ticket} t
            WHERE t.resolved_at IS NOT NULL AND t.id % {int(every)} = 0 AND t.id % 4 <> 3
              AND NOT EXISTS (SELECT 1 FROM {answer} a WHERE a.ticket_id = t.id)
            """  # noqa: S608 -- table names and an int, no input
        )
        added_answers = cursor.rowcount
    return added_sent, added_answers
