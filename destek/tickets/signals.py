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
