"""A merge never hides the customer's words: the merged ticket points to the one that
continues, keeps showing what was written on it, cannot be reopened, and its customer is
told by mail, in their language, with a link."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.mail import EmailMessage, EmailMultiAlternatives

from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def merged_pair(customer: Any, agent: Any) -> tuple[int, int]:
    """The customer's two tickets about one problem; the second merged into the first."""
    first = customer.file_ticket()["number"]
    second = customer.file_ticket(
        subject="Export to CSV fails", body="The export button does nothing."
    )["number"]
    response = agent.post(f"tickets/{second}/merge", {"into": first})
    assert response.status_code == 200, response.content
    return first, second


def test_the_merged_ticket_in_the_api_points_to_the_ticket_it_was_merged_into(
    customer: Any, agent: Any
) -> None:
    first, second = merged_pair(customer, agent)
    source = customer.get(f"tickets/{second}").json()
    assert source["merged_into"] == first
    assert source["status_label"] == f"Merged into #{first}"
    assert source["reopen_until"] is None
    assert customer.get(f"tickets/{first}").json()["merged_into"] is None


def test_the_merged_tickets_thread_still_lists_what_the_customer_wrote(
    customer: Any, agent: Any
) -> None:
    first, second = merged_pair(customer, agent)
    moved = customer.get(f"tickets/{second}/messages").json()
    assert [m["body"] for m in moved] == ["The export button does nothing."]
    assert moved[0]["ticket"] == first, "it says where the message is now"
    assert moved[0]["merged_from"] == second


def test_moved_messages_say_which_ticket_they_came_from_in_the_target(
    customer: Any, agent: Any
) -> None:
    first, second = merged_pair(customer, agent)
    thread = customer.get(f"tickets/{first}/messages").json()
    origin = {m["body"]: m["merged_from"] for m in thread}
    assert origin["The export button does nothing."] == second
    assert origin["Since this morning the invoice page fails with error 500."] is None


def test_a_message_merged_twice_keeps_the_ticket_it_was_written_on(
    customer: Any, agent: Any
) -> None:
    first, second = merged_pair(customer, agent)
    third = customer.file_ticket(subject="Reports are slow", body="Reports take a minute.")[
        "number"
    ]
    assert agent.post(f"tickets/{first}/merge", {"into": third}).status_code == 200
    thread = {m["body"]: m for m in customer.get(f"tickets/{third}/messages").json()}
    assert thread["The export button does nothing."]["merged_from"] == second
    assert [m["body"] for m in customer.get(f"tickets/{second}/messages").json()] == [
        "The export button does nothing."
    ]


def test_reopening_a_merged_ticket_is_refused_in_the_callers_language(
    customer: Any, agent: Any, as_user: Any
) -> None:
    first, second = merged_pair(customer, agent)
    russian = as_user("customer", language="ru")
    response = russian.post(f"tickets/{second}/reopen")
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["merged_into"]) == ("ticket_merged", first)
    assert f"#{first}" in body["detail"]
    assert "merged" not in body["detail"], "the refusal is in Russian"
    assert customer.get(f"tickets/{second}").json()["status"] == "closed"


def test_the_customer_of_a_merged_ticket_is_mailed_a_link_in_their_language(
    as_user: Any, agent: Any, outbox: list[EmailMessage], settings: Any
) -> None:
    settings.BASE_URL = "https://support.example.com"
    turkish = as_user("customer", language="tr")
    first = turkish.file_ticket(
        subject="Rapor dışa aktarılamıyor", body="Dışa aktar düğmesine basınca hiçbir şey olmuyor."
    )["number"]
    second = turkish.file_ticket(
        subject="CSV dışa aktarma çalışmıyor",
        body="Dışa aktar düğmesi hiçbir şey yapmıyor, lütfen yardım edin.",
    )["number"]
    outbox.clear()
    agent.post(f"tickets/{second}/merge", {"into": first})
    mails = [m for m in outbox if m.to == ["customer@example.com"]]
    assert len(mails) == 1
    mail = mails[0]
    assert f"[#{second}]" in mail.subject
    link = f"https://support.example.com/my/tickets/{first}/"
    assert link in mail.body
    assert isinstance(mail, EmailMultiAlternatives)
    html = mail.alternatives[0][0]
    assert isinstance(html, str)
    assert f'href="{link}"' in html
    assert f"ticket #{second}." not in html, "replies land in the target, and the mail says so"
    assert f"#{first}" in mail.body
    assert mail.body.startswith("Merhaba"), mail.body  # written in Turkish


def test_a_customer_who_switched_off_mail_for_the_ticket_is_not_mailed_about_the_merge(
    customer: Any, agent: Any, outbox: list[EmailMessage]
) -> None:
    first = customer.file_ticket()["number"]
    second = customer.file_ticket(subject="Export to CSV fails", body="Nothing happens.")["number"]
    Ticket.objects.filter(number=second).update(notify_customer=False)
    outbox.clear()
    agent.post(f"tickets/{second}/merge", {"into": first})
    assert [m for m in outbox if m.to == ["customer@example.com"]] == []


def test_a_merge_that_fails_halfway_leaves_both_tickets_as_they_were(
    customer: Any, users: dict[str, Any], monkeypatch: Any
) -> None:
    from destek.tickets import actions, notifications
    from destek.tickets.actions import Actor

    first = Ticket.objects.get(number=customer.file_ticket()["number"])
    second = Ticket.objects.get(
        number=customer.file_ticket(subject="Export to CSV fails", body="The button.")["number"]
    )

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the mail step failed")

    monkeypatch.setattr(notifications, "ticket_merged", broken)
    with pytest.raises(RuntimeError):
        actions.merge(second, into=first, actor=Actor.of(users["agent"]))
    second.refresh_from_db()
    assert second.merged_into is None and second.status != "closed"
    assert second.messages.count() == 1, "the messages did not move"
