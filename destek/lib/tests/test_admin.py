"""The Django admin as an administrator in Baku, Istanbul or anywhere else sees it."""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

import pytest
from django.test import Client

from destek.accounts.models import User
from destek.sla.models import Calendar

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_in(users: dict[str, User]) -> Any:
    def make(language: str, time_zone: str = "Asia/Baku") -> Client:
        User.objects.filter(pk=users["admin"].pk).update(language=language, time_zone=time_zone)
        client = Client()
        client.force_login(users["admin"])
        return client

    return make


def select_options(page: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select, f"no select named {name}"
    return re.findall(r'<option value="([^"]*)"', select.group(1))


def test_time_zones_are_chosen_from_a_sorted_list_for_people_and_calendars(
    admin_in: Any, users: dict[str, User]
) -> None:
    admin = admin_in("en")
    zones = sorted(zoneinfo.available_timezones())
    user_page = admin.get(f"/admin/accounts/user/{users['agent'].pk}/change/").content.decode()
    assert select_options(user_page, "time_zone") == zones
    assert 'value="Asia/Baku" selected' in user_page
    calendar = Calendar.objects.get(name="Baku office")
    calendar_page = admin.get(f"/admin/sla/calendar/{calendar.pk}/change/").content.decode()
    assert select_options(calendar_page, "time_zone") == zones
    assert select_options(admin.get("/admin/sla/calendar/add/").content.decode(), "time_zone")


def test_a_typed_time_zone_that_does_not_exist_is_refused(
    admin_in: Any, users: dict[str, User]
) -> None:
    admin = admin_in("en")
    calendar = Calendar.objects.get(name="Baku office")
    answer = admin.post(
        f"/admin/sla/calendar/{calendar.pk}/change/",
        {
            "name": calendar.name,
            "time_zone": "Mars/Olympus",
            "holiday_country": "AZ",
            "hours-TOTAL_FORMS": "0",
            "hours-INITIAL_FORMS": "0",
            "dates-TOTAL_FORMS": "0",
            "dates-INITIAL_FORMS": "0",
        },
    )
    assert answer.status_code == 200 and "Select a valid choice" in answer.content.decode()
    calendar.refresh_from_db()
    assert calendar.time_zone == "Asia/Baku"


def test_the_admin_works_in_the_admins_own_time_zone_without_a_server_time_warning(
    admin_in: Any,
) -> None:
    admin = admin_in("en", "America/Argentina/Buenos_Aires")
    page = admin.get("/admin/sla/calendar/add/").content.decode()
    # Django's script compares the browser with this offset: the admin's zone, not the server's.
    assert 'data-admin-utc-offset="-10800"' in page
    assert "America/Argentina/Buenos_Aires" in page  # named at the top of every admin page
    assert "/static/destek/admin_time.js" in page  # takes away the "hours behind" notes


def test_the_admin_capitalises_the_dotted_i_as_the_language_writes_it(
    admin_in: Any, users: dict[str, User]
) -> None:
    index = admin_in("az").get("/admin/").content.decode()
    assert "İstifadəçilər" in index and "İş təqvimləri" in index
    assert "Istifadəçilər" not in index and "Iş təqvimləri" not in index
    user_page = f"/admin/accounts/user/{users['customer'].pk}/change/"
    turkish = admin_in("tr").get(user_page).content.decode()
    assert "İletişim adresleri" in turkish and "Iletişim adresleri" not in turkish
    assert "Users" in admin_in("en").get("/admin/").content.decode()


def test_the_capital_of_i_follows_the_language() -> None:
    from django.utils import translation
    from django.utils.text import capfirst

    for language, word, capital in (
        ("az", "istifadəçilər", "İstifadəçilər"),
        ("tr", "iş takvimi", "İş takvimi"),
        ("az", "ıslaq", "Islaq"),
        ("en", "issues", "Issues"),
        ("ru", "история", "История"),
    ):
        with translation.override(language):
            assert capfirst(word) == capital


def test_no_model_in_the_azerbaijani_admin_is_named_in_english(admin_in: Any) -> None:
    def model_names(page: str) -> list[str]:
        return re.findall(r'<th scope="row"[^>]*>\s*<a href="[^"]*"[^>]*>([^<]+)</a>', page)

    azerbaijani = model_names(admin_in("az").get("/admin/").content.decode())
    english = model_names(admin_in("en").get("/admin/").content.decode())
    assert len(azerbaijani) == len(english) > 20
    assert "Searches" in english and "Article events" in english
    assert set(azerbaijani) & set(english) == set()


def test_the_admins_success_message_keeps_its_link_to_the_changed_object() -> None:
    from django.contrib.messages.storage.base import Message
    from django.template import Context, Template
    from django.utils.html import format_html

    # What the admin's page gets: a message object around the safe text.
    message = Message(
        25, format_html('The policy “<a href="{}">{}</a>” was changed.', "/x/", "VIP & co")
    )
    rendered = Template("{{ message|capfirst }}").render(Context({"message": message}))
    assert rendered == 'The policy “<a href="/x/">VIP &amp; co</a>” was changed.'
