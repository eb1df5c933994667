"""Macros as agents use them: one click, every change in one transaction, or none."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import signed_in_client as desk_for
from destek.accounts.models import User
from destek.automation.models import Macro, MacroText
from destek.tickets import actions
from destek.tickets.models import Department, Membership, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def filed(users: dict[str, User], language: str = "en", department: str = "technical") -> Ticket:
    return actions.create_ticket(
        customer=users["customer"],
        subject=f"Export fails ({department})",
        body=f"Export fails ({department}): the button does nothing.",
        channel="web",
        department=Department.objects.get(slug=department),
        language=language,
    )


def macro(texts: dict[str, str] | None = None, **fields: Any) -> Macro:
    made = Macro.objects.create(**{"name": "Test macro", **fields})
    for language, body in (texts or {}).items():
        MacroText.objects.create(macro=made, language=language, body=body)
    return made


def state(ticket: Ticket) -> tuple[Any, ...]:
    """Everything a macro could change on a ticket."""
    ticket = Ticket.objects.get(pk=ticket.pk)
    return (
        ticket.status,
        ticket.priority,
        ticket.department_id,
        ticket.assignee_id,
        sorted(ticket.tags.values_list("name", flat=True)),
        ticket.messages.count(),
        TicketEvent.objects.filter(ticket=ticket).count(),
    )


def test_applying_a_macro_replies_in_the_tickets_language_and_sets_every_field_at_once(
    users: dict[str, User],
) -> None:
    agent = users["agent"]
    ticket = filed(users, "ru")
    actions.change_tags(ticket, actor=actions.Actor.of(agent), add="waiting-for-logs")
    solved = macro(
        {
            "en": "Hello {customer_name}, ticket {ticket_number} is solved.",
            "ru": "Здравствуйте, {customer_name}! Заявка {ticket_number} решена. {agent_name}",
        },
        name="Solved",
        status="resolved",
        priority="high",
        assignee_choice="me",
        add_tags="Solved, first line",
        remove_tags="waiting-for-logs",
        note="Solved by {agent_name} in {department}.",
    )
    response = desk_for(agent).post(f"/desk/tickets/{ticket.number}/macros/{solved.pk}/apply/")
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == ("resolved", "high", agent)
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["first-line", "solved"]
    reply, note = ticket.messages.order_by("-id")[1], ticket.messages.order_by("-id")[0]
    assert reply.body == (
        f"Здравствуйте, Kamran Müştəri! Заявка #{ticket.number} решена. Tural Texniki"
    )
    assert not reply.internal
    # {department} is named in the ticket's language, as in the reply.
    assert note.internal and note.body == "Solved by Tural Texniki in Техническая поддержка."
    # The history says which macro made the changes after it.
    kinds = list(
        TicketEvent.objects.filter(ticket=ticket).order_by("id").values_list("kind", "to_value")
    )
    applied = kinds.index(("macro", "Solved"))
    assert {kind for kind, _ in kinds[applied + 1 :]} >= {
        "reply",
        "status",
        "note",
        "tags",
        "priority",
        "assignee",
    }
    page = desk_for(agent).get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Macro applied" in page and "Solved" in page


def test_a_ticket_in_a_language_without_a_text_gets_the_companys_language(
    users: dict[str, User],
) -> None:
    ticket = filed(users, "tr")
    both = macro({"en": "In English.", "ru": "По-русски."})
    desk_for(users["agent"]).post(f"/desk/tickets/{ticket.number}/macros/{both.pk}/apply/")
    assert ticket.messages.order_by("-id")[0].body == "In English."


def test_a_macro_that_closes_without_a_reason_is_refused_whole(users: dict[str, User]) -> None:
    ticket = filed(users)
    before = state(ticket)
    broken = macro(
        {"": "We are done here."},
        name="Close it",
        status="closed",
        priority="low",
        add_tags="done",
        note="Closing.",
    )
    response = desk_for(users["agent"]).post(
        f"/desk/tickets/{ticket.number}/macros/{broken.pk}/apply/"
    )
    assert response.status_code == 200
    assert "The macro “Close it” was not applied: Closing needs a reason." in (
        response.content.decode()
    )
    assert state(ticket) == before  # no reply, no note, no tag, no priority, no history


def test_a_macro_assigning_an_agent_outside_the_department_is_refused_in_the_agents_language(
    users: dict[str, User],
) -> None:
    ticket = filed(users)
    before = state(ticket)
    wrong = macro(
        {"": "Passing this on."},
        name="To Farid",
        priority="high",
        assignee_choice="agent",
        assignee=users["finance"],
    )
    response = desk_for(users["agent"], "ru").post(
        f"/desk/tickets/{ticket.number}/macros/{wrong.pk}/apply/"
    )
    page = response.content.decode()
    assert "Макрос «To Farid» не применён" in page
    assert "Исполнитель должен быть оператором отдела, к которому относится заявка." in page
    assert state(ticket) == before


def test_a_status_the_ticket_cannot_take_refuses_the_macro_whole(users: dict[str, User]) -> None:
    ticket = filed(users)
    actions.change_status(
        ticket, actor=actions.Actor.of(users["agent"]), status="closed", close_reason="resolved"
    )
    before = state(ticket)
    again = macro(name="Close again", status="closed", close_reason="resolved", add_tags="x")
    response = desk_for(users["agent"]).post(
        f"/desk/tickets/{ticket.number}/macros/{again.pk}/apply/"
    )
    assert "The ticket is already closed." in response.content.decode()
    assert state(ticket) == before


def test_escalating_moves_the_ticket_unassigned_and_the_agent_back_to_the_queue(
    users: dict[str, User],
) -> None:
    agent = users["agent"]
    ticket = filed(users)
    actions.assign(ticket, actor=actions.Actor.of(agent), assignee=agent)
    escalate = Macro.objects.get(name="Escalate to Finance")
    response = desk_for(agent).post(f"/desk/tickets/{ticket.number}/macros/{escalate.pk}/apply/")
    assert response.status_code == 302 and response["Location"] == "/desk/"
    ticket.refresh_from_db()
    assert ticket.department.slug == "finance" and ticket.assignee is None
    assert ticket.priority == "high"
    assert "escalated" in ticket.tags.values_list("name", flat=True)
    assert ticket.messages.filter(internal=True, body__startswith="Escalated from Technical")


def test_personal_macros_are_invisible_to_other_agents(users: dict[str, User]) -> None:
    colleague = User.objects.create(
        email="colleague@example.com", full_name="Nigar", role="agent", language="en"
    )
    Membership.objects.create(department=Department.objects.get(slug="technical"), user=colleague)
    ticket = filed(users)
    mine = macro({"": "My own way of saying thanks."}, name="My thanks", owner=users["agent"])
    own_page = desk_for(users["agent"]).get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "My thanks" in own_page
    theirs = desk_for(colleague)
    assert "My thanks" not in theirs.get(f"/desk/tickets/{ticket.number}/").content.decode()
    response = theirs.post(f"/desk/tickets/{ticket.number}/macros/{mine.pk}/apply/")
    assert "This macro is not available for this ticket." in response.content.decode()
    assert not ticket.messages.filter(body__startswith="My own way").exists()


def test_department_macros_are_offered_only_on_that_departments_tickets(
    users: dict[str, User],
) -> None:
    refund = Macro.objects.get(name="Refund approved → resolved")  # Finance's
    technical, finance = filed(users), filed(users, department="finance")
    admin = desk_for(users["admin"])
    assert "Refund approved" not in admin.get(f"/desk/tickets/{technical.number}/").content.decode()
    assert "Refund approved" in admin.get(f"/desk/tickets/{finance.number}/").content.decode()
    admin.post(f"/desk/tickets/{technical.number}/macros/{refund.pk}/apply/")
    assert technical.messages.count() == 1
    admin.post(f"/desk/tickets/{finance.number}/macros/{refund.pk}/apply/")
    finance.refresh_from_db()
    assert finance.status == "resolved"
    assert "refund-approved" in finance.tags.values_list("name", flat=True)


def test_the_preview_shows_the_reply_and_the_changes_before_anything_is_done(
    users: dict[str, User],
) -> None:
    ticket = filed(users, "az")
    escalate = Macro.objects.get(name="Escalate to Finance")
    desk = desk_for(users["agent"])
    before = state(ticket)
    without_script = desk.get(f"/desk/tickets/{ticket.number}/macros/", {"macro": escalate.pk})
    with_htmx = desk.get(
        f"/desk/tickets/{ticket.number}/macros/", {"macro": escalate.pk}, HTTP_HX_REQUEST="true"
    )
    for page in (without_script.content.decode(), with_htmx.content.decode()):
        assert "Salam, Kamran Müştəri!" in page  # the ticket's language, names filled
        assert "Department: <bdi>Finance</bdi>" in page
        assert "Assignee: <bdi>Nobody</bdi>" in page
        assert "Priority: <bdi>High</bdi>" in page
        assert 'id="macro-apply"' in page and 'id="macro-insert"' in page
    assert "<html" in without_script.content.decode()
    assert "<html" not in with_htmx.content.decode()
    assert state(ticket) == before


def test_agents_list_and_apply_macros_through_the_api(users: dict[str, User], as_user: Any) -> None:
    api = as_user("agent")
    ticket = filed(users)
    listed = api.get("macros").json()
    names = [m["name"] for m in listed]
    assert "Escalate to Finance" in names and "Refund approved → resolved" not in names
    escalate = next(m for m in listed if m["name"] == "Escalate to Finance")
    assert escalate["set_department"] == "finance" and escalate["assignee"] == "nobody"
    assert set(escalate["replies"]) == {"az", "en", "fa", "ru", "tr"}
    screenshot = next(m for m in listed if m["name"] == "Ask for a screenshot")
    response = api.post(f"tickets/{ticket.number}/macros/{screenshot['id']}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["number"] == ticket.number and body["status"] == "pending"
    assert "screenshot-asked" in body["tags"]


def test_a_refused_macro_answers_422_with_detail_and_code(
    users: dict[str, User], as_user: Any
) -> None:
    ticket = filed(users)
    before = state(ticket)
    broken = macro({"": "Bye."}, name="Close it", status="closed")
    response = as_user("agent").post(f"tickets/{ticket.number}/macros/{broken.pk}")
    assert response.status_code == 422
    assert response.json() == {
        "detail": "The macro “Close it” was not applied: Closing needs a reason.",
        "code": "close_reason_required",
    }
    assert state(ticket) == before
    assert as_user("customer").get("macros").status_code == 403
    other = macro({"": "x"}, owner=users["admin"])
    assert as_user("agent").post(f"tickets/{ticket.number}/macros/{other.pk}").status_code == 404


def test_a_macro_applied_to_selected_tickets_refuses_only_those_it_does_not_fit(
    users: dict[str, User],
) -> None:
    agent = users["agent"]
    turkish = filed(users, "tr")
    english = actions.create_ticket(
        customer=users["customer2"],
        subject="Old question about exports",
        body="Old question about exports: how do I start one?",
        channel="web",
        department=Department.objects.get(slug="technical"),
        language="en",
    )
    solve = macro({"tr": "Çözüldü, {customer_name}."}, name="Solved in Turkish", status="resolved")
    solve.add_tags = "bulk-solved"
    solve.save()
    desk = desk_for(agent)
    queue = desk.get("/desk/").content.decode()
    assert 'id="bulk-macro"' in queue and "Solved in Turkish" in queue
    response = desk.post(
        "/desk/bulk/",
        {"ticket": [turkish.number, english.number], "op": "macro", "macro": solve.pk},
        follow=True,
    )
    page = response.content.decode()
    assert "1 ticket updated." in page
    assert f"#{english.number} This macro is not available for this ticket." in page
    turkish.refresh_from_db()
    english.refresh_from_db()
    assert turkish.status == "resolved"
    assert "bulk-solved" in turkish.tags.values_list("name", flat=True)
    assert english.status == "new" and not english.tags.exists()


def test_an_agent_keeps_a_personal_macro_from_the_desk_and_uses_it(
    users: dict[str, User],
) -> None:
    agent = users["agent"]
    desk = desk_for(agent)
    page = desk.get("/desk/macros/")
    assert page.status_code == 200 and 'id="my-macros-none"' in page.content.decode()
    refused = desk.post("/desk/macros/", {"name": "  ", "body": "x"})
    assert refused.status_code == 422 and "This field is required." in refused.content.decode()
    finance = Department.objects.get(slug="finance")
    not_mine = desk.post("/desk/macros/", {"name": "Theirs", "body": "x", "department": finance.pk})
    assert not_mine.status_code == 422
    assert not Macro.objects.filter(name="Theirs").exists()
    desk.post(
        "/desk/macros/",
        {
            "name": "Logs, please",
            "language": "",
            "body": "Please send the logs, {customer_name}.",
            "status": "pending",
            "add_tags": "logs-asked",
        },
    )
    mine = Macro.objects.get(name="Logs, please")
    assert mine.owner == agent
    ticket = filed(users)
    desk.post(f"/desk/tickets/{ticket.number}/macros/{mine.pk}/apply/")
    assert ticket.messages.order_by("-id")[0].body == "Please send the logs, Kamran Müştəri."
    # Nobody else removes it; its owner does.
    desk_for(users["admin"]).post(f"/desk/macros/{mine.pk}/delete/")
    assert Macro.objects.filter(pk=mine.pk).exists()
    desk.post(f"/desk/macros/{mine.pk}/delete/")
    assert not Macro.objects.filter(pk=mine.pk).exists()


def test_a_persian_text_names_the_ticket_in_persian_digits(users: dict[str, User]) -> None:
    ticket = filed(users, "fa")
    asked = macro({"fa": "درخواست {ticket_number} بررسی شد.", "en": "Ticket {ticket_number}."})
    desk_for(users["agent"]).post(f"/desk/tickets/{ticket.number}/macros/{asked.pk}/apply/")
    reply = ticket.messages.order_by("-id").first()
    assert reply is not None
    persian = str(ticket.number).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert reply.body == f"درخواست #{persian} بررسی شد."
