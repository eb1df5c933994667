"""Every state change of a ticket (split by concern in the next commit)."""

from destek.tickets.actions.messages import *  # noqa: F403
