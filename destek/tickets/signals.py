"""What tickets tell the floors above it, which it may not import."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent inside the transaction of every message written on a ticket by `create_ticket` (the
#: first message) and `add_message` (replies and internal notes alike), with `ticket`,
#: `message` and `attachments` (the files it was given, already attached). Receivers run in
#: the same transaction: what they write commits or rolls back with the message. Chat turns
#: the public ones into chat events.
message_added = Signal()

#: Sent inside the transaction of every status change (`_set_status`), with `ticket`, `old`
#: and `new`. Surveys schedules its mail when a ticket becomes `resolved`.
status_changed = Signal()

#: Sent inside the transaction of `create_ticket`, after its first message and history are
#: written (and after `message_added`), with `ticket`. Receivers' writes commit with the
#: ticket: webhooks queue `ticket.created`, assignment picks an agent.
ticket_created = Signal()

#: Sent inside the transaction of every entry written to a ticket's history after its
#: creation (`_event`), with `ticket` and `event` (a TicketEvent): a status, priority,
#: department, assignee or tag change, a merge ... Webhooks queue `ticket.updated`.
ticket_event = Signal()

#: Sent by surveys inside the transaction of `record_answer` (each answer, a changed one too),
#: with `ticket` and `answer` (a dict: `speed`, `clarity`, `tone`, `solved`, `comment`,
#: `answered_at`). It lives here, below surveys, because automation (on surveys' floor) may not
#: import surveys: webhooks queue `survey.answered`.
survey_answered = Signal()
