"""The demo's service status: a website, an API and payments in two data centres, one
incident resolved last week (its timeline in English and Azerbaijani) and a maintenance
window in the coming days. Loading twice adds nothing."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import Permission
from django.utils import timezone

from destek.accounts.models import Organisation, User
from destek.announcements import actions
from destek.announcements.choices import AreaKind, ServiceState
from destek.announcements.models import (
    Area,
    Incident,
    Maintenance,
    Service,
    ServiceGroup,
    ServiceUser,
)
from destek.notify.actions import outbox_paused

SERVICES = [
    ("website", "Website", "Customer-facing"),
    ("api", "API", "Customer-facing"),
    ("payments", "Payments", "Billing"),
]
AREAS = [("baku-dc", "Baku DC"), ("istanbul-dc", "Istanbul DC")]
#: Names by language (the plain name above is English).
NAMES = {
    "Customer-facing": {
        "az": "Müştəri xidmətləri",
        "fa": "سرویس‌های مشتریان",
        "ru": "Для клиентов",
        "tr": "Müşteri hizmetleri",
    },
    "Billing": {"az": "Ödənişlər", "fa": "صورت‌حساب", "ru": "Оплата", "tr": "Faturalama"},
    "website": {"az": "Sayt", "fa": "وب‌سایت", "ru": "Сайт", "tr": "Web sitesi"},
    "api": {"fa": "API", "ru": "API"},
    "payments": {"az": "Ödənişlər", "fa": "پرداخت‌ها", "ru": "Платежи", "tr": "Ödemeler"},
    "baku-dc": {"az": "Bakı DM", "fa": "مرکز دادهٔ باکو", "ru": "ЦОД Баку", "tr": "Bakü VM"},
    "istanbul-dc": {
        "az": "İstanbul DM",
        "fa": "مرکز دادهٔ استانبول",
        "ru": "ЦОД Стамбул",
        "tr": "İstanbul VM",
    },
}


def load_status() -> None:
    """The sample status, told to nobody (its history is made through the real actions)."""
    with outbox_paused():
        _load_status()


def _load_status() -> None:
    groups: dict[str, ServiceGroup] = {}
    for position, name in enumerate(("Customer-facing", "Billing")):
        groups[name], _ = ServiceGroup.objects.get_or_create(
            name=name, defaults={"position": position, "names": NAMES[name]}
        )
    now = timezone.now()
    for position, (slug, name, group) in enumerate(SERVICES):
        Service.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "names": NAMES[slug],
                "group": groups[group],
                "position": position,
                # Its history starts before the incident, so its uptime counts it.
                "created_at": now - timedelta(days=30),
            },
        )
    for position, (slug, name) in enumerate(AREAS):
        Area.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "names": NAMES[slug],
                "kind": AreaKind.DATA_CENTRE,
                "position": position,
            },
        )
    admin = User.objects.filter(email="admin@example.com").first()
    if not Incident.objects.exists():
        started = now - timedelta(days=6, hours=3)
        incident = actions.create_incident(
            admin,
            title={
                "en": "Card payments failing in Baku",
                "az": "Bakıda kartla ödənişlər alınmır",
            },
            body={
                "en": "Card payments fail for some customers. We are investigating.",
                "az": "Bəzi müştərilər üçün kartla ödənişlər alınmır. Araşdırırıq.",
            },
            services=["payments"],
            areas=["baku-dc"],
            impact=ServiceState.PARTIAL_OUTAGE,
            at=started,
        )
        actions.add_incident_update(
            admin,
            incident,
            body={
                "en": "The bank's gateway rejects our certificate; a new one is being issued.",
                "az": "Bankın şlüzü sertifikatımızı qəbul etmir; yenisi verilir.",
            },
            state="identified",
            at=started + timedelta(minutes=25),
        )
        actions.add_incident_update(
            admin,
            incident,
            body={
                "en": "Payments work again. Payments that failed can be retried.",
                "az": "Ödənişlər yenidən işləyir. Alınmayan ödənişləri təkrarlaya bilərsiniz.",
            },
            state="resolved",
            at=started + timedelta(hours=1, minutes=10),
        )
    if not Maintenance.objects.exists():
        starts = (now + timedelta(days=2)).replace(hour=22, minute=0, second=0, microsecond=0)
        actions.schedule_maintenance(
            admin,
            title={
                "en": "Database upgrade in Istanbul",
                "tr": "İstanbul'da veritabanı güncellemesi",
                "ru": "Обновление базы данных в Стамбуле",
            },
            body={
                "en": "The website and the API may be unavailable for up to an hour.",
                "tr": "Web sitesi ve API bir saate kadar kullanılamayabilir.",
                "ru": "Сайт и API могут быть недоступны до часа.",
            },
            services=["website", "api"],
            areas=["istanbul-dc"],
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
            now=now,
        )
    # The VIP customer's organisation uses payments in Baku (notices and banners, later).
    organisation = Organisation.objects.order_by("pk").first()
    if organisation is not None:
        ServiceUser.objects.get_or_create(
            organisation=organisation, service=Service.objects.get(slug="payments")
        )
    customer = User.objects.filter(email="customer@example.com").first()
    if customer is not None:
        ServiceUser.objects.get_or_create(
            user=customer, service=Service.objects.get(slug="website")
        )
        ServiceUser.objects.get_or_create(user=customer, area=Area.objects.get(slug="baku-dc"))
    # The demo's agent may post the status, resolve an incident and answer its linked
    # tickets together (the desk's Incidents page); finance@ may not.
    agent = User.objects.filter(email="agent@example.com").first()
    if agent is not None:
        agent.user_permissions.add(
            Permission.objects.get(content_type__app_label="announcements", codename="manage")
        )
