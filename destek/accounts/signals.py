"""What accounts tells the floors above it, which it may not import."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent with `customer` after a customer's tier or organisation changed. Service-level
#: policies match on both, so `tickets` recomputes the clocks of their open tickets.
customer_terms_changed = Signal()

#: Sent with `customer` after what their tickets are found by changed: their name or their
#: organisation (ticket search reads both), so `tickets` indexes their tickets again.
customer_named = Signal()

#: Sent with `organisation` after its name changed: its members' tickets are found by it.
organisation_renamed = Signal()
