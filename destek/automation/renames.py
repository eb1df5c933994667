"""Rules name a department by its slug, an agent by their e-mail and an organisation by its
name (a rule is JSON, read whole): when an admin renames one, the rules follow in the same
transaction, so a department's routing, an agent's assignments and an organisation's rules
keep working under the new name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Model
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


@dataclass(frozen=True)
class _Named:
    """A model field rules name things by: its value is read before a save, and after it the
    rules naming the old value are rewritten (`rename`). `applies` skips instances no rule
    can name; `normal` is how values compare (addresses in lower case)."""

    model: type[Model]
    field: str
    rename: Callable[[str, str], int]
    applies: Callable[[Any], bool] = lambda instance: True
    normal: Callable[[str], str] = lambda value: value

    def before(self, sender: Any, instance: Any, **kwargs: Any) -> None:
        # A save that does not write the field (a sign-in saving `last_login`) costs nothing.
        fields = kwargs.get("update_fields")
        if (
            instance.pk is None
            or not self.applies(instance)
            or (fields is not None and self.field not in fields)
        ):
            return
        instance._named_before = (
            self.model._default_manager.filter(pk=instance.pk)
            .values_list(self.field, flat=True)
            .first()
        )

    def after(self, sender: Any, instance: Any, **kwargs: Any) -> None:
        old, new = getattr(instance, "_named_before", None), getattr(instance, self.field)
        if old and self.normal(old) != self.normal(new):
            self.rename(self.normal(old), self.normal(new))
        instance._named_before = new


_NAMED = (
    _Named(Department, "slug", rename_department),
    # Only an agent's address can be in a rule.
    _Named(User, "email", rename_agent, applies=lambda user: user.is_agent, normal=str.lower),
    _Named(Organisation, "name", rename_organisation),
)


def connect() -> None:
    for named in _NAMED:
        uid = f"automation.renames.{named.model.__name__}"
        pre_save.connect(named.before, sender=named.model, dispatch_uid=f"{uid}.before")
        post_save.connect(named.after, sender=named.model, dispatch_uid=f"{uid}.after")
