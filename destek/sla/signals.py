"""What sla tells the floors above it, which it may not import."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent after an admin changed business hours or service-level targets (a calendar, its
#: dates, a policy) or removed one: `tickets` recomputes the clocks of every open ticket, in
#: the worker, once the change is committed.
service_levels_changed = Signal()
