"""The dry run says which of a rule's texts each customer would be mailed, so an admin sees
before switching it on that a Russian customer would get the Persian text, or nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from destek.accounts.models import User
from destek.automation.models import Rule, RuleText
from destek.tickets import actions
from destek.tickets.models import Department, Ticket

pytestmark = pytest.mark.django_db


def _filed(customer: User, language: str) -> Ticket:
    return actions.create_ticket(
        customer=customer,
        subject="Outage in Baku",
        body="Nothing loads since the morning.",
        channel="web",
        department=Department.objects.get(slug="technical"),
        language=language,
    )


def test_the_dry_run_names_the_language_of_each_mail_or_says_none_goes(
    users: dict[str, User], django_assert_max_num_queries: Any
) -> None:
    persian = _filed(users["customer"], "fa")
    russian = _filed(users["customer2"], "ru")
    made = Rule.objects.create(
        name="Outage reminder",
        kind="updated",
        conditions=[{"field": "text", "op": "contains", "value": "outage"}],
        actions=[{"type": "mail_customer"}],
    )
    RuleText.objects.create(rule=made, language="fa", subject="قطعی", body="در حال بررسی")
    admin = Client()
    admin.force_login(users["admin"])
    admin.cookies["django_language"] = "en"
    with django_assert_max_num_queries(25):
        page = admin.get(f"/admin/automation/rule/{made.pk}/dry-run/").content.decode()
    persian_row, russian_row = (
        page.split(f"#{persian.number}")[1].split("</tr>")[0],
        page.split(f"#{russian.number}")[1].split("</tr>")[0],
    )
    assert "Mail the customer, in Persian" in persian_row
    # The company's language (Azerbaijani) has no text either: nothing would go.
    assert "Mail the customer: not sent, the rule has no text for it" in russian_row

    RuleText.objects.create(rule=made, language="", subject="Outage", body="Looking into it")
    page = admin.get(f"/admin/automation/rule/{made.pk}/dry-run/").content.decode()
    assert "Mail the customer, the text for any language" in page


def test_a_persian_dry_run_writes_its_numbers_in_persian_and_links_each_ticket_to_the_desk(
    users: dict[str, User],
) -> None:
    from destek.lib.dates import localize_digits

    ticket = _filed(users["customer"], "fa")
    made = Rule.objects.create(
        name="Outage tag",
        kind="updated",
        conditions=[{"field": "text", "op": "contains", "value": "outage"}],
        actions=[{"type": "add_tags", "value": ["outage"]}],
    )
    admin = Client()
    admin.force_login(users["admin"])
    admin.cookies["django_language"] = "fa"
    page = admin.get(f"/admin/automation/rule/{made.pk}/dry-run/").content.decode()
    assert "(حداکثر ۵۰)" in page
    number = localize_digits(f"#{ticket.number}", "fa")
    assert f'<a href="/desk/tickets/{ticket.number}/"><bdi>{number}</bdi></a>' in page
