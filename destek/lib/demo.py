"""The demo data `make run` loads (DESTEK_DEMO=1). Safe to load twice."""

from __future__ import annotations

from django.db import transaction

from destek.accounts.choices import Role, Tier
from destek.accounts.models import User
from destek.tickets.choices import IntakeRuleCode, Priority
from destek.tickets.models import Department, IntakeRule, Membership, RoutingRule

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


@transaction.atomic
def load_demo() -> None:
    technical, _ = Department.objects.get_or_create(
        slug="technical", defaults={"name": "Technical", "position": 1}
    )
    finance, _ = Department.objects.get_or_create(
        slug="finance", defaults={"name": "Finance", "position": 2}
    )
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
    for code in IntakeRuleCode.values:
        IntakeRule.objects.get_or_create(code=code)
    RoutingRule.objects.get_or_create(
        name="Payments go to Finance",
        defaults={"position": 10, "keywords": PAYMENT_WORDS, "set_department": finance},
    )
    RoutingRule.objects.get_or_create(
        name="Service down is high priority",
        defaults={
            "position": 20,
            "keywords": DOWN_WORDS,
            "match_body": True,
            "min_priority": Priority.HIGH,
        },
    )
    RoutingRule.objects.get_or_create(
        name="VIP customers get at least high",
        defaults={
            "position": 30,
            "if_tier": Tier.VIP,
            "min_priority": Priority.HIGH,
            "add_tags": "vip",
        },
    )
