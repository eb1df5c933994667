"""The demo data `make run` loads (DESTEK_DEMO=1). Safe to load twice."""

from __future__ import annotations

from datetime import time

from django.db import transaction

from destek.accounts.choices import Role, Tier
from destek.accounts.models import CustomerNote, Organisation, OrganisationDomain, User
from destek.automation.models import Rule, RuleKind
from destek.demo.automation import load_automation
from destek.demo.macros import load_macros
from destek.demo.status import load_status
from destek.demo.surveys import seed_survey_answers
from destek.demo.tickets import load_sample_tickets
from destek.kb.actions import load_content
from destek.sla.models import Calendar, WeeklyHours
from destek.tickets.choices import Channel, IntakeRuleCode, Priority
from destek.tickets.models import Department, IntakeRule, Membership, Policy

PASSWORD = "demo"  # noqa: S105  (the documented demo password)

USERS = [
    # email, name, role, tier, language, department
    ("admin@example.com", "Aysel Admin", Role.ADMIN, Tier.STANDARD, "az", None),
    ("agent@example.com", "Tural Texniki", Role.AGENT, Tier.STANDARD, "az", "technical"),
    ("finance@example.com", "Fidan Maliyyə", Role.AGENT, Tier.STANDARD, "az", "finance"),
    ("customer@example.com", "Kamran Müştəri", Role.CUSTOMER, Tier.STANDARD, "az", None),
    ("customer2@example.com", "Olga Клиент", Role.CUSTOMER, Tier.STANDARD, "ru", None),
    ("vip@example.com", "Vusal VIP", Role.CUSTOMER, Tier.VIP, "en", None),
]

PAYMENT_WORDS = """payment
paid
refund
Ödəniş
ödəmə
Оплата
платеж
платёж
Ödeme
fatura
پرداخت"""

DOWN_WORDS = """service is down
site is down
is not working at all
completely down
xidmət işləmir
sayt işləmir
tamamilə işləmir
сервис не работает
сайт не работает
полностью не работает
hizmet çalışmıyor
site çalışmıyor
tamamen kullanılamıyor
سرویس کار نمی‌کند
سایت کار نمی‌کند
سامانه از دسترس خارج"""


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


#: The demo departments' and service-level policies' names in the five languages (seeds 004
#: and 003: "Teknik Sorunlar", "Mali Konular").
DEPARTMENT_NAMES = {
    "technical": {
        "az": "Texniki dəstək",
        "en": "Technical",
        "fa": "پشتیبانی فنی",
        "ru": "Техническая поддержка",
        "tr": "Teknik Sorunlar",
    },
    "finance": {
        "az": "Maliyyə",
        "en": "Finance",
        "fa": "امور مالی",
        "ru": "Финансовый отдел",
        "tr": "Mali Konular",
    },
}
POLICY_NAMES = {
    "VIP": {"az": "VIP", "en": "VIP", "fa": "VIP", "ru": "VIP", "tr": "VIP"},
    "Critical": {
        "az": "Kritik",
        "en": "Critical",
        "fa": "بحرانی",
        "ru": "Критический",
        "tr": "Kritik",
    },
    "High priority": {
        "az": "Yüksək prioritet",
        "en": "High priority",
        "fa": "اولویت بالا",
        "ru": "Высокий приоритет",
        "tr": "Yüksek öncelik",
    },
    "E-mail": {
        "az": "E-poçt",
        "en": "E-mail",
        "fa": "ایمیل",
        "ru": "Электронная почта",
        "tr": "E-posta",
    },
    "Chat": {
        "az": "Canlı söhbət",
        "en": "Live chat",
        "fa": "گفتگوی زنده",
        "ru": "Онлайн-чат",
        "tr": "Canlı sohbet",
    },
    "Default": {
        "az": "Standart",
        "en": "Standard",
        "fa": "استاندارد",
        "ru": "Стандартный",
        "tr": "Standart",
    },
}


def _calendar(
    name: str, time_zone: str, country: str, days: range, start: int, end: int
) -> Calendar:
    calendar, created = Calendar.objects.get_or_create(
        name=name, defaults={"time_zone": time_zone, "holiday_country": country}
    )
    if created:
        for weekday in days:
            WeeklyHours.objects.create(
                calendar=calendar, weekday=weekday, start=time(start), end=time(end % 24)
            )
    return calendar


def load_service_levels() -> None:
    """The seeds' promises: live chat 1 minute, VIP 15 minutes and critical 60 minutes around
    the clock, high 2 business hours, e-mail 3, standard 4 on Baku office hours, resolution in
    3 business days."""
    office = _calendar("Baku office", "Asia/Baku", "AZ", range(5), 9, 18)
    _calendar("Phone", "Asia/Baku", "AZ", range(5), 9, 21)
    always = _calendar("24/7", "UTC", "", range(7), 0, 24)
    day = 9 * 60
    for position, name, condition, calendar, first in (
        (10, "VIP", {"if_tier": Tier.VIP}, always, 15),
        (20, "Critical", {"if_priority": Priority.CRITICAL}, always, 60),
        (30, "High priority", {"if_priority": Priority.HIGH}, office, 120),
        (40, "E-mail", {"if_channel": Channel.EMAIL}, office, 180),
    ):
        Policy.objects.get_or_create(
            name=name,
            defaults={
                "position": position,
                **condition,
                "calendar": calendar,
                "first_response_minutes": first,
                "next_response_minutes": first,
                "resolution_minutes": 3 * day,
                "raise_priority": True,
            },
        )
    # Live chat: the first answer within a minute, around the clock (the chat calendar of the
    # demo is 24/7 too); a chat that continues as a ticket is then answered like the others.
    Policy.objects.get_or_create(
        name="Chat",
        defaults={
            "position": 5,
            "if_channel": Channel.CHAT,
            "calendar": always,
            "first_response_minutes": 1,
            "next_response_minutes": 240,
            "resolution_minutes": 3 * day,
        },
    )
    # The default policy (made by the migration) becomes the standard one on office hours.
    Policy.objects.filter(name="Default").update(
        calendar=office,
        first_response_minutes=240,
        next_response_minutes=240,
        resolution_minutes=3 * day,
    )
    for policy in Policy.objects.filter(name__in=POLICY_NAMES):
        if not policy.names:  # names an admin gave are kept
            policy.names = POLICY_NAMES[policy.name]
            policy.save(update_fields=["names"])


@transaction.atomic
def load_demo(*, knowledge_base: bool = True, sample_tickets: bool = False) -> None:
    """Departments, users, rules, service levels, macros, the knowledge base and,
    for `destek demo`, about forty sample tickets (`demo/tickets.py`).

    The test suite's `demo` fixture passes `knowledge_base=False` and leaves the tickets out:
    nearly every test loads the demo, and indexing 30+ articles in five languages would add
    about a second to each, the tickets a few more.
    """
    technical, _ = Department.objects.get_or_create(
        slug="technical", defaults={"name": "Technical", "position": 1, "asks_diagnostics": True}
    )
    finance, _ = Department.objects.get_or_create(
        slug="finance", defaults={"name": "Finance", "position": 2, "billing": True}
    )
    for named in (technical, finance):
        if not named.names:  # names an admin gave are kept
            named.names = DEPARTMENT_NAMES[named.slug]
            named.save(update_fields=["names"])
    departments = {"technical": technical, "finance": finance}
    for email, name, role, tier, language, department in USERS:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User(email=email, full_name=name, role=role, tier=tier, language=language)
            user.set_password(PASSWORD)
            user.save()
        if department:
            Membership.objects.get_or_create(
                department=departments[department], user=user, defaults={"is_lead": True}
            )
    load_service_levels()
    for code in IntakeRuleCode.values:
        IntakeRule.objects.get_or_create(code=code)
    # The intake routing: rules that run when a ticket is filed, before it is written.
    Rule.objects.get_or_create(
        name="Payments go to Finance",
        defaults={
            "kind": RuleKind.FILED,
            "position": 10,
            "conditions": [
                {"field": "text", "op": "contains", "value": _lines(PAYMENT_WORDS), "in": "subject"}
            ],
            "actions": [{"type": "set_department", "value": finance.slug}],
        },
    )
    Rule.objects.get_or_create(
        name="Service down is high priority",
        defaults={
            "kind": RuleKind.FILED,
            "position": 20,
            "conditions": [
                {"field": "text", "op": "contains", "value": _lines(DOWN_WORDS), "in": "both"}
            ],
            "actions": [{"type": "raise_priority", "value": Priority.HIGH}],
        },
    )
    Rule.objects.get_or_create(
        name="VIP customers get at least high",
        defaults={
            "kind": RuleKind.FILED,
            "position": 30,
            "conditions": [{"field": "tier", "op": "is", "value": Tier.VIP}],
            "actions": [
                {"type": "raise_priority", "value": Priority.HIGH},
                {"type": "add_tags", "value": ["vip"]},
            ],
        },
    )
    load_macros(technical, finance)
    if knowledge_base:
        load_content()
        # With the full demo only, like the articles: the suite's tests make their own.
        load_status()
        load_automation()
    if sample_tickets:
        load_sample_tickets(PASSWORD)
        load_organisation()
        seed_survey_answers(every=1)  # a handful of tickets: most answered
        load_status()  # again: now the organisation exists to use payments


#: The demo's organisation (with the sample tickets): two members, and its domain suggests
#: the other sample customers as members on its desk page.
ORGANISATION = "Caspian Logistics"
ORGANISATION_MEMBERS = ("vip@example.com", "emma@example.com")


def load_organisation() -> None:
    """An organisation with members, a domain and notes agents keep, so the desk's customer
    and organisation pages have something to show. Loading twice adds nothing."""
    organisation, _ = Organisation.objects.get_or_create(name=ORGANISATION)
    OrganisationDomain.objects.get_or_create(
        domain="example.com", defaults={"organisation": organisation}
    )
    User.objects.filter(email__in=ORGANISATION_MEMBERS, organisation__isnull=True).update(
        organisation=organisation
    )
    agent = User.objects.filter(email="agent@example.com").first()
    vip = User.objects.filter(email="vip@example.com").first()
    if agent is not None and vip is not None:
        CustomerNote.objects.get_or_create(
            customer=vip,
            body="Prefers a phone call to long e-mails; reachable after 14:00 Baku time.",
            defaults={"author": agent},
        )
