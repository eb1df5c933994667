"""Rules that run when a ticket is filed (the intake routing), as a customer filing a ticket
and an admin setting them up notice them."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from conftest import signed_in_client
from destek.accounts.models import User
from destek.automation.models import Rule
from destek.tickets import actions
from destek.tickets.models import Department, Ticket, TicketEvent
from destek.tickets.routing import FiledRule, RuleCondition, route

pytestmark = pytest.mark.django_db

conversion = importlib.import_module("destek.automation.migrations.0009_routing_rules_to_rules")


def filed_rule(name: str, conditions: list[Any], rule_actions: list[Any], **extra: Any) -> Rule:
    made = Rule(name=name, kind="filed", conditions=conditions, actions=rule_actions, **extra)
    made.full_clean()
    made.save()
    return made


def file_ticket(
    users: dict[str, User],
    subject: str = "Export fails",
    body: str = "The button does nothing.",
    **extra: Any,
) -> Ticket:
    return actions.create_ticket(
        customer=users["customer"],
        subject=subject,
        body=body,
        channel="web",
        department=Department.objects.get(slug="technical"),
        language="en",
        **extra,
    )


def tags(ticket: Ticket) -> set[str]:
    return set(ticket.tags.values_list("name", flat=True))


def test_a_filed_rule_decides_department_priority_tags_and_assignee_before_the_ticket_is_written(
    users: dict[str, User],
) -> None:
    filed_rule(
        "Refunds",
        [{"field": "text", "op": "contains", "value": ["refund"], "in": "body"}],
        [
            {"type": "set_department", "value": "finance"},
            {"type": "raise_priority", "value": "high"},
            {"type": "add_tags", "value": ["money"]},
            {"type": "assign", "value": "finance@example.com"},
        ],
        position=5,
    )
    ticket = file_ticket(users, subject="Order 1234 was charged", body="I want a refund please.")
    assert ticket.department.slug == "finance"
    assert (ticket.priority, ticket.policy_priority) == ("high", "high")
    assert tags(ticket) == {"money"}
    assert ticket.assignee == users["finance"]
    miss = file_ticket(users, subject="Export of order 55 fails", body="Nothing more to say.")
    assert miss.department.slug == "technical"


def test_the_history_names_the_filed_rule_for_each_change(users: dict[str, User]) -> None:
    ticket = file_ticket(users, subject="Payment failed", body="Card charged twice.")
    moved = TicketEvent.objects.get(ticket=ticket, kind="department")
    assert moved.actor_kind == "rule"
    assert (moved.from_value, moved.to_value) == ("technical", "finance")
    assert moved.data["rule"] == "Payments go to Finance"


def test_a_rule_on_the_customers_urgency_alone_cannot_raise_above_high(
    users: dict[str, User],
) -> None:
    filed_rule(
        "Urgent is critical",
        [{"field": "urgency", "op": "is", "value": "high"}],
        [{"type": "set_priority", "value": "critical"}],
    )
    assert file_ticket(users, urgency="high").priority == "high"
    filed_rule(
        "Urgent outage is critical",
        [
            {"field": "urgency", "op": "is", "value": "low"},
            {"field": "text", "op": "contains", "value": ["outage"]},
        ],
        [{"type": "set_priority", "value": "critical"}],
    )
    # With a condition besides the urgency, the admin's rule decides.
    assert file_ticket(users, subject="Outage", urgency="low").priority == "critical"


def test_no_filed_rule_lowers_a_declared_critical_incident(users: dict[str, User]) -> None:
    filed_rule(
        "Everything is low",
        [],
        [{"type": "set_priority", "value": "low"}, {"type": "add_tags", "value": ["seen"]}],
    )
    routing = route(
        subject="Server down",
        body="All sites are down.",
        department=Department.objects.get(slug="technical"),
        tier="standard",
        channel="web",
        urgency="critical",
        declared_critical=True,
    )
    assert routing.priority == "critical"
    assert routing.tags == ["seen"]


def test_a_rule_that_stops_keeps_the_later_rules_of_its_kind_from_running(
    users: dict[str, User],
) -> None:
    filed_rule("First", [], [{"type": "add_tags", "value": ["first"]}], position=0, stop=True)
    filed_rule("Second", [], [{"type": "add_tags", "value": ["second"]}], position=1)
    ticket = file_ticket(users, subject="Payment failed")
    assert tags(ticket) == {"first"}
    assert ticket.department.slug == "technical", "the demo's payment rule comes later"


def test_an_event_rule_that_stops_keeps_later_event_rules_from_running(
    users: dict[str, User],
) -> None:
    for position, name in enumerate(("alpha", "beta")):
        made = Rule(
            name=name,
            kind="created",
            conditions=[],
            actions=[{"type": "add_tags", "value": [name]}],
            position=position,
            stop=True,
        )
        made.full_clean()
        made.save()
    ticket = file_ticket(users)
    assert tags(ticket) == {"alpha"}


def test_the_assignee_is_dropped_when_a_later_rule_moves_the_ticket_where_they_do_not_work(
    users: dict[str, User],
) -> None:
    filed_rule("To Tural", [], [{"type": "assign", "value": "agent@example.com"}], position=0)
    ticket = file_ticket(users, subject="Payment failed")
    assert ticket.department.slug == "finance"
    assert ticket.assignee is None


def test_the_admin_refuses_a_filed_rule_on_what_the_ticket_does_not_have_yet(
    users: dict[str, User],
) -> None:
    bad = Rule(
        name="Too early",
        kind="filed",
        conditions=[{"field": "hours_in_status", "op": "gte", "value": 4}],
        actions=[{"type": "mail_customer"}],
    )
    with pytest.raises(ValidationError) as refused:
        bad.full_clean()
    assert "Hours in the status" in str(refused.value.message_dict["conditions"])
    assert "Mail the customer" in str(refused.value.message_dict["actions"])
    admin = signed_in_client(users["admin"], language="ru")
    page = admin.post(
        "/admin/automation/rule/add/",
        {
            "name": "Too early",
            "kind": "filed",
            "match": "all",
            "conditions-TOTAL": 1,
            "conditions-0-field": "hours_in_status",
            "conditions-0-op": "gte",
            "conditions-0-number": "4",
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
    assert not Rule.objects.filter(name="Too early").exists()
    html = page.content.decode()
    assert "ещё не существует" in html
    assert "Часов в статусе (рабочих)" in html, "the condition is named in the admin's language"
    assert not Rule.objects.filter(name="Too early").exists()


def old_rule(**fields: Any) -> SimpleNamespace:
    technical = Department.objects.get(slug="technical")
    finance = Department.objects.get(slug="finance")
    defaults: dict[str, Any] = {
        "name": "Payments go to Finance",
        "position": 7,
        "enabled": True,
        "keywords": "invoice\n  bill \n\n",
        "match_subject": False,
        "match_body": True,
        "if_department_id": technical.pk,
        "if_department": technical,
        "if_tier": "vip",
        "if_channel": "",
        "if_urgency": "high",
        "set_department_id": finance.pk,
        "set_department": finance,
        "set_priority": "normal",
        "min_priority": "high",
        "add_tags": "billing, vip,",
        "set_assignee_id": 3,
        "set_assignee": SimpleNamespace(email="finance@example.com"),
        "stop": True,
    }
    return SimpleNamespace(**{**defaults, **fields})


def test_the_migration_turns_a_routing_rule_into_a_filed_rule_that_does_the_same(
    users: dict[str, User],
) -> None:
    taken = set(Rule.objects.values_list("name", flat=True))
    fields = conversion.rule_fields(old_rule(), {name.lower() for name in taken})
    assert fields["name"] == "Payments go to Finance (routing)", "names stay unique"
    assert (fields["kind"], fields["position"], fields["enabled"], fields["stop"]) == (
        "filed",
        7,
        True,
        True,
    )
    assert fields["conditions"] == [
        {"field": "text", "op": "contains", "value": ["invoice", "bill"], "in": "body"},
        {"field": "department", "op": "is", "value": "technical"},
        {"field": "tier", "op": "is", "value": "vip"},
        {"field": "urgency", "op": "is", "value": "high"},
    ]
    assert fields["actions"] == [
        {"type": "set_department", "value": "finance"},
        {"type": "set_priority", "value": "normal"},
        {"type": "raise_priority", "value": "high"},
        {"type": "add_tags", "value": ["billing", "vip"]},
        {"type": "assign", "value": "finance@example.com"},
    ]
    made = Rule(**fields)
    made.full_clean()
    made.save()
    Rule.objects.exclude(pk=made.pk).update(enabled=False)
    routing = route(
        subject="Hello",
        body="Where is my bill?",
        department=Department.objects.get(slug="technical"),
        tier="vip",
        channel="web",
        urgency="high",
    )
    assert (routing.department.slug, routing.priority) == ("finance", "high")
    assert (routing.tags, routing.assignee) == (["billing", "vip"], users["finance"])


def test_a_routing_rule_with_keywords_looked_for_nowhere_becomes_a_disabled_rule(
    users: dict[str, User],
) -> None:
    fields = conversion.rule_fields(
        old_rule(
            name="Never matches",
            match_body=False,
            if_department_id=None,
            set_department_id=None,
            set_priority="",
            min_priority="",
            add_tags="",
            set_assignee_id=None,
            stop=True,
        ),
        set(),
    )
    assert fields["enabled"] is False
    assert fields["name"] == "Never matches"
    assert fields["actions"] == [{"type": "raise_priority", "value": "low"}]
    Rule(**fields).full_clean()  # a rule the admin accepts


def test_the_demos_routing_rules_are_filed_rules(users: dict[str, User]) -> None:
    assert list(Rule.objects.filter(kind="filed").values_list("name", flat=True)) == [
        "Payments go to Finance",
        "Service down is high priority",
        "VIP customers get at least high",
    ]


def test_event_rules_read_the_urgency_and_raise_priority_never_lowers(
    users: dict[str, User],
) -> None:
    made = Rule(
        name="Low asks are normal",
        kind="created",
        conditions=[{"field": "urgency", "op": "is", "value": "low"}],
        actions=[{"type": "raise_priority", "value": "normal"}],
    )
    made.full_clean()
    made.save()
    raised = file_ticket(users, subject="Export fails slowly", urgency="low")
    raised.refresh_from_db()
    assert raised.priority == "normal"
    made.conditions = []
    made.save()
    kept = file_ticket(users, subject="Service is down", body="Nothing loads.", urgency="high")
    kept.refresh_from_db()
    assert kept.priority == "high"


def test_a_routing_rule_tagging_with_symbols_only_still_lets_customers_file_tickets(
    users: dict[str, User],
) -> None:
    # "🔥" is no stored tag name (tags are words): the old rule added it as it was; the
    # converted rule keeps its other tags and does not refuse every ticket filed.
    fields = conversion.rule_fields(
        old_rule(
            name="Hot",
            add_tags="🔥, hot",
            keywords="",
            if_department_id=None,
            if_tier="",
            if_urgency="",
        ),
        set(),
    )
    assert {"type": "add_tags", "value": ["hot"]} in fields["actions"]
    only = conversion.rule_fields(
        old_rule(name="Fire", add_tags="🔥", keywords="", if_department_id=None), set()
    )
    assert not [a for a in only["actions"] if a["type"] == "add_tags"]
    Rule.objects.create(**fields)
    Rule.objects.create(**only)
    ticket = file_ticket(users, subject="Site down", body="Nothing loads.")
    assert "hot" in tags(ticket)


def test_a_stored_filed_rule_that_no_longer_reads_is_skipped_not_a_refusal_of_every_ticket(
    users: dict[str, User], caplog: pytest.LogCaptureFixture
) -> None:
    # Written past the admin's checks (a shell, an older version's rule): one such rule
    # must not stop customers from filing tickets.
    Rule.objects.create(
        name="Broken", kind="filed", conditions=[], actions=[{"type": "add_tags", "value": "!!"}]
    )
    filed_rule("Tag all", [], [{"type": "add_tags", "value": ["seen"]}], position=1)
    ticket = file_ticket(users)
    assert "seen" in tags(ticket)
    assert "Broken" in caplog.text


def test_the_assignee_a_filed_rule_names_is_found_through_the_email_index(
    users: dict[str, User],
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # Stored as the admin typed it; e-mails are kept in lower case, so an exact lookup (the
    # unique index) finds them, not a case-folded scan of every customer on each ticket filed.
    filed_rule("To Finance", [], [{"type": "assign", "value": "Finance@Example.com"}], position=0)
    Rule.objects.filter(name="To Finance").update(
        actions=[{"type": "assign", "value": " Finance@Example.COM "}]
    )
    with CaptureQueriesContext(connection) as captured:
        routing = route(
            subject="Payment failed",
            body="Card charged twice.",
            department=Department.objects.get(slug="finance"),
            tier="standard",
            channel="web",
            urgency="normal",
        )
    assert routing.assignee == users["finance"]
    lookups = [q["sql"] for q in captured.captured_queries if "accounts_user" in q["sql"]]
    assert lookups and all('"email" = ' in sql for sql in lookups), lookups


def test_filed_rules_send_persian_tickets_to_the_persian_team_and_a_companys_to_its_desk(
    users: dict[str, User],
) -> None:
    from destek.accounts.models import Organisation

    persian_team = Department.objects.create(name="Persian desk", slug="persian-desk")
    key_account = Department.objects.create(name="Key accounts", slug="key-accounts")
    filed_rule(
        "Persian to the Persian team",
        [{"field": "language", "op": "is", "value": ["fa"]}],
        [{"type": "set_department", "value": "persian-desk"}],
    )
    filed_rule(
        "Caspian Oil to key accounts",
        [{"field": "organisation", "op": "is", "value": ["Caspian Oil"]}],
        [{"type": "set_department", "value": "key-accounts"}, {"type": "add_tags", "value": "key"}],
    )
    persian = actions.create_ticket(
        customer=users["customer2"],
        subject="صورت‌حساب این ماه باز نمی‌شود",
        body="وقتی صورت‌حساب را باز می‌کنم صفحهٔ خطا می‌آید. لطفاً راهنمایی کنید.",
        channel="web",
        department=Department.objects.get(slug="technical"),
    )
    assert persian.language == "fa"  # chosen from the customer's words, before the rules
    assert persian.department == persian_team
    assert file_ticket(users).department.slug == "technical"  # English, no organisation

    customer = users["customer"]
    customer.organisation = Organisation.objects.create(name="Caspian Oil")
    customer.save(update_fields=["organisation"])
    company = file_ticket(users, subject="Invoices fail", body="Invoice 9 shows an error page.")
    assert company.department == key_account
    assert tags(company) == {"key"}
    moved = TicketEvent.objects.get(ticket=company, kind="department")
    assert moved.data["rule"] == "Caspian Oil to key accounts"


def test_the_customers_organisation_is_read_only_when_a_filed_rule_looks_at_it(
    users: dict[str, User], django_assert_num_queries: Any
) -> None:
    from destek.accounts.models import Organisation

    customer = users["customer"]
    customer.organisation = Organisation.objects.create(name="Caspian Oil")
    customer.save(update_fields=["organisation"])
    fresh = User.objects.get(pk=customer.pk)
    technical = Department.objects.get(slug="technical")

    def routed(*conditions: RuleCondition) -> str:
        return route(
            subject="Export fails",
            body="The button does nothing.",
            department=technical,
            tier=fresh.tier,
            channel="web",
            urgency="normal",
            language="fa",
            rules=[FiledRule(name="Tag it", conditions=conditions, add_tags=("seen",))],
            organisation=lambda: fresh.organisation.name if fresh.organisation is not None else "",
        ).tags[0]

    with django_assert_num_queries(0):  # rules on the language and the words only
        assert routed(RuleCondition("language", ("fa",)), RuleCondition("text", ("export",)))
    with django_assert_num_queries(1):  # a rule on the organisation reads it, once
        assert routed(RuleCondition("organisation", ("Caspian Oil",)))


def test_a_filed_rule_on_not_an_organisation_holds_for_a_customer_of_none_as_an_event_rule_does(
    users: dict[str, User],
) -> None:
    from destek.automation.conditions import Facts, parse_condition

    not_caspian = {"field": "organisation", "op": "is_not", "value": ["Caspian Oil"]}
    filed_rule("Not Caspian Oil", [not_caspian], [{"type": "add_tags", "value": "outside"}])
    customer = users["customer"]
    assert customer.organisation is None

    ticket = file_ticket(users)

    assert tags(ticket) == {"outside"}
    assert parse_condition(not_caspian).holds(Facts(ticket))  # the same reading after filing


def test_a_mailed_ticket_goes_by_the_filed_rules_on_its_language(
    users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    from destek.mail.actions import process_message
    from destek.mail.tests.test_pipeline import compose

    persian_team = Department.objects.create(name="Persian desk", slug="persian-desk")
    filed_rule(
        "Persian to the Persian team",
        [{"field": "language", "op": "is", "value": ["fa"]}],
        [{"type": "set_department", "value": "persian-desk"}],
    )
    raw = compose(
        sender="Parisa <parisa@example.org>",
        subject="صورت‌حساب این ماه باز نمی‌شود",
        body="وقتی صورت‌حساب را باز می‌کنم صفحهٔ خطا می‌آید. لطفاً راهنمایی کنید.",
    )
    with django_capture_on_commit_callbacks(execute=True):
        outcome = process_message(raw, "test")

    assert outcome.ticket_number is not None
    ticket = Ticket.objects.get(number=outcome.ticket_number)
    assert (ticket.language, ticket.department) == ("fa", persian_team)
