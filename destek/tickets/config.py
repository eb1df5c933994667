"""The admin's ticket configuration, read once per process (`destek.lib.config_cache`).

Departments and who works in them, intake rules, SLA policies (the calendars'
schedules are kept by `destek.tickets.clocks`). Saving any of them, in the admin or anywhere,
bumps the configuration version. People (users) are never kept here, so a deactivated agent
is seen at once."""

from __future__ import annotations

from destek.lib import config_cache
from destek.sla.models import Calendar, CalendarDate, WeeklyHours
from destek.tickets.models import (
    Department,
    IntakeRule,
    Membership,
    Policy,
    departments_of_agents,
)


def watch() -> None:
    """Connected once, when the app is ready."""
    config_cache.watch(
        Department,
        Membership,
        IntakeRule,
        Policy,
        Calendar,
        WeeklyHours,
        CalendarDate,
    )


def departments() -> list[Department]:
    """Every department, in the admin's order."""
    return config_cache.cached(
        "tickets:departments", lambda: list(Department.objects.order_by("position", "pk"))
    )


def default_department() -> Department | None:
    """Where a ticket goes when nobody chose: the first department."""
    return next(iter(departments()), None)


def department_by_slug(slug: str) -> Department | None:
    return next((d for d in departments() if d.slug == slug), None)


def department_by_id(pk: int) -> Department | None:
    return next((d for d in departments() if d.pk == pk), None)


def department_addresses() -> dict[str, int]:
    """The departments' own mail addresses (lower case) and whose they are."""
    return {d.email.strip().lower(): d.pk for d in departments() if d.email.strip()}


def works_in(user_id: int, department_id: int) -> bool:
    return department_id in departments_of_agents().get(user_id, ())


def disabled_intake_rules() -> frozenset[str]:
    return config_cache.cached(
        "tickets:intake_disabled",
        lambda: frozenset(IntakeRule.objects.filter(enabled=False).values_list("code", flat=True)),
    )


def intake_rule(code: str) -> IntakeRule | None:
    rules = config_cache.cached(
        "tickets:intake_rules", lambda: {rule.code: rule for rule in IntakeRule.objects.all()}
    )
    return rules.get(code)


def policies() -> list[Policy]:
    """Enabled SLA policies in order."""
    return config_cache.cached(
        "tickets:policies",
        lambda: list(Policy.objects.filter(enabled=True).order_by("position", "pk")),
    )
