"""Every URL and API route is classified, and each is checked against the wrong role."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from destek.accounts.models import User
from destek.api.api import api

ROOT = Path(__file__).resolve().parents[3]

#: (method, path) -> who may call it. "public" needs nothing; "user" is any signed-in role
#: (the object's own door then decides); "agent" and "customer" are refused to the other.
API_ROUTES = {
    ("POST", "/auth/token"): "public",
    ("DELETE", "/auth/token"): "user",
    ("GET", "/auth/me"): "user",
    ("GET", "/auth/addresses"): "user",
    ("POST", "/auth/addresses"): "user",
    ("POST", "/auth/addresses/verify"): "user",
    ("GET", "/tickets"): "user",
    ("POST", "/tickets"): "user",
    ("GET", "/tickets/{number}"): "user",
    ("PATCH", "/tickets/{number}"): "user",
    ("GET", "/tickets/{number}/messages"): "user",
    ("POST", "/tickets/{number}/messages"): "user",
    ("GET", "/tickets/{number}/events"): "user",
    ("GET", "/tickets/{number}/cc"): "user",
    ("POST", "/tickets/{number}/cc"): "user",
    ("DELETE", "/tickets/{number}/cc"): "user",
    ("POST", "/tickets/{number}/close"): "customer",
    ("POST", "/tickets/{number}/reopen"): "customer",
    ("POST", "/tickets/{number}/merge"): "agent",
    ("GET", "/macros"): "agent",
    ("POST", "/tickets/{number}/macros/{macro_id}"): "agent",
    ("POST", "/attachments"): "user",
    ("GET", "/attachments/{attachment_id}"): "user",
    ("GET", "/reports/sla"): "agent",
    ("GET", "/reports/csat"): "agent",
    ("GET", "/reports/time"): "agent",
    ("POST", "/tickets/{number}/time"): "agent",
    ("GET", "/kb/search"): "public",
    ("GET", "/kb/suggest"): "public",
    # Live chat: anyone starts one; a chat's own routes answer its visitor (the chat's token,
    # or the customer signed in) and its department's agents, and 404 to anyone else.
    ("POST", "/chats"): "public",
    ("GET", "/chats"): "agent",
    ("GET", "/chats/{chat_id}"): "visitor",
    ("POST", "/chats/{chat_id}/messages"): "visitor",
    ("GET", "/chats/{chat_id}/events"): "visitor",
    ("POST", "/chats/{chat_id}/typing"): "visitor",
    ("POST", "/chats/{chat_id}/seen"): "visitor",
    ("POST", "/chats/{chat_id}/rating"): "visitor",
    ("GET", "/chats/{chat_id}/survey"): "visitor",
    ("POST", "/chats/{chat_id}/survey"): "visitor",
    ("POST", "/chats/{chat_id}/end"): "visitor",
    ("POST", "/chats/{chat_id}/attachments"): "visitor",
    ("GET", "/chats/{chat_id}/attachments/{attachment_id}"): "visitor",
    ("POST", "/chats/{chat_id}/accept"): "agent",
    ("PUT", "/agents/me/presence"): "agent",
    ("GET", "/chats/availability"): "public",
    ("GET", "/tickets/{number}/survey"): "customer",
    ("POST", "/tickets/{number}/survey"): "customer",
    # The service status: anyone reads it; admins and agents given `announcements.manage`
    # post to it ("manager": customers and other agents get 403).
    ("GET", "/status"): "public",
    ("POST", "/incidents"): "manager",
    ("POST", "/incidents/{incident_id}/updates"): "manager",
    ("POST", "/maintenance"): "manager",
    # Tickets and incidents: any signed-in user reads an incident (agents also get the
    # numbers of the linked tickets they may see); agents link and unlink tickets they may
    # see (404 for others); managers answer them all.
    ("GET", "/incidents/{incident_id}"): "user",
    ("POST", "/incidents/{incident_id}/tickets"): "agent",
    ("DELETE", "/incidents/{incident_id}/tickets/{number}"): "agent",
    ("POST", "/incidents/{incident_id}/resolve-tickets"): "manager",
    # Webhook targets and their delivery log: administrators only (agents and customers 403).
    ("POST", "/webhooks"): "admin",
    ("GET", "/webhooks"): "admin",
    ("DELETE", "/webhooks/{target_id}"): "admin",
    ("GET", "/webhooks/{target_id}/deliveries"): "admin",
    ("POST", "/webhooks/deliveries/{delivery_id}/replay"): "admin",
}

#: Django URL patterns outside the API (by their route prefix).
PAGES = {
    "healthz": "public",
    "admin/": "admin",
    "api/v1/": "api",
    "i18n/setlang/": "public",
    "desk/": "agent",  # the queue, tickets and the knowledge-base editor (desk/kb/...)
    "kb/": "public",
    # The survey page a mailed link opens: the signed link is the key (surveys/views.py).
    "survey/": "public",
    # The status page's Atom feeds (the page itself is the portal's GET /status/).
    "status/": "public",
    # Telegram's calls, proven by the channel's secret header (messaging/views.py).
    "channels/telegram/<int:channel_id>/webhook": "platform",
    # Meta's calls (WhatsApp, Messenger, Instagram), proven by their signature; the GET
    # verification challenge answers only the channel's verify token.
    "^channels/(?P<kind>whatsapp|messenger|instagram)/(?P<channel_id>[0-9]+)/webhook$": "platform",
    "": "portal",
}


def api_operations() -> set[tuple[str, str]]:
    found = set()
    for prefix, router in api._routers:
        for path, view in router.path_operations.items():
            for operation in view.operations:
                for method in operation.methods:
                    full = (prefix.rstrip("/") + "/" + path.lstrip("/")).rstrip("/") or "/"
                    found.add((method, "/" + full.lstrip("/")))
    return found


def test_every_api_route_is_classified() -> None:
    assert api_operations() == set(API_ROUTES)


def test_every_url_pattern_is_classified() -> None:
    top = {
        str(p.pattern)
        for p in get_resolver().url_patterns
        if isinstance(p, URLPattern | URLResolver)
    }
    assert top == set(PAGES)


def concrete(path: str) -> str:
    return "/api/v1" + path.replace("{number}", "10000001").replace(
        "{attachment_id}", "00000000-0000-0000-0000-000000000000"
    ).replace("{chat_id}", "1").replace("{macro_id}", "1").replace("{incident_id}", "1").replace(
        "{target_id}", "1"
    ).replace("{delivery_id}", "1")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"), sorted(k for k, v in API_ROUTES.items() if v not in ("public", "visitor"))
)
def test_protected_api_routes_refuse_the_anonymous(method: str, path: str) -> None:
    response = Client().generic(method, concrete(path), "{}", content_type="application/json")
    assert response.status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"), sorted(k for k, v in API_ROUTES.items() if v == "visitor")
)
def test_a_chats_routes_show_nothing_to_a_caller_without_its_token(method: str, path: str) -> None:
    if path.endswith("/attachments"):
        file = SimpleUploadedFile("a.txt", b"a", content_type="text/plain")
        response = Client().post(concrete(path), {"file": file})
    else:
        body = {"body": "hello", "rating": 5, "up_to": 1}
        body |= {"speed": 3, "clarity": 3, "tone": 3, "solved": True}  # the chat's survey
        response = Client().generic(
            method, concrete(path), json.dumps(body), content_type="application/json"
        )
    assert response.status_code == 404


@pytest.mark.django_db
def test_customer_only_and_agent_only_routes_refuse_the_other_role(
    customer: Any, agent: Any
) -> None:
    number = customer.file_ticket()["number"]
    for (method, path), who in API_ROUTES.items():
        url = (
            path.replace("{number}", str(number))
            .replace("{chat_id}", "1")
            .replace("{macro_id}", "1")
            .replace("{incident_id}", "1")
            .replace("{target_id}", "1")
            .replace("{delivery_id}", "1")
            .lstrip("/")
        )
        if who == "customer":
            survey = {"speed": 1, "clarity": 1, "tone": 1, "solved": False}
            data = None if method == "GET" else survey if path.endswith("/survey") else {}
            assert agent.request(method.lower(), url, data).status_code == 403, path
        if who == "agent":
            body: dict[str, Any] = {"minutes": 1} if path.endswith("/time") else {"into": number}
            if path.endswith("/incidents/{incident_id}/tickets"):
                body = {"tickets": [number]}
            data = None if method == "GET" else body
            assert customer.request(method.lower(), url, data).status_code == 403, path
        if who == "manager":
            url = url.replace("{incident_id}", "1")
            status = {"title": "X", "body": "Y", "services": ["x"]}
            status |= {"starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-01T01:00:00Z"}
            for caller in (customer, agent):
                assert caller.request("post", url, status).status_code == 403, path
        if who == "admin":
            target: dict[str, Any] = {"url": "https://a.example", "events": ["*"]}
            sent = None if method in ("GET", "DELETE") else target
            for caller in (customer, agent):
                assert caller.request(method.lower(), url, sent).status_code == 403, path


@pytest.mark.django_db
def test_the_admin_is_for_admins_only(users: dict[str, User]) -> None:
    client = Client()
    assert client.get("/admin/").status_code == 302
    client.force_login(users["agent"])
    assert client.get("/admin/tickets/ticket/").status_code == 302
    client.force_login(users["admin"])
    for page in (
        "accounts/user",
        "accounts/organisation",
        "accounts/apitoken",
        "tickets/ticket",
        "tickets/department",
        "tickets/intakerule",
        "automation/rule",
        "tickets/tag",
        "notify/delivery",
        "kb/section",
        "kb/article",
        "kb/feedback",
        "kb/searchlog",
        "kb/articleevent",
    ):
        assert client.get(f"/admin/{page}/").status_code == 200, page
        assert client.get(f"/admin/{page}/?q=x").status_code == 200, page


@pytest.mark.django_db
def test_admin_ticket_pages_show_subjects_as_text(customer: Any, users: dict[str, User]) -> None:
    number = customer.file_ticket(
        subject="<script>alert(1)</script> broken", body="<img src=x onerror=alert(1)>"
    )["number"]
    client = Client()
    client.force_login(users["admin"])
    listing = client.get("/admin/tickets/ticket/").content.decode()
    assert "<script>alert(1)</script>" not in listing
    from destek.tickets.models import Ticket

    detail = client.get(f"/admin/tickets/ticket/{Ticket.objects.get(number=number).pk}/change/")
    assert detail.status_code == 200
    assert "<img src=x onerror" not in detail.content.decode()


def test_deploy_check_passes_with_production_settings(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DESTEK_HTTPS": "1",
        "DESTEK_DATA_DIR": str(tmp_path),
        "DESTEK_SECRET_KEY": "x" * 20 + "-production-secret-" + "y" * 30,
        "DESTEK_ALLOWED_HOSTS": "support.example.com",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_responses_carry_the_security_headers() -> None:
    response = Client().get("/healthz")
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
