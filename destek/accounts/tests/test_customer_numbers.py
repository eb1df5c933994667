from __future__ import annotations

import itertools

import pytest

from destek.accounts import models
from destek.accounts.models import User

pytestmark = pytest.mark.django_db


def test_a_new_customer_never_gets_a_number_another_customer_has(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = User.objects.create_user("first@example.org", "pw")
    drawn = itertools.chain([int(first.customer_number) - 1_000_000], itertools.count(5))
    monkeypatch.setattr(models.secrets, "randbelow", lambda _n: next(drawn))
    second = User.objects.create_user("second@example.org", "pw")
    assert second.customer_number != first.customer_number
