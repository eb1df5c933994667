"""Rules name a department by its slug, an agent by their e-mail and an organisation by its
name (a rule is JSON, read whole): when an admin renames one, the rules follow in the same
transaction, so a department's routing, an agent's assignments and an organisation's rules
keep working under the new name."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save, pre_save

from destek.accounts.models import Organisation, User
from destek.automation.models import Rule
from destek.tickets.models import Department

#: The actions whose value is a department's slug.
_DEPARTMENT_ACTIONS = ("set_department", "mail_department")


def _renamed(values: Any, old: str, new: str) -> Any:
    if isinstance(values, list):
        return [new if value == old else value for value in values]
    return new if values == old else values


def _conditions_renamed(conditions: list[Any], field: str, old: str, new: str) -> list[Any]:
    return [
        {**item, "value": _renamed(item.get("value"), old, new)}
        if isinstance(item, dict) and item.get("field") == field
        else item
        for item in conditions
    ]


def rename_department(old: str, new: str) -> int:
    """Rewrite every rule naming department `old` to name `new`; the number of rules."""
    changed = 0
    for rule in Rule.objects.all():
        conditions = _conditions_renamed(rule.conditions, "department", old, new)
        actions = [
            {**item, "value": _renamed(item.get("value"), old, new)}
            if isinstance(item, dict) and item.get("type") in _DEPARTMENT_ACTIONS
            else item
            for item in rule.actions
        ]
        if (conditions, actions) != (rule.conditions, rule.actions):
            rule.conditions, rule.actions = conditions, actions
            rule.save(update_fields=["conditions", "actions"])
            changed += 1
    return changed


def rename_organisation(old: str, new: str) -> int:
    """Rewrite every rule looking at organisation `old` to look at `new`."""
    changed = 0
    for rule in Rule.objects.all():
        conditions = _conditions_renamed(rule.conditions, "organisation", old, new)
        if conditions != rule.conditions:
            rule.conditions = conditions
            rule.save(update_fields=["conditions"])
            changed += 1
    return changed


def rename_agent(old: str, new: str) -> int:
    """Rewrite every rule assigning to the agent `old` (an e-mail) to assign to `new`."""
    changed = 0
    for rule in Rule.objects.all():
        actions = [
            {**item, "value": new}
            if isinstance(item, dict)
            and item.get("type") == "assign"
            and str(item.get("value", "")).lower() == old
            else item
            for item in rule.actions
        ]
        if actions != rule.actions:
            rule.actions = actions
            rule.save(update_fields=["actions"])
            changed += 1
    return changed


def _department_before(sender: Any, instance: Department, **kwargs: Any) -> None:
    fields = kwargs.get("update_fields")
    if instance.pk is None or (fields is not None and "slug" not in fields):
        return
    instance._slug_before = (  # type: ignore[attr-defined]
        Department.objects.filter(pk=instance.pk).values_list("slug", flat=True).first()
    )


def _department_after(sender: Any, instance: Department, **kwargs: Any) -> None:
    old = getattr(instance, "_slug_before", None)
    if old and old != instance.slug:
        rename_department(old, instance.slug)
    instance._slug_before = instance.slug  # type: ignore[attr-defined]


def _organisation_before(sender: Any, instance: Organisation, **kwargs: Any) -> None:
    fields = kwargs.get("update_fields")
    if instance.pk is None or (fields is not None and "name" not in fields):
        return
    instance._name_before = (  # type: ignore[attr-defined]
        Organisation.objects.filter(pk=instance.pk).values_list("name", flat=True).first()
    )


def _organisation_after(sender: Any, instance: Organisation, **kwargs: Any) -> None:
    old = getattr(instance, "_name_before", None)
    if old and old != instance.name:
        rename_organisation(old, instance.name)
    instance._name_before = instance.name  # type: ignore[attr-defined]


def _agent_before(sender: Any, instance: User, **kwargs: Any) -> None:
    # Only an agent's address can be in a rule; a sign-in saving `last_login` costs nothing.
    fields = kwargs.get("update_fields")
    if (
        instance.pk is None
        or not instance.is_agent
        or (fields is not None and "email" not in fields)
    ):
        return
    instance._email_before = (  # type: ignore[attr-defined]
        User.objects.filter(pk=instance.pk).values_list("email", flat=True).first()
    )


def _agent_after(sender: Any, instance: User, **kwargs: Any) -> None:
    old = getattr(instance, "_email_before", None)
    if old and old.lower() != instance.email.lower():
        rename_agent(old.lower(), instance.email.lower())
    instance._email_before = instance.email  # type: ignore[attr-defined]


def connect() -> None:
    pre_save.connect(_department_before, sender=Department, dispatch_uid="automation.renames.d0")
    post_save.connect(_department_after, sender=Department, dispatch_uid="automation.renames.d1")
    pre_save.connect(_agent_before, sender=User, dispatch_uid="automation.renames.a0")
    post_save.connect(_agent_after, sender=User, dispatch_uid="automation.renames.a1")
    pre_save.connect(
        _organisation_before, sender=Organisation, dispatch_uid="automation.renames.o0"
    )
    post_save.connect(
        _organisation_after, sender=Organisation, dispatch_uid="automation.renames.o1"
    )
