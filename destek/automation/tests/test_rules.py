"""Rules on events and on time, as an admin sets them up and a customer or agent notices."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from conftest import signed_in_client
from destek.accounts.models import User
from destek.automation.models import Rule, RuleRun, RuleText
from destek.automation.rule_jobs import sweep_rules_now
from destek.automation.rules import dry_run
from destek.notify.models import Delivery
from destek.tickets import actions
from destek.tickets.models import Department, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def filed(
    users: dict[str, User], subject: str = "Export fails", body: str = "The button does nothing."
) -> Ticket:
    return actions.create_ticket(
        customer=users["customer"],
        subject=subject,
        body=body,
        channel="web",
        department=Department.objects.get(slug="technical"),
        language="en",
    )


def rule(
    name: str, kind: str, conditions: list[Any], rule_actions: list[Any], **extra: Any
) -> Rule:
    made = Rule(name=name, kind=kind, conditions=conditions, actions=rule_actions, **extra)
    made.full_clean()
    made.save()
    return made


def tags(ticket: Ticket) -> set[str]:
    return set(ticket.tags.values_list("name", flat=True))


def test_a_rule_on_created_sets_priority_and_tag_of_a_matching_new_ticket(
    users: dict[str, User],
) -> None:
    rule(
        "Outages are urgent",
        "created",
        [{"field": "text", "op": "contains", "value": ["outage"]}],
        [{"type": "set_priority", "value": "high"}, {"type": "add_tags", "value": ["outage"]}],
    )
    hit = filed(users, subject="Outage in Baku", body="Nothing loads.")
    miss = filed(users, subject="Invoice question", body="Where is my invoice?")
    hit.refresh_from_db()
    miss.refresh_from_db()
    assert (hit.priority, tags(hit)) == ("high", {"outage"})
    assert (miss.priority, tags(miss)) == ("normal", set())


def test_the_history_names_the_rule_that_made_each_change(users: dict[str, User]) -> None:
    rule(
        "Tag refunds",
        "created",
        [{"field": "text", "op": "contains", "value": "refund", "in": "body"}],
        [{"type": "add_tags", "value": "refund"}, {"type": "set_priority", "value": "low"}],
    )
    ticket = filed(users, subject="About my order", body="I want a refund please")
    entries = TicketEvent.objects.filter(ticket=ticket, actor_kind="rule")
    assert {(e.kind, e.data.get("rule")) for e in entries} == {
        ("tags", "Tag refunds"),
        ("priority", "Tag refunds"),
    }


@pytest.mark.parametrize(
    ("keyword", "subject"),
    [
        ("پرداخت", "مشکل در پرداخت‌ها"),  # Persian: the keyword inside a word with ZWNJ ending
        ("پرداخت", "مشكل در پرداخت"),  # Arabic kaf in the text is the Persian one
        ("оплата", "ОПЛАТЫ не проходят"),  # Russian: case and ending
        ("ёлка", "Елка не грузится"),  # ё and е are one letter
    ],
)
def test_a_text_condition_matches_persian_and_russian_whatever_the_case_or_script(
    users: dict[str, User], keyword: str, subject: str
) -> None:
    rule(
        "Payments",
        "created",
        [{"field": "text", "op": "contains", "value": keyword, "in": "subject"}],
        [{"type": "add_tags", "value": "payments"}],
    )
    ticket = filed(users, subject=subject, body="...")
    assert tags(ticket) == {"payments"}


def test_rules_act_in_their_order_and_a_later_one_sees_what_an_earlier_one_set(
    users: dict[str, User],
) -> None:
    rule(
        "Second: urgent ones get a tag",
        "created",
        [{"field": "priority", "op": "is", "value": "critical"}],
        [{"type": "add_tags", "value": "escalated"}],
        position=2,
    )
    rule(
        "First: outages are critical",
        "created",
        [{"field": "text", "op": "contains", "value": "outage"}],
        [{"type": "set_priority", "value": "critical"}],
        position=1,
    )
    ticket = filed(users, subject="Outage everywhere")
    ticket.refresh_from_db()
    assert ticket.priority == "critical"
    assert tags(ticket) == {"escalated"}
    order = list(
        TicketEvent.objects.filter(ticket=ticket, actor_kind="rule")
        .order_by("id")
        .values_list("data__rule", flat=True)
    )
    assert order == ["First: outages are critical", "Second: urgent ones get a tag"]


def test_a_ping_pong_pair_of_rules_stops_and_the_change_still_commits(
    users: dict[str, User], caplog: pytest.LogCaptureFixture
) -> None:
    rule(
        "Ping",
        "updated",
        [{"field": "priority", "op": "is", "value": "high"}],
        [{"type": "set_priority", "value": "low"}],
    )
    rule(
        "Pong",
        "updated",
        [{"field": "priority", "op": "is", "value": "low"}],
        [{"type": "set_priority", "value": "high"}],
    )
    ticket = filed(users)
    agent = actions.Actor.of(users["agent"])
    actions.change_priority(ticket, actor=agent, priority="high")
    ticket.refresh_from_db()
    by_rules = TicketEvent.objects.filter(ticket=ticket, actor_kind="rule", kind="priority")
    # Ping lowers it, Pong raises it again, then Ping would loop and is stopped.
    assert [e.data["rule"] for e in by_rules.order_by("id")] == ["Ping", "Pong"]
    assert ticket.priority == "high"
    assert "would loop" in caplog.text


def test_a_tag_ping_pong_pair_stops_logged_and_each_change_names_its_rule(
    users: dict[str, User], caplog: pytest.LogCaptureFixture
) -> None:
    rule(
        "X to Y",
        "updated",
        [{"field": "tags", "op": "has", "value": "x"}],
        [{"type": "remove_tags", "value": "x"}, {"type": "add_tags", "value": "y"}],
        position=1,
    )
    rule(
        "Y to X",
        "updated",
        [{"field": "tags", "op": "has", "value": "y"}],
        [{"type": "remove_tags", "value": "y"}, {"type": "add_tags", "value": "x"}],
        position=2,
    )
    ticket = filed(users)
    actions.change_tags(ticket, actor=actions.Actor.of(users["agent"]), add=["x"])
    by_rules = TicketEvent.objects.filter(ticket=ticket, actor_kind="rule").order_by("id")
    assert [e.data["rule"] for e in by_rules] == ["X to Y", "X to Y", "Y to X", "Y to X"]
    assert tags(ticket) == {"x"}
    assert "'X to Y' stopped" in caplog.text and "would loop" in caplog.text


def test_a_rule_that_matches_again_but_would_change_nothing_is_not_a_loop(
    users: dict[str, User], caplog: pytest.LogCaptureFixture
) -> None:
    rule(
        "High ones are tagged",
        "updated",
        [{"field": "priority", "op": "is", "value": "high"}],
        [{"type": "add_tags", "value": "hot"}, {"type": "note", "value": "Hot ticket."}],
        position=1,
    )
    rule(
        "Hot ones go to finance",
        "updated",
        [{"field": "tags", "op": "has", "value": "hot"}],
        [{"type": "set_department", "value": "finance"}],
        position=2,
    )
    ticket = filed(users)
    actions.change_priority(ticket, actor=actions.Actor.of(users["agent"]), priority="high")
    ticket.refresh_from_db()
    # The first rule still matches in the rounds its own change and the second rule's set
    # off, but its tag is there already: it is done, not looping (and notes only once).
    assert (ticket.department.slug, tags(ticket)) == ("finance", {"hot"})
    notes = ticket.messages.filter(internal=True, body="Hot ticket.")
    assert notes.count() == 1
    assert "would loop" not in caplog.text


def test_a_rule_chain_is_cut_after_three_rounds(users: dict[str, User]) -> None:
    for step in range(6):  # each rule reacts to the previous one's tag: a chain of six
        rule(
            f"Step {step}",
            "updated",
            [{"field": "tags", "op": "has", "value": f"step-{step}"}],
            [{"type": "add_tags", "value": f"step-{step + 1}"}],
            position=10 - step,  # in reverse order, so each needs a round of its own
        )
    ticket = filed(users)
    actions.change_tags(ticket, actor=actions.Actor.of(users["agent"]), add=["step-0"])
    # The agent's change, then rounds 1-3 of changes made by rules; round 4 is not run.
    assert tags(ticket) == {"step-0", "step-1", "step-2", "step-3", "step-4"}


def test_a_refused_change_undoes_only_that_rule(users: dict[str, User]) -> None:
    rule(
        "Assign to a customer",
        "created",
        [],
        [{"type": "add_tags", "value": "x"}, {"type": "assign", "value": "customer@example.com"}],
        position=1,
    )
    rule("Tag all", "created", [], [{"type": "add_tags", "value": "seen"}], position=2)
    ticket = filed(users)
    assert tags(ticket) == {"seen"}


def pending_rules() -> tuple[Rule, Rule]:
    remind = rule(
        "Remind after 3 days",
        "schedule",
        [
            {"field": "status", "op": "is", "value": "pending"},
            {"field": "days_in_status", "op": "gte", "value": 3},
        ],
        [{"type": "mail_customer"}],
    )
    for language, subject, body in [
        ("en", "Still there? {ticket_number}", "Hello {customer_name}, we await your answer."),
        (
            "az",
            "Hələ buradasınız? {ticket_number}",
            "Salam {customer_name}, cavabınızı gözləyirik.",
        ),
        ("ru", "Вы здесь? {ticket_number}", "Здравствуйте, {customer_name}, ждём ответа."),
    ]:
        RuleText.objects.create(rule=remind, language=language, subject=subject, body=body)
    close = rule(
        "Close after 7 days",
        "schedule",
        [
            {"field": "status", "op": "is", "value": "pending"},
            {"field": "days_in_status", "op": "gte", "value": 7},
        ],
        [{"type": "set_status", "value": "closed", "close_reason": "no_reply"}],
    )
    return remind, close


def reminders(ticket: Ticket) -> list[Delivery]:
    return list(Delivery.objects.filter(ticket_id=ticket.pk, template="automation_rule"))


def test_a_pending_customer_is_reminded_once_after_three_days_then_closed_after_seven(
    users: dict[str, User],
) -> None:
    pending_rules()
    ticket = filed(users)  # customer@ reads Azerbaijani, the ticket is in English
    actions.add_message(ticket, author=users["agent"], body="Which browser do you use?")
    ticket.refresh_from_db()
    assert ticket.status == "pending"
    start = timezone.now()
    with time_machine.travel(start + timedelta(days=2), tick=False):
        assert sweep_rules_now() == 0
    with time_machine.travel(start + timedelta(days=3, minutes=1), tick=False):
        assert sweep_rules_now() == 1
        assert sweep_rules_now() == 0  # run twice: nothing more
    sent = reminders(ticket)
    assert len(sent) == 1
    assert sent[0].subject.endswith(f"Still there? #{ticket.number}")
    assert "we await your answer" in sent[0].body_text
    with time_machine.travel(start + timedelta(days=5), tick=False):
        assert sweep_rules_now() == 0
    with time_machine.travel(start + timedelta(days=7, minutes=1), tick=False):
        assert sweep_rules_now() == 1
        assert sweep_rules_now() == 0
    ticket.refresh_from_db()
    assert (ticket.status, ticket.close_reason) == ("closed", "no_reply")
    closing = TicketEvent.objects.get(ticket=ticket, kind="status", to_value="closed")
    assert (closing.actor_kind, closing.data["rule"]) == ("rule", "Close after 7 days")
    assert len(reminders(ticket)) == 1
    assert RuleRun.objects.filter(ticket=ticket).count() == 2


def test_a_ticket_pending_again_is_a_new_state_and_is_reminded_again(
    users: dict[str, User],
) -> None:
    pending_rules()
    ticket = filed(users)
    actions.add_message(ticket, author=users["agent"], body="Which browser?")
    start = timezone.now()
    with time_machine.travel(start + timedelta(days=3, minutes=1), tick=False):
        assert sweep_rules_now() == 1
        actions.add_message(ticket, author=users["customer"], body="Firefox 120 on Linux")
        actions.add_message(ticket, author=users["agent"], body="And the version of the app?")
    with time_machine.travel(start + timedelta(days=6, minutes=2), tick=False):
        assert sweep_rules_now() == 1
    assert len(reminders(ticket)) == 2


def test_the_dry_run_lists_what_a_rule_would_change_and_writes_nothing(
    users: dict[str, User], django_assert_max_num_queries: Any
) -> None:
    outage = filed(users, subject="Outage in Baku")
    filed(users, subject="Invoice question")
    made = rule(
        "Outages",
        "created",
        [{"field": "text", "op": "contains", "value": "outage"}],
        [{"type": "set_priority", "value": "high"}, {"type": "add_tags", "value": "outage"}],
    )
    before = (TicketEvent.objects.count(), Ticket.objects.filter(priority="high").count())
    admin = signed_in_client(users["admin"])
    with django_assert_max_num_queries(25):
        page = admin.get(f"/admin/automation/rule/{made.pk}/dry-run/")
    assert page.status_code == 200
    text = page.content.decode()
    assert f"#{outage.number}" in text and "Invoice question" not in text
    assert "Priority: Normal → High" in text and "Add tags: outage" in text
    rows = dry_run(made)
    assert [row.ticket.pk for row in rows] == [outage.pk]
    assert (TicketEvent.objects.count(), Ticket.objects.filter(priority="high").count()) == before


def test_the_admin_refuses_a_rule_it_cannot_read_in_the_admins_language(
    users: dict[str, User],
) -> None:
    bad = Rule(
        name="Broken",
        kind="created",
        conditions=[{"field": "mood", "op": "is", "value": "angry"}],
        actions=[{"type": "set_status", "value": "closed"}],
    )
    with pytest.raises(ValidationError) as refused:
        bad.full_clean()
    assert "mood" in str(refused.value.message_dict["conditions"])
    assert "Closing needs a reason" in str(refused.value.message_dict["actions"])
    admin = signed_in_client(users["admin"], language="ru")
    page = admin.post(
        "/admin/automation/rule/add/",
        {
            "name": "Broken",
            "kind": "created",
            "match": "all",
            "conditions-TOTAL": 1,  # the editor's rows (test_rule_editor.py)
            "conditions-0-field": "mood",
            "conditions-0-op": "is",
            "conditions-0-words": "x",
            "actions-TOTAL": 1,
            "actions-0-type": "set_priority",
            "actions-0-priority": "high",
            "position": 0,
            "enabled": "on",
            "texts-TOTAL_FORMS": 0,
            "texts-INITIAL_FORMS": 0,
        },
    )
    assert page.status_code == 200
    assert "Неизвестное поле условия" in page.content.decode()
    assert not Rule.objects.filter(name="Broken").exists()


def test_a_customer_reply_rule_tags_a_ticket_the_customer_answers(users: dict[str, User]) -> None:
    rule(
        "Customer answered",
        "customer_replied",
        [{"field": "tier", "op": "is_not", "value": "vip"}],
        [{"type": "add_tags", "value": "answered"}, {"type": "note", "value": "Check it"}],
    )
    ticket = filed(users)
    assert tags(ticket) == set()  # the first message is the creation, not a reply
    actions.add_message(ticket, author=users["agent"], body="Which browser?")
    actions.add_message(ticket, author=users["customer"], body="Firefox")
    assert tags(ticket) == {"answered"}
    assert ticket.messages.filter(internal=True, body="Check it").count() == 1


def test_the_desk_history_shows_the_name_of_the_rule_that_changed_the_ticket(
    users: dict[str, User],
) -> None:
    rule(
        "Срочно: сбой",
        "created",
        [{"field": "text", "op": "contains", "value": "сбой"}],
        [{"type": "set_priority", "value": "high"}],
    )
    ticket = filed(users, subject="Сбой оплаты", body="Не проходит оплата")
    page = signed_in_client(users["admin"]).get(reverse("desk:ticket", args=[ticket.number]))
    assert page.status_code == 200
    assert '<bdi class="event-rule">Срочно: сбой</bdi>' in page.content.decode()


def test_a_refused_change_does_not_leave_updated_rules_to_fire_on_a_later_request(
    users: dict[str, User],
) -> None:
    from django.test import Client

    from destek.automation import rules as rules_module

    ticket = filed(users)
    rule(
        "Tag every update",
        "updated",
        [{"field": "status", "op": "is", "value": "new"}],
        [{"type": "add_tags", "value": ["touched"]}],
    )
    # An action wrote its history entry and was then refused (rolled back): no save came.
    rules_module._pending.set(frozenset({ticket.pk}))
    Client().get("/healthz")  # the next request (in this thread) starts clean
    Ticket.objects.get(pk=ticket.pk).save()  # an unrelated save
    assert "touched" not in tags(ticket)


def test_a_ticket_nobody_has_answered_counts_its_wait_from_when_it_was_filed(
    users: dict[str, User],
) -> None:
    rule(
        "Unanswered for 4 hours",
        "schedule",
        [{"field": "hours_since_agent_reply", "op": "gte", "value": 4}],
        [{"type": "add_tags", "value": ["unanswered"]}],
    )
    ticket = filed(users)
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=False):
        sweep_rules_now()
    assert "unanswered" in tags(ticket)


def test_a_rule_that_would_close_in_a_way_only_people_may_is_refused_when_saved(
    users: dict[str, User],
) -> None:
    for reason in ("customer", "duplicate", "contract"):
        with pytest.raises(ValidationError):
            rule(
                "Close it",
                "schedule",
                [{"field": "status", "op": "is", "value": "pending"}],
                [{"type": "set_status", "value": "closed", "close_reason": reason}],
            )


def test_a_rule_that_stops_still_keeps_later_rules_away_in_the_rounds_its_own_change_sets_off(
    users: dict[str, User],
) -> None:
    rule("Flag", "created", [], [{"type": "add_tags", "value": "flag"}])
    rule(
        "Flagged ones are checked, and nothing else",
        "updated",
        [{"field": "tags", "op": "has", "value": "flag"}],
        [{"type": "add_tags", "value": "checked"}],
        position=1,
        stop=True,
    )
    rule("Everything else", "updated", [], [{"type": "add_tags", "value": "other"}], position=2)
    ticket = filed(users)
    # The stopping rule's own tag is a change the "updated" rules see again: it still
    # matches there, so the rule after it is still not run.
    assert tags(ticket) == {"flag", "checked"}


@pytest.mark.django_db(transaction=True)
def test_event_rules_that_do_not_match_read_the_ticket_and_its_tags_once_however_many_there_are(
    users: dict[str, User],
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from destek.automation.rules import run_event_rules

    for position in range(6):
        rule(
            f"VIPs {position}",
            "created",
            [{"field": "tags", "op": "has", "value": "vip-customer"}],
            [{"type": "add_tags", "value": "vip"}],
            position=position,
        )
    ticket = filed(users)
    run_event_rules(ticket.pk, "created")  # the rules are read once per process
    with CaptureQueriesContext(connection) as captured:
        run_event_rules(ticket.pk, "created")
    sql = [q["sql"][:80] for q in captured.captured_queries]
    assert len(sql) == 2, sql  # the ticket, its tags


def test_a_stored_event_rule_that_no_longer_reads_is_skipped_not_a_refusal_of_every_change(
    users: dict[str, User], caplog: pytest.LogCaptureFixture
) -> None:
    Rule.objects.create(
        name="Broken",
        kind="created",
        conditions=[{"field": "gone", "op": "is", "value": "x"}],
        actions=[{"type": "add_tags", "value": "broken"}],
    )
    rule("Tag all", "created", [], [{"type": "add_tags", "value": "seen"}], position=1)
    ticket = filed(users)
    assert tags(ticket) == {"seen"}
    assert "Broken" in caplog.text


def test_a_stored_schedule_rule_that_no_longer_reads_leaves_the_other_schedule_rules_running(
    users: dict[str, User], caplog: pytest.LogCaptureFixture
) -> None:
    Rule.objects.create(
        name="Broken",
        kind="schedule",
        position=0,
        conditions=[{"field": "gone", "op": "is", "value": "x"}],
        actions=[{"type": "add_tags", "value": "broken"}],
    )
    rule(
        "Open ones are seen",
        "schedule",
        [{"field": "status", "op": "is", "value": "new"}],
        [{"type": "add_tags", "value": "seen"}],
        position=1,
    )
    ticket = filed(users)
    assert sweep_rules_now() >= 1
    assert tags(ticket) == {"seen"}
    assert "Broken" in caplog.text


def test_a_persian_dry_run_names_departments_in_persian_not_by_their_slug(
    users: dict[str, User],
) -> None:
    filed(users, subject="Outage in Baku")
    made = rule(
        "Outages",
        "created",
        [{"field": "text", "op": "contains", "value": "outage"}],
        [
            {"type": "set_department", "value": "finance"},
            {"type": "mail_department", "value": "finance"},
        ],
    )
    page = signed_in_client(users["admin"], language="fa").get(
        f"/admin/automation/rule/{made.pk}/dry-run/"
    )
    changes = page.content.decode().split('class="dry-run-row"', 1)[1].split("</table>")[0]
    assert changes.count("امور مالی") == 2
    assert "finance" not in changes


def test_a_rules_page_in_the_admin_links_to_its_dry_run_and_names_the_product(
    users: dict[str, User],
) -> None:
    made = rule(
        "Tag outages",
        "created",
        [{"field": "text", "op": "contains", "value": ["outage"]}],
        [{"type": "add_tags", "value": "outage"}],
    )
    admin = signed_in_client(users["admin"], language="fa")
    page = admin.get(reverse("admin:automation_rule_change", args=[made.pk])).content.decode()
    assert f'href="{reverse("admin:automation_rule_dry_run", args=[made.pk])}"' in page
    assert "مدیریت Destek" in page
    assert "Django" not in page.split("<body")[1].split("</header>")[0]
