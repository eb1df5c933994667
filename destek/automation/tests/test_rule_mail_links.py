"""A rule's mail takes its reader to the ticket: the customer to their page in the portal,
the team to the desk; a reminder without a way back would leave the customer searching."""

from __future__ import annotations

import re

import pytest

from destek.accounts.models import User
from destek.automation.models import Rule, RuleText
from destek.notify.models import Delivery
from destek.tickets import actions
from destek.tickets.models import Department

pytestmark = pytest.mark.django_db


def test_a_rules_mail_links_the_customer_to_the_portal_and_the_team_to_the_desk(
    users: dict[str, User],
) -> None:
    made = Rule.objects.create(
        name="Tell everyone",
        kind="created",
        conditions=[],
        actions=[{"type": "mail_customer"}, {"type": "mail_department", "value": "technical"}],
    )
    RuleText.objects.create(rule=made, language="", subject="Noted", body="We saw it.")
    ticket = actions.create_ticket(
        customer=users["customer"],
        subject="Export fails",
        body="The button does nothing.",
        channel="web",
        department=Department.objects.get(slug="technical"),
        language="en",
    )
    sent = {d.recipient: d for d in Delivery.objects.filter(template="automation_rule")}
    customer_mail, agent_mail = sent["customer@example.com"], sent["agent@example.com"]
    assert f"/my/tickets/{ticket.number}/" in customer_mail.body_text
    assert 'href="http://' in customer_mail.body_html
    assert f"/my/tickets/{ticket.number}/" in customer_mail.body_html
    assert "/desk/" not in customer_mail.body_text
    assert f"/desk/tickets/{ticket.number}/" in agent_mail.body_text
    assert f"/desk/tickets/{ticket.number}/" in agent_mail.body_html


def test_the_rules_and_macros_texts_are_typed_in_the_direction_of_their_words(
    users: dict[str, User],
) -> None:
    from django.test import Client

    admin = Client()
    admin.force_login(users["admin"])
    admin.cookies["django_language"] = "fa"
    for page in ("/admin/automation/rule/add/", "/admin/automation/macro/add/"):
        html = admin.get(page).content.decode()
        tag = re.search(r'<textarea[^>]*name="texts-0-body"[^>]*>', html)
        assert tag is not None and 'dir="auto"' in tag.group(0), page


def test_a_persian_rule_mail_fills_its_placeholders_as_a_macro_does_in_persian_digits(
    users: dict[str, User],
) -> None:
    made = Rule.objects.create(
        name="Noted in Persian",
        kind="created",
        conditions=[],
        actions=[{"type": "mail_customer"}],
    )
    RuleText.objects.create(
        rule=made,
        language="fa",
        subject="تیکت {ticket_number} ثبت شد",
        body="{customer_name} گرامی، تیکت {ticket_number} به {department} رسید. {agent_name}",
    )
    ticket = actions.create_ticket(
        customer=users["customer"],
        subject="صورت‌حساب باز نمی‌شود",
        body="صورت‌حساب این ماه باز نمی‌شود.",
        channel="web",
        department=Department.objects.get(slug="technical"),
        language="fa",
    )
    from destek.lib.dates import localize_digits

    mail = Delivery.objects.get(template="automation_rule", recipient="customer@example.com")
    number = localize_digits(f"#{ticket.number}", "fa")
    assert mail.subject.endswith(f"تیکت {number} ثبت شد")
    assert f"{users['customer'].display_name} گرامی، تیکت {number} به" in mail.body_text
    assert "{agent_name}" not in mail.body_text  # nobody assigned yet: left empty
