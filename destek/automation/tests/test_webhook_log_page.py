"""The delivery log reads right in Persian: the delivery's id, its JSON and the receiver's
answer stay left to right on the right-to-left page, and the worker's claim is not shown."""

from __future__ import annotations

import pytest
from django.test import Client

from destek.accounts.models import User
from destek.automation.models import WebhookDelivery, WebhookTarget

pytestmark = pytest.mark.django_db


def test_a_delivery_shows_its_id_and_payload_left_to_right_in_persian(
    users: dict[str, User],
) -> None:
    target = WebhookTarget.objects.create(
        url="https://crm.example.com/destek", events=["*"], secret="s" * 32
    )
    delivery = WebhookDelivery.objects.create(
        target=target,
        event="ticket.created",
        payload={"event": "ticket.created", "ticket": {"subject": "اتصال VPN قطع می‌شود"}},
        response_status=200,
        response_body='{"ok": true}',
    )
    page = Client()
    page.force_login(users["admin"])
    page.cookies["django_language"] = "fa"
    html = page.get(f"/admin/automation/webhookdelivery/{delivery.pk}/change/").content.decode()
    assert f'<code dir="ltr">{delivery.public_id}</code>' in html
    assert '<pre dir="ltr" class="destek-code">{\n  &quot;event&quot;' in html
    assert "اتصال VPN قطع می‌شود" in html
    assert '<pre dir="ltr" class="destek-code">{&quot;ok&quot;: true}</pre>' in html
    assert "Claimed at" not in html


def test_a_delivery_the_worker_gave_up_on_says_why_in_the_readers_language(
    users: dict[str, User],
) -> None:
    from destek.automation.webhook_jobs import TARGET_INACTIVE

    target = WebhookTarget.objects.create(
        url="https://crm.example.com/destek", events=["*"], secret="s" * 32
    )
    delivery = WebhookDelivery.objects.create(
        target=target, event="ticket.created", payload={}, status="failed", error=TARGET_INACTIVE
    )
    page = Client()
    page.force_login(users["admin"])
    page.cookies["django_language"] = "ru"
    html = page.get(f"/admin/automation/webhookdelivery/{delivery.pk}/change/").content.decode()
    assert TARGET_INACTIVE not in html
    assert "Получатель отключён или удалён." in html
