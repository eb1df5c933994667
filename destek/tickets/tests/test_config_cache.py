"""The admin's configuration is read once per process and never served stale after a save."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import transaction

from destek.automation.models import Rule, RuleKind
from destek.lib import config_cache
from destek.tickets import config, routing
from destek.tickets.models import Department

pytestmark = pytest.mark.django_db(transaction=True)


def counting_loader(value: Any) -> tuple[list[int], Any]:
    calls: list[int] = []

    def load() -> Any:
        calls.append(1)
        return value

    return calls, load


def test_configuration_is_read_once_while_nothing_changes() -> None:
    calls, load = counting_loader(["kept"])
    for _ in range(5):
        assert config_cache.cached("test:value", load) == ["kept"]
    assert len(calls) == 1


def test_a_saved_department_is_seen_by_the_next_read_in_the_same_process() -> None:
    Department.objects.create(name="Sales", slug="sales", position=1)
    assert [d.slug for d in config.departments()] == ["sales"]
    Department.objects.create(name="Billing", slug="billing", position=2)
    assert [d.slug for d in config.departments()] == ["sales", "billing"]


def test_another_process_sees_a_change_once_it_asks_the_shared_cache(settings: Any) -> None:
    settings.DESTEK_CONFIG_RECHECK_MS = 60_000
    Department.objects.create(name="Sales", slug="sales")
    assert [d.slug for d in config.departments()] == ["sales"]
    # Another process saves a department: the row is there and the shared version moves,
    # but this process has not asked yet.
    Department.objects.bulk_create([Department(name="Billing", slug="billing", position=5)])
    cache.incr(config_cache.VERSION_KEY)
    assert [d.slug for d in config.departments()] == ["sales"]
    settings.DESTEK_CONFIG_RECHECK_MS = 0  # the recheck interval has passed
    assert [d.slug for d in config.departments()] == ["sales", "billing"]


def test_a_change_that_is_rolled_back_is_not_kept() -> None:
    Department.objects.create(name="Sales", slug="sales")
    assert len(config.departments()) == 1
    with pytest.raises(RuntimeError), transaction.atomic():
        Department.objects.create(name="Billing", slug="billing")
        assert len(config.departments()) == 2  # the transaction sees its own change
        raise RuntimeError
    assert [d.slug for d in config.departments()] == ["sales"]


def test_a_disabled_routing_rule_stops_applying_at_once() -> None:
    sales = Department.objects.create(name="Sales", slug="sales")
    rule = Rule.objects.create(
        name="VIP",
        kind=RuleKind.FILED,
        conditions=[{"field": "text", "op": "contains", "value": ["invoice"]}],
        actions=[{"type": "set_department", "value": sales.slug}],
    )
    assert [r.name for r in routing.filed_rules()] == ["VIP"]
    rule.enabled = False
    rule.save()
    assert list(routing.filed_rules()) == []


def test_without_the_shared_cache_every_read_goes_to_the_database() -> None:
    calls, load = counting_loader("fresh")
    config_cache.forget()
    with mock.patch.object(cache, "get", side_effect=ConnectionError("redis is down")):
        for _ in range(3):
            assert config_cache.cached("test:down", load) == "fresh"
    assert len(calls) == 3


def test_a_shared_cache_outage_is_asked_about_once_per_interval_not_on_every_read(
    settings: Any,
) -> None:
    settings.DESTEK_CONFIG_RECHECK_MS = 60_000
    calls, load = counting_loader("fresh")
    config_cache.forget()
    down = mock.Mock(side_effect=ConnectionError("redis is down"))
    with mock.patch.object(cache, "get", down):
        for _ in range(5):
            assert config_cache.cached("test:down", load) == "fresh"
    assert down.call_count == 1, "one attempt (and one log line) per interval"
    assert len(calls) == 5, "nothing is kept while the version is unknown"


def test_a_change_whose_announcement_was_lost_is_seen_once_the_copy_is_too_old(
    settings: Any,
) -> None:
    settings.DESTEK_CONFIG_RECHECK_MS = 60_000
    settings.DESTEK_CONFIG_MAX_AGE_S = 300
    Department.objects.create(name="Sales", slug="sales")
    assert [d.slug for d in config.departments()] == ["sales"]
    # Another process saved a department while the shared cache was down: its version bump
    # was lost, so nothing tells this process.
    Department.objects.bulk_create([Department(name="Billing", slug="billing", position=5)])
    assert [d.slug for d in config.departments()] == ["sales"]
    settings.DESTEK_CONFIG_MAX_AGE_S = 0  # the copy has grown older than the longest kept
    assert [d.slug for d in config.departments()] == ["sales", "billing"]
