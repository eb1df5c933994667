"""Pages read as people read: dates in the reader's language, case and calendar, Persian
digits on a Persian page, and left-to-right words kept whole inside Persian text."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from destek.accounts.models import User
from destek.lib.bidi import isolate_html, isolate_text


def signed_in(user: Any, language: str) -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


def test_a_persian_customer_reads_solar_hijri_dates_with_persian_digits(
    customer: Any, users: dict[str, User]
) -> None:
    number = customer.file_ticket(subject="پرداخت با کارت انجام نشد", body="کارت من رد شد")[
        "number"
    ]
    page = signed_in(users["customer"], "fa").get(f"/my/tickets/{number}/")
    html = page.content.decode()
    assert "۱۴۰" in html  # the Solar Hijri year, in Persian digits
    assert f"<bdi>#{number}".translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")) in html
    assert "تا " in html and "پاسخ می‌دهیم" in html


def test_a_persian_customer_may_switch_to_the_gregorian_calendar(
    customer: Any, users: dict[str, User]
) -> None:
    user = users["customer"]
    user.calendar = "gregorian"
    user.save(update_fields=["calendar"])
    number = customer.file_ticket(subject="پرداخت با کارت انجام نشد", body="کارت من رد شد")[
        "number"
    ]
    html = signed_in(user, "fa").get(f"/my/tickets/{number}/").content.decode()
    assert "۲۰۲" in html  # a Gregorian year in Persian digits


def test_a_russian_customer_reads_the_answer_time_in_the_genitive(
    customer: Any, users: dict[str, User]
) -> None:
    number = customer.file_ticket(subject="Не проходит оплата картой", body="Карта отклонена")[
        "number"
    ]
    html = signed_in(users["customer"], "ru").get(f"/my/tickets/{number}/").content.decode()
    assert "Мы ответим до " in html
    for nominative in ("Понедельник", "Вторник", "Среда", "Четверг", "Пятница", "Суббота"):
        assert "до " + nominative not in html


def test_the_desk_clock_reads_like_people_talk(customer: Any, users: dict[str, User]) -> None:
    number = customer.file_ticket(subject="Server does not boot", body="Since the update")["number"]
    html = signed_in(users["agent"], "en").get(f"/desk/tickets/{number}/").content.decode()
    assert "business minutes" not in html
    badge = re.search(r'<li class="badge">First response: ([^<]*)</li>', html)
    assert badge, "the first-response clock is shown"
    assert re.fullmatch(r"(\d+ hrs?(, \d+ mins?)?|\d+ mins?) left|overdue by .+", badge.group(1))


def test_latin_words_inside_persian_text_are_isolated() -> None:
    html = isolate_text("پرداخت با 3-D Secure تأیید شد، تیکت #123456")
    assert "<bdi>3-D Secure</bdi>" in html
    assert "<bdi>#123456</bdi>" in html


def test_isolation_leaves_text_without_right_to_left_letters_alone() -> None:
    assert isolate_html("Pay with 3-D Secure") == "Pay with 3-D Secure"


def test_isolation_escapes_what_it_is_given_as_text() -> None:
    html = isolate_text("سلام <script>alert(1)</script>")
    assert "<script" not in html and "&lt;" in html


def test_a_persian_article_keeps_3d_secure_whole(client: Client, demo: None) -> None:
    from django.urls import reverse

    from destek.kb.actions import load_content
    from destek.kb.models import Translation

    load_content()
    page = Translation.objects.filter(language="fa", body__contains="3-D Secure").first()
    assert page is not None
    html = client.get(reverse("kb:article", args=["fa", page.slug])).content.decode()
    assert "<bdi>3-D Secure</bdi>" in html


def test_when_a_critical_problem_started_reads_as_a_date_in_the_readers_language() -> None:
    from django.utils import translation

    from destek.tickets.details import labelled

    with translation.override("ru"):
        rows = dict(labelled({"started_at": "2026-12-03T21:30", "time_zone": "Asia/Baku"}))
    assert "3 декабря 2026" in " ".join(str(v) for v in rows.values())
    assert "T21:30" not in " ".join(str(v) for v in rows.values())
