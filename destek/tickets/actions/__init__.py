"""Every state change of a ticket. Each action runs in one transaction: it writes the ticket,
the message, the audit event and the outbox rows together; jobs run after commit.

Views, the API, e-mail, chat and Telegram all call these; none of them writes a ticket itself.
One module per concern; every public name is here, so callers import from this package:

- `intake`: filing a ticket; `uploads`: storing a file;
- `messages`: replies, notes, nudges, held mail, the customer's notices;
- `status`: status changes, closing, reopening, the timer, the clocks computed again;
- `assignment`: priority, department, assignee;
- `update`: several of those fields at once (`update_ticket`);
- `merging`: a duplicate merged into another ticket;
- `time`: time agents spent on a ticket;
- `tagging`: tags, and the history's mark of a macro;
- `people`: addresses copied on a ticket (CC) and agents who follow it;
- `customers`: a customer's tickets carried to another account (a messenger contact linked).

`_common` holds what they share (the actor, the event, the lock); the modules import it
and `status`, never each other otherwise, so there is no import loop.
"""

from destek.tickets.actions._common import (
    BODY_MAX,
    TIMER,
    Actor,
    check_notify_address,
    disabled_rules,
    rule_enabled,
)
from destek.tickets.actions.assignment import (
    REASON_MAX,
    assign,
    change_department,
    change_priority,
)
from destek.tickets.actions.customers import move_tickets
from destek.tickets.actions.intake import (
    CRITICAL_LIMIT_DEFAULT,
    CRITICAL_WINDOW,
    DUPLICATE_THRESHOLD,
    SUBJECT_MAX,
    check_intake,
    create_ticket,
    critical_limit,
    find_duplicate,
)
from destek.tickets.actions.merging import check_merge, merge
from destek.tickets.actions.messages import (
    AGENT_REPLY_STATUSES,
    NUDGE_QUIET,
    add_message,
    add_system_note,
    confirm_held_message,
    hold_message,
    mark_seen,
    set_customer_notifications,
    set_sms_notifications,
)
from destek.tickets.actions.people import (
    account_of,
    add_cc,
    clean_cc_address,
    copied_on,
    follow,
    register_own_addresses,
    remove_cc,
    unfollow,
)
from destek.tickets.actions.status import (
    auto_close,
    change_status,
    close_by_customer,
    recompute_clocks,
    recompute_customer_clocks,
    reopen_by_customer,
    reopen_deadline,
    reopen_open,
)
from destek.tickets.actions.tagging import TAG_MAX, change_tags, record_macro, tag_names
from destek.tickets.actions.time import MINUTES_MAX, log_time
from destek.tickets.actions.update import UNCHANGED, Unchanged, update_ticket
from destek.tickets.actions.uploads import check_upload_size, store_upload, upload_digest

__all__ = [
    "AGENT_REPLY_STATUSES",
    "BODY_MAX",
    "CRITICAL_LIMIT_DEFAULT",
    "CRITICAL_WINDOW",
    "DUPLICATE_THRESHOLD",
    "MINUTES_MAX",
    "NUDGE_QUIET",
    "REASON_MAX",
    "SUBJECT_MAX",
    "TAG_MAX",
    "TIMER",
    "UNCHANGED",
    "Actor",
    "Unchanged",
    "account_of",
    "add_cc",
    "add_message",
    "add_system_note",
    "assign",
    "auto_close",
    "change_department",
    "change_priority",
    "change_status",
    "change_tags",
    "check_intake",
    "check_merge",
    "check_notify_address",
    "check_upload_size",
    "clean_cc_address",
    "close_by_customer",
    "confirm_held_message",
    "copied_on",
    "create_ticket",
    "critical_limit",
    "disabled_rules",
    "find_duplicate",
    "follow",
    "hold_message",
    "log_time",
    "mark_seen",
    "merge",
    "move_tickets",
    "recompute_clocks",
    "recompute_customer_clocks",
    "record_macro",
    "register_own_addresses",
    "remove_cc",
    "reopen_by_customer",
    "reopen_deadline",
    "reopen_open",
    "rule_enabled",
    "set_customer_notifications",
    "set_sms_notifications",
    "store_upload",
    "tag_names",
    "unfollow",
    "update_ticket",
    "upload_digest",
]
