"""The demo shows a time rule at work: a customer the team has waited for three days is
reminded once, in the ticket's language, with a link to the ticket."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from destek.accounts.models import User
from destek.automation.models import Rule
from destek.automation.rule_jobs import sweep_rules_now
from destek.demo.automation import REMIND_NAME, load_automation
from destek.lib.dates import localize_digits
from destek.notify.models import Delivery
from destek.tickets import actions
from destek.tickets.models import Department

pytestmark = pytest.mark.django_db


def test_the_demo_reminds_a_customer_we_wait_for_once_in_their_language(
    users: dict[str, User],
) -> None:
    load_automation()
    load_automation()
    rule = Rule.objects.get(name=REMIND_NAME)
    assert sorted(rule.texts.values_list("language", flat=True)) == ["az", "en", "fa", "ru", "tr"]
    ticket = actions.create_ticket(
        customer=users["customer"],
        subject="اتصال VPN قطع می‌شود",
        body="از صبح اتصال VPN هر چند دقیقه قطع می‌شود.",
        channel="web",
        department=Department.objects.get(slug="technical"),
        language="fa",
    )
    actions.add_message(ticket, author=users["agent"], body="کدام برنامه‌ی VPN را استفاده می‌کنید؟")
    start = timezone.now()
    with time_machine.travel(start + timedelta(days=3, minutes=1), tick=False):
        sweep_rules_now()
        sweep_rules_now()
    sent = list(Delivery.objects.filter(ticket_id=ticket.pk, template="automation_rule"))
    assert len(sent) == 1
    assert sent[0].recipient == "customer@example.com"
    # The Persian text writes the number in Persian digits (as macros do); the reply tag
    # the mail adds keeps the ASCII one the inbound mail reads.
    number = localize_digits(f"#{ticket.number}", "fa")
    assert f"منتظر پاسخ شما هستیم: {number}" in sent[0].subject
    assert f"[#{ticket.number}]" in sent[0].subject
    assert f"/my/tickets/{ticket.number}/" in sent[0].body_text
