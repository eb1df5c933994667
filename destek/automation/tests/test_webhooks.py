"""Signed webhooks, against a real HTTP receiver on 127.0.0.1 (a thread in the test)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from destek.automation import webhook_jobs
from destek.automation.models import WebhookDelivery, WebhookTarget


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What the README shows a receiver doing."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts["v1"])


class Receiver:
    """Records each POST; answers with the next status of `answers` (200 once they run out)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[int] = []
        self.answer_body: bytes | None = None  # instead of the default answer
        self.drip_seconds = 0.0  # the answer sent a byte at a time over this long
        self.wrote_all: bool | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(min(length, 1_000_000))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                status = receiver.answers.pop(0) if receiver.answers else 200
                answer = b"ok" if status < 300 else b"x" * 5000
                answer = receiver.answer_body if receiver.answer_body is not None else answer
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                receiver.wrote_all = False
                try:
                    if receiver.drip_seconds:
                        for byte in answer:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(receiver.drip_seconds / len(answer))
                    else:
                        for start in range(0, len(answer), 65536):
                            self.wfile.write(answer[start : start + 65536])
                    receiver.wrote_all = True
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?src=destek"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def events(self) -> list[str]:
        return [r["headers"]["X-Destek-Event"] for r in self.requests]

    def payloads(self, event: str) -> list[dict[str, Any]]:
        return [
            json.loads(r["body"]) for r in self.requests if r["headers"]["X-Destek-Event"] == event
        ]


@pytest.fixture
def allow_private(settings: Any) -> None:
    settings.DESTEK_WEBHOOKS_ALLOW_PRIVATE = True


def add_target(admin: Any, url: str, events: list[str] | None = None, **extra: Any) -> Any:
    response = admin.post("webhooks", {"url": url, "events": events or ["*"], **extra})
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.django_db
def test_a_created_and_changed_ticket_reaches_the_receiver_signed(
    allow_private: None, receiver: Receiver, admin: Any, customer: Any, agent: Any
) -> None:
    target = add_target(admin, receiver.url)
    assert len(target["secret"]) >= 32
    number = customer.file_ticket(subject="Printer on fire")["number"]
    assert agent.patch(f"tickets/{number}", {"priority": "high"}).status_code == 200

    assert receiver.events() == ["ticket.created", "ticket.updated"]
    for request in receiver.requests:
        headers = request["headers"]
        assert verify(target["secret"], headers["X-Destek-Signature"], request["body"])
        assert not verify("another secret!!", headers["X-Destek-Signature"], request["body"])
        assert headers["User-Agent"].startswith("Destek-Webhooks")
        assert headers["Content-Type"] == "application/json"
        assert headers["Host"] == receiver.url.split("/")[2]
    created = receiver.payloads("ticket.created")[0]
    assert created["ticket"]["number"] == number
    assert created["ticket"]["subject"] == "Printer on fire"
    assert created["ticket"]["customer_email"] == "customer@example.com"
    assert created["message"]["body"].startswith("Since this morning")
    updated = receiver.payloads("ticket.updated")[0]
    assert updated["ticket"]["priority"] == "high"
    assert updated["changes"][0] | {"by": "x"} == {
        "kind": "priority",
        "from": "normal",
        "to": "high",
        "by": "x",
        "public": updated["changes"][0]["public"],
    }
    ids = {r["headers"]["X-Destek-Delivery"] for r in receiver.requests}
    assert len(ids) == 2
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


@pytest.mark.django_db
def test_closing_a_ticket_sends_updated_and_closed_and_only_asked_events(
    allow_private: None, receiver: Receiver, admin: Any, customer: Any, agent: Any
) -> None:
    add_target(admin, receiver.url, ["ticket.closed"])
    number = customer.file_ticket()["number"]
    response = agent.patch(f"tickets/{number}", {"status": "closed", "close_reason": "resolved"})
    assert response.status_code == 200, response.content
    assert receiver.events() == ["ticket.closed"]
    closed = receiver.payloads("ticket.closed")[0]
    assert closed["ticket"]["status"] == "closed"
    assert closed["close_reason"] == "resolved"


@pytest.mark.django_db
def test_replies_are_sent_and_internal_notes_only_to_targets_that_asked(
    allow_private: None, receiver: Receiver, admin: Any, customer: Any, agent: Any
) -> None:
    add_target(admin, receiver.url, ["message.created"])
    add_target(admin, receiver.url + "&notes=1", ["message.created"], internal_notes=True)
    number = customer.file_ticket()["number"]
    agent.post(f"tickets/{number}/messages", {"body": "We are on it."})
    agent.post(f"tickets/{number}/messages", {"body": "Looks like disk.", "internal": True})

    messages = receiver.payloads("message.created")
    public = [m for m in messages if not m["message"]["internal"]]
    internal = [m for m in messages if m["message"]["internal"]]
    assert [m["message"]["body"] for m in public] == ["We are on it.", "We are on it."]
    assert [m["message"]["body"] for m in internal] == ["Looks like disk."]


@pytest.mark.django_db
def test_a_survey_answer_is_sent(
    allow_private: None, receiver: Receiver, admin: Any, customer: Any, agent: Any
) -> None:
    add_target(admin, receiver.url, ["survey.answered"])
    number = customer.file_ticket()["number"]
    agent.post(f"tickets/{number}/messages", {"body": "Fixed."})
    assert agent.patch(f"tickets/{number}", {"status": "resolved"}).status_code == 200
    answer = {"speed": 5, "clarity": 4, "tone": 5, "solved": True, "comment": "Thanks"}
    assert customer.post(f"tickets/{number}/survey", answer).status_code == 201
    survey = receiver.payloads("survey.answered")[0]
    assert survey["ticket"]["number"] == number
    assert survey["survey"] | {"answered_at": None} == answer | {"answered_at": None}


@pytest.mark.django_db
def test_a_failing_receiver_is_retried_with_backoff_and_gets_the_event_once(
    allow_private: None, receiver: Receiver, admin: Any, customer: Any
) -> None:
    add_target(admin, receiver.url, ["ticket.created"])
    receiver.answers = [500, 503]
    customer.file_ticket()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 500)
    assert len(delivery.response_body) == 2048  # the 5000-byte answer, truncated
    first_retry = delivery.next_attempt_at
    assert first_retry is not None
    assert timedelta(seconds=50) < first_retry - timezone.now() <= timedelta(minutes=1)

    assert webhook_jobs.sweep() == 0  # not due yet
    assert webhook_jobs.sweep(first_retry) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 2, 503)
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at - first_retry >= timedelta(minutes=2)  # backing off

    webhook_jobs.sweep(delivery.next_attempt_at)
    webhook_jobs.sweep(delivery.next_attempt_at + timedelta(hours=1))
    webhook_jobs.send_delivery(delivery.pk)  # the job run twice: nothing more
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 3, 200)
    assert delivery.duration_ms is not None
    assert [r["headers"]["X-Destek-Delivery"] for r in receiver.requests] == [
        str(delivery.public_id)
    ] * 3
    assert receiver.requests[0]["body"] == receiver.requests[2]["body"]


@pytest.mark.django_db
def test_a_delivery_failing_for_a_day_is_given_up(
    allow_private: None, receiver: Receiver, admin: Any, customer: Any
) -> None:
    add_target(admin, receiver.url, ["ticket.created"])
    receiver.answers = [500] * 3
    customer.file_ticket()
    delivery = WebhookDelivery.objects.get()
    webhook_jobs.sweep(timezone.now() + timedelta(hours=23))
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    webhook_jobs.sweep(timezone.now() + timedelta(hours=25))
    delivery.refresh_from_db()
    # Past the give-up age the sweep fails it without another attempt.
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 2, None)


@pytest.mark.django_db
def test_a_delivery_lost_from_the_queue_or_its_worker_is_sent_by_the_sweep(
    allow_private: None, receiver: Receiver, admin: Any, customer: Any
) -> None:
    add_target(admin, receiver.url, ["ticket.created"])
    customer.file_ticket()
    delivery = WebhookDelivery.objects.get()
    # A worker claimed it and died before sending.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="sending", claimed_at=timezone.now(), delivered_at=None
    )
    assert webhook_jobs.sweep() == 0
    assert webhook_jobs.sweep(timezone.now() + timedelta(minutes=3)) == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert len(receiver.requests) == 2


@pytest.mark.django_db
def test_private_addresses_are_refused_at_creation_without_the_setting(admin: Any) -> None:
    for url in (
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
    ):
        response = admin.post("webhooks", {"url": url, "events": ["*"]})
        assert response.status_code == 422, url
        assert response.json()["code"] == "webhook_private_address", url
    for url in ("ftp://example.com/", "file:///etc/passwd", "http://user:pw@example.com/", "x"):
        response = admin.post("webhooks", {"url": url, "events": ["*"]})
        assert response.json()["code"] == "webhook_url_refused", url
    assert not WebhookTarget.objects.exists()


@pytest.mark.django_db
def test_a_private_address_is_refused_at_send_time_without_the_setting(
    settings: Any, receiver: Receiver, admin: Any, customer: Any
) -> None:
    settings.DESTEK_WEBHOOKS_ALLOW_PRIVATE = True
    add_target(admin, receiver.url)
    settings.DESTEK_WEBHOOKS_ALLOW_PRIVATE = False
    customer.file_ticket()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert "private" in delivery.error
    assert receiver.requests == []


@pytest.mark.django_db
def test_unknown_events_and_short_secrets_are_refused(allow_private: None, admin: Any) -> None:
    response = admin.post("webhooks", {"url": "http://127.0.0.1/", "events": ["ticket.eaten"]})
    assert response.json()["code"] == "webhook_events_unknown"
    response = admin.post(
        "webhooks", {"url": "http://127.0.0.1/", "events": ["*"], "secret": "short"}
    )
    assert response.json()["code"] == "webhook_secret_length"


@pytest.mark.django_db
def test_replay_sends_the_same_payload_as_a_new_delivery(
    allow_private: None, receiver: Receiver, admin: Any, customer: Any
) -> None:
    target = add_target(admin, receiver.url, ["ticket.created"], secret="s" * 20)
    customer.file_ticket()
    original = WebhookDelivery.objects.get()
    response = admin.post(f"webhooks/deliveries/{original.pk}/replay")
    assert response.status_code == 201, response.content
    copy = response.json()
    assert copy["replay_of"] == original.pk
    assert copy["delivery"] != str(original.public_id)
    assert len(receiver.requests) == 2
    first, second = receiver.requests
    assert first["body"] == second["body"]
    assert second["headers"]["X-Destek-Delivery"] == copy["delivery"]
    assert verify(target["secret"], second["headers"]["X-Destek-Signature"], second["body"])
    assert WebhookDelivery.objects.get(pk=copy["id"]).status == "delivered"


@pytest.mark.django_db
def test_the_delivery_log_is_newest_first_and_paged_and_the_secret_not_shown_again(
    allow_private: None, receiver: Receiver, admin: Any, customer: Any
) -> None:
    target = add_target(admin, receiver.url, ["ticket.created"])
    for subject in ("Printer", "Scanner", "Router"):
        customer.file_ticket(subject=f"{subject} is broken", body=f"The {subject} is broken.")
    with CaptureQueriesContext(connection) as queries:
        page = admin.get(f"webhooks/{target['id']}/deliveries?limit=2").json()
    assert len(queries) <= 6
    ids = [d["id"] for d in page["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 2
    rest = admin.get(f"webhooks/{target['id']}/deliveries?cursor={page['next_cursor']}").json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert page["items"][0]["status"] == "delivered"
    assert page["items"][0]["response_status"] == 200

    listed = admin.get("webhooks").json()["items"]
    assert [t["id"] for t in listed] == [target["id"]]
    assert "secret" not in listed[0]
    assert admin.delete(f"webhooks/{target['id']}").status_code == 204
    assert not WebhookDelivery.objects.exists()
    assert admin.get(f"webhooks/{target['id']}/deliveries").status_code == 404


@pytest.mark.django_db
def test_only_admins_manage_webhooks(
    allow_private: None, receiver: Receiver, admin: Any, agent: Any, customer: Any
) -> None:
    target = add_target(admin, receiver.url, ["ticket.created"])
    customer.file_ticket()
    delivery = WebhookDelivery.objects.get()
    for caller in (agent, customer):
        body = {"url": receiver.url, "events": ["*"]}
        assert caller.post("webhooks", body).status_code == 403
        assert caller.get("webhooks").status_code == 403
        assert caller.get(f"webhooks/{target['id']}/deliveries").status_code == 403
        assert caller.post(f"webhooks/deliveries/{delivery.pk}/replay").status_code == 403
        assert caller.delete(f"webhooks/{target['id']}").status_code == 403
    assert WebhookTarget.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.django_db
def test_the_admin_shows_targets_and_the_log_and_replays(
    allow_private: None, receiver: Receiver, admin: Any, customer: Any, users: Any, client: Any
) -> None:
    add_target(admin, receiver.url, ["ticket.created"])
    customer.file_ticket(subject="<b>x</b>")
    client.force_login(users["admin"])
    assert (
        receiver.url.split("?")[0]
        in client.get("/admin/automation/webhooktarget/").content.decode()
    )
    log = client.get("/admin/automation/webhookdelivery/")
    assert log.status_code == 200 and "ticket.created" in log.content.decode()
    delivery = WebhookDelivery.objects.get()
    client.post(
        "/admin/automation/webhookdelivery/",
        {"action": "replay", "_selected_action": [delivery.pk]},
    )
    assert WebhookDelivery.objects.count() == 2


def test_the_request_goes_to_the_checked_ip_with_the_name_in_host_and_sni() -> None:
    pinned = webhook_jobs._pinned("https://hooks.example.com:8443/in?x=1", "93.184.216.34")
    assert pinned == (
        "https://93.184.216.34:8443/in?x=1",
        "hooks.example.com:8443",
        "hooks.example.com",
    )
    pinned = webhook_jobs._pinned("http://hooks.example.com", "2606:2800:220:1::1")
    assert pinned == ("http://[2606:2800:220:1::1]/", "hooks.example.com", "hooks.example.com")


@pytest.mark.django_db
def test_a_new_ticket_assigned_at_once_is_told_as_created_before_its_updates(
    allow_private: None,
    receiver: Receiver,
    admin: Any,
    users: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    from destek.accounts.choices import Role
    from destek.accounts.models import User
    from destek.automation.choices import AssignmentMode
    from destek.automation.models import DepartmentAssignment
    from destek.tickets import actions
    from destek.tickets.models import Department, Membership

    department = Department.objects.create(name="Fair desk", slug="fair-desk")
    agent = User.objects.create_user("aynur@example.com", "pw", role=Role.AGENT)
    Membership.objects.create(department=department, user=agent)
    DepartmentAssignment.objects.create(department=department, mode=AssignmentMode.ROUND_ROBIN)
    add_target(admin, receiver.url)

    with django_capture_on_commit_callbacks(execute=True):
        ticket = actions.create_ticket(
            customer=users["customer"],
            subject="Invoice does not open",
            body="Invoice number 7 shows an error page when I open it from the account.",
            channel="web",
            department=department,
            intake_rules=False,
        )

    events = list(WebhookDelivery.objects.order_by("pk").values_list("event", flat=True))
    assert events[0] == "ticket.created"
    assert "ticket.updated" in events
    assert receiver.events()[0] == "ticket.created"
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    updated = receiver.payloads("ticket.updated")[-1]
    assert updated["ticket"]["assignee_email"] == "aynur@example.com"


@pytest.mark.django_db
def test_a_dns_failure_at_send_time_is_retried_and_the_delivery_sent_later(
    allow_private: None, receiver: Receiver, admin: Any, customer: Any, monkeypatch: Any
) -> None:
    import socket

    add_target(admin, receiver.url, ["ticket.created"])
    real = socket.getaddrinfo

    def dns_down(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", dns_down)
    customer.file_ticket()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at > timezone.now()
    assert "resolved" in delivery.error
    monkeypatch.setattr(socket, "getaddrinfo", real)
    webhook_jobs.sweep(timezone.now() + timedelta(minutes=2))
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_a_huge_answer_is_not_read_past_what_the_log_keeps(
    allow_private: None, receiver: Receiver, admin: Any, customer: Any
) -> None:
    add_target(admin, receiver.url, ["ticket.created"])
    receiver.answers = [500]
    receiver.answer_body = b"y" * 32_000_000
    customer.file_ticket()
    delivery = WebhookDelivery.objects.get()
    assert delivery.response_status == 500
    assert delivery.response_body == "y" * webhook_jobs.RESPONSE_KEEP
    # Destek hung up after RESPONSE_KEEP bytes: the receiver never wrote its whole answer.
    assert receiver.wrote_all is False


@pytest.mark.django_db
def test_a_slow_dripping_receiver_is_cut_off_at_the_deadline_and_retried(
    allow_private: None, receiver: Receiver, admin: Any, customer: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(webhook_jobs, "SEND_DEADLINE", 1.0)
    add_target(admin, receiver.url, ["ticket.created"])
    receiver.answer_body = b"z" * 40
    receiver.drip_seconds = 4.0
    started = time.monotonic()
    customer.file_ticket()
    assert time.monotonic() - started < 3.5
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    assert "within" in delivery.error


@pytest.mark.django_db
def test_a_send_whose_claim_was_taken_back_does_not_overwrite_the_new_claim(
    allow_private: None, receiver: Receiver, admin: Any, customer: Any, monkeypatch: Any
) -> None:
    add_target(admin, receiver.url, ["ticket.created"])
    real_post = webhook_jobs._post
    second_claim = timezone.now() + timedelta(minutes=3)

    def sweep_takes_it_back_meanwhile(delivery: WebhookDelivery) -> tuple[int, str]:
        answer = real_post(delivery)
        # Another worker re-claimed the delivery while this (slow) send was going on.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_at=second_claim)
        return answer

    monkeypatch.setattr(webhook_jobs, "_post", sweep_takes_it_back_meanwhile)
    customer.file_ticket()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.claimed_at) == ("sending", second_claim)


@pytest.mark.django_db
def test_deliveries_of_an_inactive_target_are_failed_and_not_sent_when_it_is_back(
    allow_private: None, receiver: Receiver, admin: Any, customer: Any
) -> None:
    target = add_target(admin, receiver.url, ["ticket.created"])
    receiver.answers = [500]
    customer.file_ticket()
    WebhookTarget.objects.filter(pk=target["id"]).update(active=False)
    webhook_jobs.sweep(timezone.now() + timedelta(hours=2))
    WebhookTarget.objects.filter(pk=target["id"]).update(active=True)
    webhook_jobs.sweep(timezone.now() + timedelta(hours=3))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.error) == ("failed", "target inactive")
    assert len(receiver.requests) == 1


def test_6to4_addresses_carrying_a_private_ipv4_are_refused() -> None:
    import ipaddress

    from destek.automation.webhook_safety import is_public

    assert not is_public(ipaddress.ip_address("2002:0a01:0203::1"))
    assert not is_public(ipaddress.ip_address("2002:7f00:0001::1"))
    assert is_public(ipaddress.ip_address("2002:0808:0808::1"))


def test_an_ipv6_literal_host_keeps_its_brackets_in_the_host_header() -> None:
    url, host, _sni = webhook_jobs._pinned("https://[2001:db8::1]:8443/hook", "2001:db8::1")
    assert host == "[2001:db8::1]:8443"
    assert url == "https://[2001:db8::1]:8443/hook"
    _url, host, _sni = webhook_jobs._pinned("https://[2001:db8::1]/hook", "2001:db8::1")
    assert host == "[2001:db8::1]"


@pytest.mark.django_db(transaction=True)
def test_a_process_still_caching_a_deleted_target_can_write_ticket_changes(
    allow_private: None, receiver: Receiver, admin: Any, customer: Any
) -> None:
    from django.db import transaction

    from destek.automation import webhooks
    from destek.tickets.models import Ticket

    target = add_target(admin, receiver.url, ["ticket.updated"])
    customer.file_ticket()
    stale = list(webhooks._load_targets())  # what another process still has in its cache
    assert admin.delete(f"webhooks/{target['id']}").status_code == 204
    assert admin.get("webhooks").json()["items"] == []

    with transaction.atomic():  # committed: the foreign key is checked
        webhooks.queue("ticket.updated", Ticket.objects.get(), {}, targets=stale)

    webhook_jobs.sweep()
    assert list(WebhookDelivery.objects.values_list("status", "error")) == [
        ("failed", "target inactive")
    ]
    assert receiver.events() == []
