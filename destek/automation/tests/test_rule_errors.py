"""A rule refused names its condition or action as the editor shows it, in the admin's
language, not by its name in the stored JSON."""

from __future__ import annotations

import pytest
from django.utils import translation

from destek.automation.conditions import RuleInvalid, parse_action, parse_condition


def test_a_refused_condition_or_action_is_named_as_the_editor_names_it() -> None:
    with translation.override("ru"), pytest.raises(RuleInvalid) as refused:
        parse_condition({"field": "days_in_status", "op": "gte", "value": -1})
    assert "Дней в статусе" in str(refused.value)
    assert "days_in_status" not in str(refused.value)
    with translation.override("ru"), pytest.raises(RuleInvalid) as refused:
        parse_action({"type": "set_priority", "value": "soon"})
    assert "Установить приоритет" in str(refused.value)
