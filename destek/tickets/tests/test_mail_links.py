"""Every ticket mail links to the ticket: customers to their portal page, agents to the
desk, on the configured base URL; unconfigured, the base URL follows the port served on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from destek.accounts.models import User
from destek.notify.models import Delivery
from destek.tickets import actions, notifications
from destek.tickets.actions import Actor
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db

BASE = "https://help.example.org"
ROOT = Path(__file__).resolve().parents[3]
CUSTOMER_TEMPLATES = {
    "ticket_created",
    "agent_reply",
    "status_changed",
    "nudge_answer",
    "ticket_merged",
}
AGENT_TEMPLATES = {"agent_new_ticket", "customer_reply", "sla_alert"}


@pytest.fixture
def base_url(settings: Any) -> str:
    settings.BASE_URL = BASE
    settings.DESTEK_NOTIFY_AGENTS_ON_NEW = True
    return BASE


def every_ticket_mail(users: dict[str, User], capture: Any) -> tuple[Ticket, Ticket]:
    """One ticket through everything that mails someone; a second one merged into it."""
    customer, agent = users["customer"], users["agent"]
    with capture(execute=True):
        ticket = actions.create_ticket(
            customer=customer,
            subject="Invoice page shows error 500",
            body="It fails since 9:00.",
            channel="web",
        )
        actions.assign(ticket, actor=Actor.of(agent), assignee=agent)
        actions.add_message(ticket, author=agent, body="Which browser?", status_after="pending")
        actions.add_message(ticket, author=customer, body="Firefox 128.", channel="web")
        ticket.refresh_from_db()
        actions.add_message(ticket, author=customer, body="Any news?", channel="web")
        notifications.sla_alert(ticket, "first_response", breached=True)
        duplicate = actions.create_ticket(
            customer=customer,
            subject="Invoices cannot be opened",
            body="Error 500 on invoices.",
            channel="web",
        )
        actions.merge(duplicate, into=ticket, actor=Actor.of(agent))
        actions.change_status(
            ticket, actor=Actor.of(agent), status="closed", close_reason="resolved"
        )
    return ticket, duplicate


def test_every_mail_to_a_customer_links_to_the_tickets_page_on_the_base_url(
    users: dict[str, User], base_url: str, django_capture_on_commit_callbacks: Any
) -> None:
    ticket, duplicate = every_ticket_mail(users, django_capture_on_commit_callbacks)
    sent = Delivery.objects.filter(recipient="customer@example.com")
    assert {d.template for d in sent} >= CUSTOMER_TEMPLATES
    for delivery in sent:
        number = ticket.number
        if delivery.template == "ticket_created" and delivery.ticket_id == duplicate.pk:
            number = duplicate.number
        link = f"{BASE}/my/tickets/{number}/"
        assert link in delivery.body_text, delivery.template
        assert f'href="{link}"' in delivery.body_html, delivery.template


def test_every_mail_to_an_agent_links_to_the_desk_page_on_the_base_url(
    users: dict[str, User], base_url: str, django_capture_on_commit_callbacks: Any
) -> None:
    every_ticket_mail(users, django_capture_on_commit_callbacks)
    sent = Delivery.objects.filter(recipient="agent@example.com")
    assert {d.template for d in sent} >= AGENT_TEMPLATES
    for delivery in sent:
        assert delivery.ticket is not None
        link = f"{BASE}/desk/tickets/{delivery.ticket.number}/"
        assert link in delivery.body_text, delivery.template
        assert f'href="{link}"' in delivery.body_html, delivery.template
        assert "/my/tickets/" not in delivery.body_text, delivery.template


def settings_base_url(**env: str) -> str:
    """BASE_URL as a fresh process started with `env` reads it."""
    clean = {k: v for k, v in os.environ.items() if k not in ("PORT", "DESTEK_BASE_URL")}
    clean.update({"DJANGO_SETTINGS_MODULE": "destek.settings_test", **env})
    code = "from django.conf import settings; print(settings.BASE_URL)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=clean,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_links_follow_the_port_served_on_when_no_base_url_is_set() -> None:
    assert settings_base_url(PORT="8101") == "http://127.0.0.1:8101"
    assert settings_base_url(PORT="8101", DESTEK_BASE_URL="") == "http://127.0.0.1:8101"
    assert settings_base_url() == "http://127.0.0.1:8000"


def test_an_explicit_base_url_wins_over_the_port() -> None:
    assert (
        settings_base_url(PORT="8101", DESTEK_BASE_URL="https://support.example.com/")
        == "https://support.example.com"
    )
