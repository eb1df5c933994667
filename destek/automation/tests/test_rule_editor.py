"""The admin's rule editor: rows of conditions and actions, stored as the rule's JSON, and the
`call_webhook` action sending a signed `rule.triggered` to one target."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import signed_in_client
from destek.accounts.models import User
from destek.automation.conditions import OPS, action_types, condition_fields
from destek.automation.models import Rule, WebhookDelivery, WebhookTarget
from destek.automation.tests.test_webhooks import Receiver, add_target, verify
from destek.tickets.models import Department, Ticket

pytestmark = pytest.mark.django_db

ADD = "/admin/automation/rule/add/"


def form(**rows: Any) -> dict[str, Any]:
    """A post of the add form: the rule's own fields, then `rows` (the editor's inputs)."""
    return {
        "name": "Outages",
        "kind": "created",
        "match": "all",
        "position": 0,
        "enabled": "on",
        "texts-TOTAL_FORMS": 0,
        "texts-INITIAL_FORMS": 0,
        **rows,
    }


def test_every_condition_field_and_action_of_the_schema_is_offered_in_the_editor(
    users: dict[str, User],
) -> None:
    page = signed_in_client(users["admin"]).get(ADD)
    assert page.status_code == 200
    text = page.content.decode()
    assert '<textarea name="conditions"' not in text  # no JSON to write
    for field in OPS:
        assert f'<option value="{field}"' in text
    for action in action_types():
        assert f'<option value="{action.name}"' in text
    assert '<script src="/static/automation/rule_editor.js"' in text  # ours, no CDN
    assert {f.kind for f in condition_fields()} >= {"choice", "tags", "text", "number", "words"}


def test_a_rule_made_in_persian_through_the_rows_is_stored_as_the_json_rules_read(
    users: dict[str, User],
) -> None:
    admin = signed_in_client(users["admin"], language="fa")
    page = admin.post(
        ADD,
        form(
            **{
                "conditions-TOTAL": 4,
                "conditions-0-field": "status",
                "conditions-0-op": "is",
                "conditions-0-choice-status": ["new", "pending"],
                "conditions-1-field": "text",
                "conditions-1-op": "contains",
                "conditions-1-words": "قطعی, outage",
                "conditions-1-in": "subject",
                "conditions-2-field": "hours_in_status",
                "conditions-2-op": "gte",
                "conditions-2-number": "24",
                "conditions-3-field": "",  # the empty row
                "actions-TOTAL": 5,
                "actions-0-type": "set_status",
                "actions-0-status": "closed",
                "actions-0-close_reason": "no_reply",
                "actions-1-type": "add_tags",
                "actions-1-tags": "outage, vip",
                "actions-2-type": "set_department",
                "actions-2-department": "finance",
                "actions-3-type": "note",
                "actions-3-text": "بسته شد",
                "actions-3-delete": "1",  # removed
                "actions-4-type": "mail_customer",
            }
        ),
    )
    assert page.status_code == 302, page.content.decode()[:3000]
    made = Rule.objects.get(name="Outages")
    assert made.conditions == [
        {"field": "status", "op": "is", "value": ["new", "pending"]},
        {"field": "text", "op": "contains", "value": ["قطعی", "outage"], "in": "subject"},
        {"field": "hours_in_status", "op": "gte", "value": 24},
    ]
    assert made.actions == [
        {"type": "set_status", "value": "closed", "close_reason": "no_reply"},
        {"type": "add_tags", "value": ["outage", "vip"]},
        {"type": "set_department", "value": "finance"},
        {"type": "mail_customer"},
    ]
    # The change form shows the rows back, selected, in Persian and right to left.
    page = admin.get(f"/admin/automation/rule/{made.pk}/change/")
    text = page.content.decode()
    assert 'dir="rtl"' in text
    assert "وضعیت" in text  # "Status", in Persian
    assert 'value="finance" selected' in text and 'value="no_reply" selected' in text
    assert 'value="قطعی, outage"' in text


def test_an_invalid_row_is_marked_in_the_admins_language_and_nothing_else_is_lost(
    users: dict[str, User],
) -> None:
    admin = signed_in_client(users["admin"], language="ru")
    page = admin.post(
        ADD,
        form(
            **{
                "conditions-TOTAL": 2,
                "conditions-0-field": "priority",
                "conditions-0-op": "is",
                "conditions-0-choice-priority": ["high"],
                "conditions-1-field": "days_in_status",
                "conditions-1-op": "gte",
                "conditions-1-number": "three",
                "actions-TOTAL": 2,
                "actions-0-type": "add_tags",
                "actions-0-tags": "late",
                "actions-1-type": "set_status",
                "actions-1-status": "closed",  # no close reason
            }
        ),
    )
    assert page.status_code == 200
    assert not Rule.objects.filter(name="Outages").exists()
    text = page.content.decode()
    # Each error sits in its own row, in Russian.
    rows = {
        row.split('data-field="')[1].split('"')[0]: row
        for row in text.split('<li class="rule-row')[1:]
    }
    assert rows["days_in_status"].startswith(" rule-row-error")
    assert "число" in rows["days_in_status"]  # "takes a number of zero or more"
    assert rows["set_status"].startswith(" rule-row-error") and "close_reason" in rows["set_status"]
    assert not rows["priority"].startswith(" rule-row-error")
    assert not rows["add_tags"].startswith(" rule-row-error")
    # What was typed is still there.
    assert 'value="high" selected' in text and 'value="three"' in text
    assert 'value="late"' in text and 'value="closed" selected' in text


def test_a_change_in_the_editor_keeps_the_other_rows_and_removes_the_one_removed(
    users: dict[str, User],
) -> None:
    made = Rule.objects.create(
        name="Tag VIPs",
        kind="created",
        conditions=[{"field": "tier", "op": "is", "value": "vip"}],
        actions=[{"type": "add_tags", "value": ["vip"]}, {"type": "set_priority", "value": "high"}],
    )
    admin = signed_in_client(users["admin"], language="az")
    page = admin.get(f"/admin/automation/rule/{made.pk}/change/")
    assert 'value="vip" selected' in page.content.decode()
    data = form(
        name="Tag VIPs",
        **{
            "conditions-TOTAL": 1,
            "conditions-0-field": "tier",
            "conditions-0-op": "is_not",
            "conditions-0-choice-tier": ["standard"],
            "actions-TOTAL": 3,
            "actions-0-type": "add_tags",
            "actions-0-tags": "vip",
            "actions-0-delete": "1",
            "actions-1-type": "set_priority",
            "actions-1-priority": "critical",
            "actions-2-type": "assign",
            "actions-2-agent": users["agent"].email,
        },
    )
    assert admin.post(f"/admin/automation/rule/{made.pk}/change/", data).status_code == 302
    made.refresh_from_db()
    assert made.conditions == [{"field": "tier", "op": "is_not", "value": ["standard"]}]
    assert made.actions == [
        {"type": "set_priority", "value": "critical"},
        {"type": "assign", "value": users["agent"].email},
    ]


def test_a_rule_without_actions_is_refused_by_the_editor(users: dict[str, User]) -> None:
    page = signed_in_client(users["admin"], language="tr").post(
        ADD, form(**{"conditions-TOTAL": 0, "actions-TOTAL": 1, "actions-0-type": ""})
    )
    assert page.status_code == 200 and not Rule.objects.filter(name="Outages").exists()
    assert "errorlist" in page.content.decode()


# --- call_webhook ----------------------------------------------------------------------------


def test_a_rule_calls_a_webhook_target_that_did_not_ask_for_the_event_signed(
    settings: Any, receiver: Receiver, admin: Any, customer: Any, users: dict[str, User]
) -> None:
    settings.DESTEK_WEBHOOKS_ALLOW_PRIVATE = True
    target = add_target(admin, receiver.url, ["survey.answered"])
    other = add_target(admin, receiver.url + "&other=1", ["survey.answered"])
    editor = signed_in_client(users["admin"], language="fa")
    page = editor.get(ADD)
    assert f"#{target['id']} {receiver.url}".replace("&", "&amp;") in page.content.decode()
    page = editor.post(
        ADD,
        form(
            name="Tell the CRM",
            **{
                "conditions-TOTAL": 1,
                "conditions-0-field": "text",
                "conditions-0-op": "contains",
                "conditions-0-words": "outage",
                "conditions-0-in": "both",
                "actions-TOTAL": 2,
                "actions-0-type": "call_webhook",
                "actions-0-target": str(target["id"]),
                "actions-1-type": "add_tags",
                "actions-1-tags": "crm",
            },
        ),
    )
    assert page.status_code == 302, page.content.decode()[:3000]
    assert Rule.objects.get(name="Tell the CRM").actions[0] == {
        "type": "call_webhook",
        "target": target["id"],
    }

    number = customer.file_ticket(subject="Outage in Baku")["number"]
    customer.file_ticket(subject="Invoice question")

    assert receiver.events() == ["rule.triggered"]
    request = receiver.requests[0]
    assert verify(target["secret"], request["headers"]["X-Destek-Signature"], request["body"])
    payload = json.loads(request["body"])
    assert payload["event"] == "rule.triggered" and payload["rule"] == "Tell the CRM"
    assert (payload["ticket"]["number"], payload["ticket"]["subject"]) == (number, "Outage in Baku")
    delivery = WebhookDelivery.objects.get(event="rule.triggered")
    assert (delivery.target_id, delivery.status) == (target["id"], "delivered")
    assert not WebhookDelivery.objects.filter(target_id=other["id"]).exists()


def test_a_rule_calling_a_switched_off_target_sends_nothing_and_still_makes_its_changes(
    settings: Any, admin: Any, customer: Any
) -> None:
    settings.DESTEK_WEBHOOKS_ALLOW_PRIVATE = True
    target = add_target(admin, "http://127.0.0.1:9/hook", ["ticket.created"])
    rule = Rule(
        name="Tell the CRM",
        kind="created",
        actions=[
            {"type": "call_webhook", "target": target["id"]},
            {"type": "add_tags", "value": "x"},
        ],
    )
    rule.full_clean()
    rule.save()
    switched_off = WebhookTarget.objects.get(pk=target["id"])
    switched_off.active = False
    switched_off.save()  # as the admin does (the targets cache is told)
    number = customer.file_ticket(subject="Anything")["number"]
    assert not WebhookDelivery.objects.filter(event="rule.triggered").exists()
    ticket = Ticket.objects.get(number=number)
    assert set(ticket.tags.values_list("name", flat=True)) == {"x"}


def test_the_editor_offers_only_active_targets_and_refuses_another(
    settings: Any, admin: Any, users: dict[str, User]
) -> None:
    settings.DESTEK_WEBHOOKS_ALLOW_PRIVATE = True
    target = add_target(admin, "http://127.0.0.1:9/hook", ["ticket.created"])
    WebhookTarget.objects.filter(pk=target["id"]).update(active=False)
    editor = signed_in_client(users["admin"])
    assert "127.0.0.1:9/hook" not in editor.get(ADD).content.decode()
    page = editor.post(
        ADD,
        form(**{"actions-TOTAL": 1, "actions-0-type": "call_webhook", "actions-0-target": "999"}),
    )
    assert page.status_code == 200 and "Choose an active webhook target." in page.content.decode()
    assert "A rule needs at least one action." not in page.content.decode()  # said once, why
    assert Department.objects.exists()


@pytest.mark.parametrize("number", ["nan", "inf", "-inf", "1e999"])
def test_a_number_that_is_not_a_number_is_refused_in_its_row_not_stored(
    users: dict[str, User], number: str
) -> None:
    page = signed_in_client(users["admin"]).post(
        ADD,
        form(
            **{
                "conditions-TOTAL": 1,
                "conditions-0-field": "hours_in_status",
                "conditions-0-op": "gte",
                "conditions-0-number": number,
                "actions-TOTAL": 1,
                "actions-0-type": "add_tags",
                "actions-0-tags": "late",
            }
        ),
    )
    # NaN and infinity are no JSON PostgreSQL stores: the row says so, nothing is saved.
    assert page.status_code == 200
    assert "takes a number of zero or more" in page.content.decode()
    assert not Rule.objects.filter(name="Outages").exists()


def test_words_and_tags_a_persian_admin_separates_with_the_persian_comma_are_separate(
    users: dict[str, User],
) -> None:
    page = signed_in_client(users["admin"], language="fa").post(
        ADD,
        form(
            **{
                "conditions-TOTAL": 1,
                "conditions-0-field": "text",
                "conditions-0-op": "contains",
                "conditions-0-words": "بازپرداخت، قطعی,outage",
                "conditions-0-in": "both",
                "actions-TOTAL": 1,
                "actions-0-type": "add_tags",
                "actions-0-tags": "پول، فوری",
            }
        ),
    )
    assert page.status_code == 302, page.content.decode()[:2000]
    made = Rule.objects.get(name="Outages")
    assert made.conditions[0]["value"] == ["بازپرداخت", "قطعی", "outage"]
    assert made.actions[0]["value"] == ["پول", "فوری"]


def test_a_persian_admin_reads_row_errors_with_the_editors_names_not_json_keys(
    users: dict[str, User],
) -> None:
    page = signed_in_client(users["admin"], language="fa").post(
        ADD,
        form(
            **{
                "conditions-TOTAL": 1,
                "conditions-0-field": "hours_in_status",
                "conditions-0-op": "gte",
                "conditions-0-number": "",
                "actions-TOTAL": 3,
                "actions-0-type": "note",
                "actions-0-text": "",
                "actions-1-type": "set_status",
                "actions-1-status": "closed",
                "actions-2-type": "call_webhook",
                "actions-2-target": "",
            }
        ),
    )
    assert page.status_code == 200
    text = page.content.decode()
    errors = " ".join(
        part.split("</li>", 1)[0] for part in text.split('<ul class="errorlist"><li>')[1:]
    )
    for code in ("note", "value", "close_reason", "no_reply", "hours_in_status", "call_webhook"):
        assert code not in errors, errors
    assert "یادداشت" in errors  # "Add an internal note", in Persian
