"""Applying a macro: its changes made through the ticket actions, all in one transaction."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from destek.accounts.models import User
from destek.automation.choices import AssigneeChoice
from destek.automation.models import Macro, MacroText
from destek.automation.selectors import render_text, reply_text
from destek.lib.errors import ActionRefused
from destek.tickets import actions
from destek.tickets.access import agent_department_ids
from destek.tickets.actions import UNCHANGED, Actor, Unchanged
from destek.tickets.choices import Channel, TicketStatus
from destek.tickets.models import Attachment, Department, Ticket

NAME_MAX = 100


def apply_macro(
    ticket: Ticket,
    macro: Macro,
    *,
    agent: User,
    body: str | None = None,
    status: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> Ticket:
    """Apply `macro` to `ticket` as `agent`, all or nothing.

    `macro` is one `access_macro` gave the agent for this ticket. `body` and `status` are
    the agent's edit of its reply in the reply box (the reply inserted, changed, then sent);
    without them the macro's own reply and status are used.

    Every step is the ticket action an agent would use by hand, with its rules: a step that
    is refused (closing without a reason, an assignee outside the department, a status the
    ticket cannot move to) undoes the whole macro, and the refusal names the macro.
    """
    try:
        return _apply(ticket, macro, agent, body, status, attachments)
    except ActionRefused as refusal:
        raise ActionRefused(
            refusal.code,
            format_lazy(
                _("The macro “{name}” was not applied: {reason}"),
                name=macro.name,
                reason=refusal.detail,
            ),
            status=refusal.status,
            **refusal.extra,
        ) from refusal


@transaction.atomic
def _apply(
    ticket: Ticket,
    macro: Macro,
    agent: User,
    body: str | None,
    status: str | None,
    attachments: Sequence[Attachment],
) -> Ticket:
    actor = Actor.of(agent)
    # First in the history, so the entries after it read as this macro's.
    actions.record_macro(ticket, actor=actor, name=macro.name, macro_id=macro.pk)
    if body is None:
        written = reply_text(macro, ticket)
        body = render_text(written, ticket=ticket, agent=agent) if written else None
    wanted = status or macro.status
    status_left: str | Unchanged = wanted or UNCHANGED
    if body:
        # A reply sets the status itself when it is one a reply may leave; closing comes after.
        message = actions.add_message(
            ticket,
            author=agent,
            body=body,
            status_after=wanted if wanted in actions.AGENT_REPLY_STATUSES else None,
            channel=Channel.WEB,
            attachments=attachments,
        )
        ticket = message.ticket
        status_left = TicketStatus.CLOSED if wanted == TicketStatus.CLOSED else UNCHANGED
    elif attachments:
        raise ActionRefused("body_required", _("Files go with a reply: write one."))
    if macro.note:
        actions.add_message(
            ticket,
            author=agent,
            body=render_text(macro.note, ticket=ticket, agent=agent),
            internal=True,
            channel=Channel.WEB,
        )
    if macro.add_tags or macro.remove_tags:
        ticket = actions.change_tags(
            ticket, actor=actor, add=macro.add_tags, remove=macro.remove_tags
        )
    assignee = _assignee(macro, agent)
    # "Me" or a named agent after a transfer: they must be of the department it moves to,
    # so the transfer comes first. "Nobody" goes before it, while the agent still works it.
    assign_after = macro.set_department is not None and assignee not in (UNCHANGED, None)
    ticket = actions.update_ticket(
        ticket,
        actor,
        status=status_left,
        close_reason=macro.close_reason if status_left == TicketStatus.CLOSED else "",
        priority=macro.priority or UNCHANGED,
        department=macro.set_department or UNCHANGED,
        assignee=UNCHANGED if assign_after else assignee,
    )
    if assign_after and not isinstance(assignee, Unchanged):
        ticket = actions.assign(ticket, actor=actor, assignee=assignee)
    return ticket


def _assignee(macro: Macro, agent: User) -> User | Unchanged | None:
    if macro.assignee_choice == AssigneeChoice.ME:
        return agent
    if macro.assignee_choice == AssigneeChoice.NOBODY:
        return None
    if macro.assignee_choice == AssigneeChoice.AGENT:
        if macro.assignee is None:
            raise ActionRefused(
                "invalid_assignee", _("The agent this macro assigns to no longer exists.")
            )
        return macro.assignee
    return UNCHANGED


@transaction.atomic
def create_personal_macro(
    agent: User,
    *,
    name: str,
    body: str,
    language: str = "",
    department: Department | None = None,
    status: str = "",
    priority: str = "",
    add_tags: str = "",
    note: str = "",
) -> Macro:
    """A macro only `agent` sees, made from the desk: a reply (in one language, or for any),
    and optionally a status, priority, tags and a note. Shared macros and the fields that
    move tickets between people (department, assignee) stay with admins."""
    if not agent.is_agent:
        raise ActionRefused("forbidden", _("Only agents keep macros."), status=403)
    name = " ".join(name.split())
    if not name or len(name) > NAME_MAX:
        raise ActionRefused(
            "name_required",
            _("Give the macro a name of at most {maximum} characters.").format(maximum=NAME_MAX),
            field="name",
        )
    if not body.strip() and not (status or priority or add_tags.strip() or note.strip()):
        raise ActionRefused(
            "macro_empty", _("A macro needs a reply or something to change."), field="body"
        )
    if department is not None and not (
        agent.is_admin or department.pk in agent_department_ids(agent)
    ):
        raise ActionRefused(
            "invalid_department",
            _("Limit it to one of your own departments."),
            field="department",
        )
    if status == TicketStatus.CLOSED:
        raise ActionRefused("close_reason_required", _("Closing needs a reason."), field="status")
    macro = Macro(
        name=name,
        owner=agent,
        department=department,
        status=status,
        priority=priority,
        add_tags=add_tags.strip(),
        note=note.strip(),
    )
    macro.save()
    if body.strip():
        MacroText.objects.create(macro=macro, language=language, body=body.strip())
    return macro


@transaction.atomic
def delete_personal_macro(agent: User, macro_id: int) -> None:
    """Only the owner removes a personal macro; anyone else's is not found."""
    deleted, _rows = Macro.objects.filter(pk=macro_id, owner=agent).delete()
    if not deleted:
        raise ActionRefused("macro_not_found", _("This macro was not found."), status=404)
