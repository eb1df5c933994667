"""The rule editor of the admin: rows of conditions and of actions instead of JSON.

Server-rendered and usable without JavaScript: each row posts its field (or type), operator
and a value input for every kind of value; only the one the field takes is read. A small
script of ours (`automation/rule_editor.js`) adds and removes rows and shows only the value
input the field takes. What the rows post is turned into the very JSON the model stores, and
each row is checked by the parsers of `automation.conditions`, its error shown next to it.
The fields, operators and actions come from the schema of `automation.conditions`
(`condition_fields`, `action_types`), so a condition or an action added there appears here.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from destek.accounts.choices import Role
from destek.accounts.models import User
from destek.automation.conditions import (
    FILED_ACTION_TYPES,
    SCHEDULE_ACTION_TYPES,
    ActionSpec,
    FieldSpec,
    RuleInvalid,
    action_types,
    condition_fields,
    parse_action,
    parse_condition,
)
from destek.automation.models import Rule, WebhookTarget
from destek.tickets.choices import CloseReason, Priority, TicketStatus
from destek.tickets.routing import CONDITION_FIELDS

#: Rows read from one post at most (a form is not a bulk import).
MAX_ROWS = 50
#: The close reasons a rule may close with (`parse_action` refuses the others).
RULE_CLOSE_REASONS = (CloseReason.RESOLVED, CloseReason.NO_REPLY)


def _words(raw: str) -> list[str]:
    """Comma separated: the Latin comma or the Persian "،" (what a Persian admin types when
    the label says "با ویرگول")."""
    return [word.strip() for word in raw.replace("،", ",").split(",") if word.strip()]


def _number(raw: str) -> Any:
    raw = raw.strip().replace(",", ".")
    try:
        number = float(raw)
    except ValueError:
        return raw  # the parser says it takes a number
    return int(number) if number.is_integer() else number


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return value if isinstance(value, list) else []


def _values(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if value not in (None, "") else []
    return [str(item) for item in items]


class RowsWidget(forms.Widget):
    """Rows of conditions (`what="conditions"`) or of actions (`what="actions"`)."""

    template_name = "admin/automation/rule/editor.html"

    class Media:
        css = {"all": ("automation/rule_editor.css",)}
        js = ("automation/rule_editor.js",)

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what
        self.row_errors: dict[int, str] = {}

    # --- reading a post ---------------------------------------------------------------------

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[dict[str, Any]]:
        try:
            total = min(int(data.get(f"{name}-TOTAL", 0)), MAX_ROWS)
        except (TypeError, ValueError):
            total = 0
        read = self._condition if self.what == "conditions" else self._action
        rows = []
        for index in range(total):
            prefix = f"{name}-{index}-"
            if data.get(prefix + "delete"):
                continue
            row = read(data, prefix)
            if row is not None:
                rows.append(row)
        return rows

    def _condition(self, data: Any, prefix: str) -> dict[str, Any] | None:
        field = (data.get(prefix + "field") or "").strip()
        if not field:
            return None
        row: dict[str, Any] = {"field": field, "op": data.get(prefix + "op", "")}
        spec = {f.name: f for f in condition_fields()}.get(field)
        kind = spec.kind if spec else "words"
        if kind == "choice":
            row["value"] = data.getlist(prefix + "choice-" + field)
        elif kind == "number":
            row["value"] = _number(data.get(prefix + "number", ""))
        else:
            row["value"] = _words(data.get(prefix + "words", ""))
        if kind == "text":
            row["in"] = data.get(prefix + "in", "both")
        return row

    def _action(self, data: Any, prefix: str) -> dict[str, Any] | None:
        kind = (data.get(prefix + "type") or "").strip()
        if not kind:
            return None
        row: dict[str, Any] = {"type": kind}
        value_kind = {a.name: a.kind for a in action_types()}.get(kind, "text")
        if value_kind == "status":
            row["value"] = data.get(prefix + "status", "")
            if data.get(prefix + "close_reason"):
                row["close_reason"] = data.get(prefix + "close_reason")
        elif value_kind == "tags":
            row["value"] = _words(data.get(prefix + "tags", ""))
        elif value_kind == "target":
            raw = (data.get(prefix + "target") or "").strip()
            row["target"] = int(raw) if raw.isdigit() else raw
        elif value_kind != "none":
            row["value"] = (data.get(prefix + value_kind) or "").strip()
        return row

    # --- showing the rows -------------------------------------------------------------------

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        rows = _as_list(value)
        if self.what == "conditions":
            fields = condition_fields()
            by_name = {f.name: f for f in fields}
            shown = [self._condition_row(row, by_name) for row in rows]
            blank = self._condition_row({}, by_name)
            all_ops = list({op: label for f in fields for op, label in f.ops}.items())
            # "filed": whether a rule that runs when a ticket is filed may use it; the script
            # offers only those when that kind is chosen (the model refuses the rest anyway).
            schema = {
                f.name: {"kind": f.kind, "ops": f.ops, "filed": f.name in CONDITION_FIELDS}
                for f in fields
            }
            context.update(
                fields=fields,
                choice_fields=[f for f in fields if f.kind == "choice"],
                all_ops=all_ops,
                wheres=list(_where_labels().items()),
                add_label=_("Add a condition"),
            )
        else:
            types = action_types()
            by_kind = {a.name: a for a in types}
            shown = [self._action_row(row, by_kind) for row in rows]
            blank = self._action_row({}, by_kind)
            schema = {
                a.name: {
                    "kind": a.kind,
                    "filed": a.name in FILED_ACTION_TYPES,
                    "schedule": a.name in SCHEDULE_ACTION_TYPES,
                }
                for a in types
            }
            context.update(
                types=types,
                statuses=TicketStatus.choices,
                close_reasons=[(r.value, r.label) for r in RULE_CLOSE_REASONS],
                priorities=Priority.choices,
                departments=_departments(),
                agents=agent_choices(),
                targets=target_choices(),
                add_label=_("Add an action"),
            )
        for index, row in enumerate(shown):
            row["prefix"] = f"{name}-{index}-"
            row["error"] = self.row_errors.get(index, "")
        blank["prefix"] = f"{name}-{len(shown)}-"
        context.update(
            what=self.what,
            rows=[*shown, blank],
            template_row={**blank, "prefix": f"{name}-__i__-"},
            total=len(shown) + 1,
            schema_id=f"{name}-schema",
            schema=schema,
        )
        return context

    @staticmethod
    def _condition_row(raw: Any, fields: dict[str, FieldSpec]) -> dict[str, Any]:
        raw = raw if isinstance(raw, dict) else {}
        field = str(raw.get("field") or "")
        spec = fields.get(field)
        value = raw.get("value")
        return {
            "field": field,
            "op": str(raw.get("op") or ""),
            "kind": spec.kind if spec else "",
            "ops": spec.ops if spec else (),
            "values": _values(value) if spec and spec.kind == "choice" else [],
            "words": ", ".join(_values(value)) if not spec or spec.kind != "number" else "",
            "number": "" if value is None or not spec or spec.kind != "number" else value,
            "where": str(raw.get("in") or "both"),
        }

    @staticmethod
    def _action_row(raw: Any, types: dict[str, ActionSpec]) -> dict[str, Any]:
        raw = raw if isinstance(raw, dict) else {}
        kind = str(raw.get("type") or "")
        spec = types.get(kind)
        value = raw.get("value")
        text = ", ".join(_values(value)) if isinstance(value, list) else str(value or "")
        return {
            "type": kind,
            "kind": spec.kind if spec else "",
            "value": text,
            "close_reason": str(raw.get("close_reason") or ""),
            "target": str(raw.get("target") or ""),
        }


def _where_labels() -> dict[str, str]:
    from destek.automation.conditions import WHERE_LABELS

    return {key: str(label) for key, label in WHERE_LABELS.items()}


def _departments() -> list[tuple[str, str]]:
    from destek.tickets.models import Department

    return [(d.slug, d.display_name()) for d in Department.objects.order_by("name")]


def agent_choices() -> list[tuple[str, str]]:
    agents = User.objects.filter(role__in=[Role.AGENT, Role.ADMIN], is_active=True)
    return [(a.email, f"{a.display_name} <{a.email}>") for a in agents.order_by("email")]


def target_choices() -> list[tuple[str, str]]:
    targets = WebhookTarget.objects.filter(active=True, deleted_at__isnull=True).order_by("pk")
    return [(str(t.pk), f"#{t.pk} {t.url}") for t in targets]


class RowsField(forms.Field):
    """The rows as the model's JSON list; each row parsed, its error kept for the widget."""

    def __init__(self, what: str, **kwargs: Any) -> None:
        self.what = what
        super().__init__(widget=RowsWidget(what), **kwargs)

    def prepare_value(self, value: Any) -> Any:
        return _as_list(value)

    def to_python(self, value: Any) -> list[dict[str, Any]]:
        return _as_list(value)

    def validate(self, value: Any) -> None:
        rows: list[dict[str, Any]] = value
        errors: dict[int, str] = {}
        for index, row in enumerate(rows):
            try:
                if self.what == "conditions":
                    parse_condition(row)
                else:
                    parse_action(row)
                    self._known(row)
            except RuleInvalid as invalid:
                errors[index] = str(invalid)
        assert isinstance(self.widget, RowsWidget)
        self.widget.row_errors = errors
        if errors:
            name = _("Condition") if self.what == "conditions" else _("Action")
            raise ValidationError(
                [f"{name} {index + 1}: {message}" for index, message in errors.items()]
            )
        if self.required and not rows:
            raise ValidationError(_("A rule needs at least one action."))

    @staticmethod
    def _known(row: dict[str, Any]) -> None:
        """What the selects offer: a department, an agent, an active webhook target."""
        kind = row["type"]
        if kind in ("set_department", "mail_department"):
            if row["value"] not in dict(_departments()):
                raise RuleInvalid(
                    _("The department “{slug}” does not exist.").format(slug=row["value"])
                )
        elif kind == "assign" and row["value"].lower() not in {
            email.lower() for email, _label in agent_choices()
        }:
            raise RuleInvalid(_("No agent has the address {email}.").format(email=row["value"]))
        elif kind == "call_webhook" and str(row["target"]) not in dict(target_choices()):
            raise RuleInvalid(_("Choose an active webhook target."))


class RuleForm(forms.ModelForm):  # type: ignore[type-arg]
    conditions = RowsField("conditions", required=False, label=gettext_lazy("Conditions"))
    actions = RowsField("actions", label=gettext_lazy("Actions"))

    class Meta:
        model = Rule
        # Every field of the rule, so one added to the model appears without a change here.
        fields = "__all__"  # noqa: DJ007

    def add_error(self, field: str | None, error: Any) -> None:
        """The model checks the JSON again; a field whose rows were refused already says why
        next to them (the model would add "needs an action" for the actions not read)."""
        if field is None and isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            kept = {name: e for name, e in error.error_dict.items() if name not in self.errors}
            if not kept:
                return
            error = ValidationError(kept)
        super().add_error(field, error)
