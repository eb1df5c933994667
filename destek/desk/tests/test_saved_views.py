"""Saved views beside the queue: an agent names the filters, search words and sort they use,
keeps them to themselves or shares them with a department, and sees how many tickets each
holds; any column of the queue sorts, both ways."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from destek.accounts.models import User
from destek.desk.models import SavedView
from destek.tickets.models import Department, Membership, Ticket

pytestmark = pytest.mark.django_db


def desk_for(user: User, language: str = "en") -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


def count_of(page: str, view: SavedView) -> str:
    found = re.search(rf'data-view-count="{view.pk}">([^<]*)<', page)
    assert found, f"no count for {view.name}"
    return found.group(1)


def save(desk: Client, name: str, params: str = "", department: int | str = "") -> Any:
    return desk.post("/desk/views/", {"name": name, "params": params, "department": department})


def test_smoke(customer: Any, users: dict[str, User]) -> None:
    customer.file_ticket("Printer jams", "The printer jams.")
    desk = desk_for(users["agent"])
    answer = save(desk, "Urgent mine", "who=unassigned&sort=-updated")
    assert answer.status_code == 302, answer.content
    page = desk.get(answer["Location"]).content.decode()
    view = SavedView.objects.get()
    assert count_of(page, view) == "1"
