"""The worker's survey mail: a resolved ticket's survey, sent after the delay."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from destek.surveys import actions


@db_task()
def send_survey(ticket_id: int) -> bool:
    """Re-reads the ticket and re-checks everything: safe to run twice."""
    return actions.send_survey(ticket_id) is not None
