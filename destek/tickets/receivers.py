"""What tickets does when a floor below it reports a change (connected in `apps.ready`)."""

from __future__ import annotations

from typing import Any

from destek.accounts.models import User
from destek.tickets.actions import recompute_customer_clocks


def customer_terms_changed(sender: Any, customer: User, **kwargs: Any) -> None:
    """A VIP's open tickets move to the VIP clocks, from their start."""
    recompute_customer_clocks(customer)
