"""Department and policy names in the reader's language, and canned replies in the ticket's."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import translation

from destek.accounts.models import User
from destek.tickets import actions
from destek.tickets.models import Department, Policy, Ticket

pytestmark = pytest.mark.django_db


def signed_in(user: User, language: str) -> Client:
    User.objects.filter(pk=user.pk).update(language=language)
    client = Client()
    client.force_login(user)
    return client


def filed(users: dict[str, User], language: str, subject: str = "Export fails") -> Ticket:
    return actions.create_ticket(
        customer=users["customer"],
        subject=subject,
        body=f"{subject}: it never ends.",
        channel="web",
        department=Department.objects.get(slug="technical"),
        language=language,
    )


def test_the_department_is_named_in_the_language_of_whoever_reads(
    users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        ticket = filed(users, "ru")
    desk = signed_in(users["agent"], "fa").get(f"/desk/tickets/{ticket.number}/")
    assert "پشتیبانی فنی" in desk.content.decode()
    form = signed_in(users["customer"], "ru").get("/my/tickets/new/").content.decode()
    assert "Техническая поддержка" in form and "Финансовый отдел" in form
    to_agent = [m for m in mail.outbox if m.to == ["agent@example.com"]]
    assert to_agent and "Texniki dəstək" in to_agent[0].body  # the agent reads Azerbaijani
    with translation.override("tr"):
        assert str(Department.objects.get(slug="finance")) == "Mali Konular"
        assert str(Policy.objects.get(name="High priority")) == "Yüksek öncelik"
    assert Department.objects.get(slug="finance").display_name("xx") == "Finance"


def test_an_admin_names_a_department_in_each_language(users: dict[str, User]) -> None:
    admin = signed_in(users["admin"], "en")
    department = Department.objects.get(slug="finance")
    page = admin.get(f"/admin/tickets/department/{department.pk}/change/").content.decode()
    assert 'name="name_fa"' in page and 'value="امور مالی"' in page
    answer = admin.post(
        f"/admin/tickets/department/{department.pk}/change/",
        {
            "name": "Finance",
            "name_az": "Maliyyə şöbəsi",
            "name_en": "",
            "name_fa": "حسابداری",
            "name_ru": "Бухгалтерия",
            "name_tr": "Muhasebe",
            "slug": "finance",
            "email": "",
            "reopen_window_days": "30",
            "position": "2",
            "billing": "on",
            "membership_set-TOTAL_FORMS": "0",
            "membership_set-INITIAL_FORMS": "0",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    department.refresh_from_db()
    assert department.names == {
        "az": "Maliyyə şöbəsi",
        "fa": "حسابداری",
        "ru": "Бухгалтерия",
        "tr": "Muhasebe",
    }
    assert department.display_name("en") == "Finance"


def macro_names(page: str) -> list[str]:
    select = re.search(r'<select id="macro-select".*?</select>', page, re.S)
    assert select
    return [t.split(" · ")[0] for t in re.findall(r"<option value=\"\d+\"[^>]*>([^<]+)", select[0])]


def test_the_desk_offers_the_macros_with_a_reply_in_the_tickets_language(
    users: dict[str, User],
) -> None:
    from destek.automation.models import Macro, MacroText

    thanks = Macro.objects.create(name="Any language: thanks", position=1)
    MacroText.objects.create(macro=thanks, body="🙏")
    only_russian = Macro.objects.create(name="Only in Russian")
    MacroText.objects.create(macro=only_russian, language="ru", body="Спасибо, {customer_name}!")
    desk = signed_in(users["agent"], "en")
    russian = filed(users, "ru", "Экспорт не работает")
    names = macro_names(desk.get(f"/desk/tickets/{russian.number}/").content.decode())
    # Those with a Russian text first, then the one for any language; named in English,
    # the language the agent reads the desk in.
    assert names[:4] == [
        "Greeting: we are on it",
        "Only in Russian",
        "Need more details",
        "Outage acknowledged",
    ]
    assert names[-1] == "Any language: thanks"
    persian = filed(users, "fa", "خروجی گرفتن کار نمی‌کند")
    names = macro_names(desk.get(f"/desk/tickets/{persian.number}/").content.decode())
    assert "Greeting: we are on it" in names and "Only in Russian" not in names
    # A macro whose reply is in another language cannot be applied on this ticket either.
    desk.post(f"/desk/tickets/{persian.number}/macros/{only_russian.pk}/apply/")
    assert not persian.messages.filter(body__startswith="Спасибо").exists()
    # In Persian, the desk names the macros in Persian, and the reply is the Persian one.
    persian_desk = signed_in(users["agent"], "fa")
    names = macro_names(persian_desk.get(f"/desk/tickets/{persian.number}/").content.decode())
    assert "خوشامد: در حال بررسی هستیم" in names
    greeting = Macro.objects.get(name="Greeting: we are on it")
    persian_desk.post(f"/desk/tickets/{persian.number}/macros/{greeting.pk}/apply/")
    assert persian.messages.filter(body__contains="در حال بررسی است").exists()
