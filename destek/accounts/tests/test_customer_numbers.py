from __future__ import annotations

import itertools
import secrets

import pytest

from destek.accounts.models import User

pytestmark = pytest.mark.django_db


def test_a_new_customer_never_gets_a_number_another_customer_has(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = User.objects.create_user("first@example.org", "pw")
    taken = int(first.customer_number or 0) - 1_000_000
    drawn = itertools.chain([taken], itertools.count(5))
    monkeypatch.setattr(secrets, "randbelow", lambda _n: next(drawn))
    second = User.objects.create_user("second@example.org", "pw")
    assert second.customer_number != first.customer_number
