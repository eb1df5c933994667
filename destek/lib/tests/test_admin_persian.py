"""The admin in Persian has no English left where Django's own Persian catalogue lags its
code: the form's error banner and the two-list chooser's words come from ours."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from destek.accounts.models import User

pytestmark = pytest.mark.django_db


def _persian_admin(users: dict[str, User]) -> Client:
    client = Client()
    client.force_login(users["admin"])
    client.cookies["django_language"] = "fa"
    return client


def test_a_refused_admin_form_says_so_in_persian(users: dict[str, User]) -> None:
    page = _persian_admin(users).post("/admin/tickets/tag/add/", {"name": ""})
    html = page.content.decode()
    assert "لطفاً خطای زیر را برطرف کنید." in html
    assert "Please correct the error below." not in html


def test_the_admins_two_list_chooser_speaks_persian(users: dict[str, User]) -> None:
    script = _persian_admin(users).get("/admin/jsi18n/").content.decode()
    catalog = json.loads(re.search(r"const newcatalog = (\{.*?\});", script, re.S).group(1))  # type: ignore[union-attr]
    assert catalog["Choose all %s"] == "انتخاب همهٔ %s"
    assert catalog["Remove selected %s"] == "حذف %s برگزیده"
    assert catalog["Saturday"] == "شنبه"
