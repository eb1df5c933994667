"""Two-factor sign-in, verified addresses and where each kind of mail goes, through the
actions and the API."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from django.apps import apps
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone

from destek.accounts import actions
from destek.accounts.models import RecoveryCode, TwoFactor, User
from destek.accounts.selectors import has_two_factor, notification_address
from destek.lib.errors import ActionRefused

pytestmark = pytest.mark.django_db


def enable(user: User) -> list[str]:
    two_factor = actions.start_two_factor(user)
    return actions.confirm_two_factor(user, pyotp.TOTP(two_factor.secret).now())


def code_at(user: User, seconds_from_now: int) -> str:
    secret = TwoFactor.objects.get(user=user).secret
    return pyotp.TOTP(secret).at(timezone.now() + timedelta(seconds=seconds_from_now))


def token(anonymous: Any, **payload: Any) -> Any:
    return anonymous.post(
        "auth/token", {"email": "customer@example.com", "password": "demo", **payload}
    )


def test_the_api_gives_no_token_to_a_two_factor_user_on_the_password_alone(
    anonymous: Any, users: dict[str, User]
) -> None:
    customer = users["customer"]
    codes = enable(customer)
    missing = token(anonymous)
    assert missing.status_code == 401
    assert missing.json()["code"] == "otp_required"
    wrong = token(anonymous, otp="000000")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "otp_required")
    right = token(anonymous, otp=code_at(customer, 30))
    assert right.status_code == 200 and right.json()["token"].startswith("dtk_")
    assert token(anonymous, otp=codes[0]).status_code == 200
    assert token(anonymous, otp=codes[0]).status_code == 401, "a recovery code works once"


def test_the_api_still_gives_demo_users_a_token_on_the_password(anonymous: Any) -> None:
    assert token(anonymous).status_code == 200


def test_the_api_refuses_an_account_whose_address_is_not_verified_as_a_wrong_password(
    anonymous: Any, users: dict[str, User]
) -> None:
    User.objects.filter(pk=users["customer"].pk).update(email_verified_at=None)
    refused = token(anonymous)
    assert refused.status_code == 401
    assert refused.json() == token(anonymous, password="wrong").json()


def test_a_code_is_accepted_once_and_no_older_code_after_it(users: dict[str, User]) -> None:
    customer = users["customer"]
    enable(customer)
    later = code_at(customer, 30)
    assert actions.check_second_factor(customer, later) == "totp"
    with pytest.raises(ActionRefused):
        actions.check_second_factor(customer, later)
    with pytest.raises(ActionRefused):
        actions.check_second_factor(customer, code_at(customer, 0))
    with pytest.raises(ActionRefused):  # too far ahead of the clock
        actions.check_second_factor(customer, code_at(customer, 120))


def test_recovery_codes_are_stored_as_hashes_and_used_once(
    users: dict[str, User], outbox: list[EmailMessage]
) -> None:
    customer = users["customer"]
    codes = enable(customer)
    assert len(codes) == 10
    hashes = set(RecoveryCode.objects.filter(user=customer).values_list("code_hash", flat=True))
    assert len(hashes) == 10 and not hashes & set(codes)
    assert actions.check_second_factor(customer, codes[5]) == "recovery"
    with pytest.raises(ActionRefused):
        actions.check_second_factor(customer, codes[5])
    assert RecoveryCode.objects.filter(user=customer, used_at__isnull=True).count() == 9


def test_setting_up_again_while_on_is_refused(users: dict[str, User]) -> None:
    customer = users["customer"]
    enable(customer)
    with pytest.raises(ActionRefused) as refused:
        actions.start_two_factor(customer)
    assert refused.value.code == "already_enabled"
    assert has_two_factor(customer)


def test_a_pending_set_up_does_not_ask_for_a_code_at_sign_in(users: dict[str, User]) -> None:
    actions.start_two_factor(users["customer"])
    assert not has_two_factor(users["customer"])


def test_each_kind_of_mail_falls_back_to_the_account_address(users: dict[str, User]) -> None:
    customer = users["customer"]
    for kind in ("support", "billing", "security", "announcements"):
        assert notification_address(customer, kind) == "customer@example.com"
    with pytest.raises(ValueError, match="unknown"):
        notification_address(customer, "everything")


def test_only_a_verified_address_can_receive_a_kind_of_mail(users: dict[str, User]) -> None:
    customer = users["customer"]
    customer.contact_addresses.create(email="pending@example.com")
    with pytest.raises(ActionRefused) as refused:
        actions.set_notification_addresses(customer, {"billing": "pending@example.com"})
    assert refused.value.code == "unverified_address"
    customer.contact_addresses.create(email="books@example.com", verified_at=timezone.now())
    actions.set_notification_addresses(customer, {"billing": "books@example.com"})
    assert notification_address(customer, "billing") == "books@example.com"
    actions.set_notification_addresses(customer, {"billing": ""})
    assert notification_address(customer, "billing") == "customer@example.com"


def test_one_kind_of_mail_goes_to_one_address_at_most(users: dict[str, User]) -> None:
    customer = users["customer"]
    now = timezone.now()
    customer.contact_addresses.create(email="a@example.com", verified_at=now, for_support=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        customer.contact_addresses.create(email="b@example.com", verified_at=now, for_support=True)


def test_accounts_that_existed_before_verification_count_as_verified(
    users: dict[str, User],
) -> None:
    migration = importlib.import_module(
        "destek.accounts.migrations.0004_email_verification_two_factor_notification_kinds"
    )
    User.objects.update(email_verified_at=None)
    migration.backfill_verified(apps, None)
    assert not User.objects.filter(email_verified_at__isnull=True).exists()
    customer = User.objects.get(email="customer@example.com")
    assert customer.email_verified_at == customer.date_joined


def test_accounts_made_by_other_channels_are_verified(db: Any) -> None:
    user = User.objects.create_user("made-by-admin@example.com", "x")
    assert user.email_verified_at is not None
