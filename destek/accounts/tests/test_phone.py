"""A customer proves their phone number with a code sent by SMS (the gateway runs on
loopback), so that tickets may send them SMS notices."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from destek.accounts import actions
from destek.accounts.models import PhoneCode, User
from destek.lib.errors import ActionRefused
from destek.notify.tests.gateway import Gateway, running_gateway

pytestmark = pytest.mark.django_db

PHONE = "+994501234567"


@pytest.fixture
def gateway(settings: Any) -> Iterator[Gateway]:
    with running_gateway(settings) as gateway:
        yield gateway


class Page:
    """The customer's browser; what is queued on commit is delivered before the answer."""

    def __init__(self, user: User, capture: Any) -> None:
        self.client = Client(headers={"Accept-Language": "en"})
        self.client.cookies["django_language"] = "en"
        self.client.force_login(user)
        self.capture = capture

    def get(self, url: str) -> Any:
        return self.client.get(url)

    def post(self, url: str, data: dict[str, Any] | None = None) -> Any:
        with self.capture(execute=True):
            return self.client.post(url, data or {})


@pytest.fixture
def person(users: dict[str, User]) -> User:
    user: User = users["customer"]
    user.language = "en"
    user.save(update_fields=["language"])
    return user


@pytest.fixture
def page(person: User, django_capture_on_commit_callbacks: Any) -> Page:
    return Page(person, django_capture_on_commit_callbacks)


def profile(phone: str) -> dict[str, str]:
    return {"full_name": "Aysel", "language": "en", "time_zone": "Asia/Baku", "phone": phone}


def code_in(gateway: Gateway) -> str:
    found = re.search(r"\b(\d{6})\b", gateway.texts()[-1])
    assert found, gateway.texts()
    return found.group(1)


def test_a_customer_verifies_their_phone_with_the_code_sent_by_sms(
    page: Page, person: User, gateway: Gateway
) -> None:
    saved = page.post("/my/profile/", profile("050 123 45 67"))
    assert saved.status_code == 302
    person.refresh_from_db()
    assert person.phone == PHONE, "typed without the country code: stored in E.164"
    before = page.get("/my/profile/").content.decode()
    assert "is not verified yet" in before and "Verify by SMS" in before
    sent = page.post("/my/profile/phone/code/")
    assert sent["Location"] == "/my/profile/#phone"
    [request] = gateway.requests
    assert request.json()["to"] == PHONE
    assert "Valid 15 min" in request.json()["text"]
    code = code_in(gateway)
    stored = PhoneCode.objects.get(user=person)
    assert code not in stored.code_hash, "only a hash of the code is kept"
    assert 'name="code"' in page.get("/my/profile/").content.decode()
    verified = page.post("/my/profile/phone/verify/", {"code": code})
    assert verified["Location"] == "/my/profile/#phone"
    person.refresh_from_db()
    assert person.phone_verified_at is not None
    assert not PhoneCode.objects.filter(user=person).exists(), "a code works once"
    assert "is verified" in page.get("/my/profile/").content.decode()


def test_a_wrong_code_is_refused_and_five_wrong_codes_spend_it(
    page: Page, person: User, gateway: Gateway
) -> None:
    page.post("/my/profile/", profile(PHONE))
    page.post("/my/profile/phone/code/")
    code = code_in(gateway)
    wrong = "000000" if code != "000000" else "111111"
    answer = page.post("/my/profile/phone/verify/", {"code": wrong}).content.decode()
    assert "The code is wrong or has expired. Ask for a new one." in answer
    assert 'value="' + wrong + '"' in answer, "what was typed is kept"
    for _i in range(4):
        page.post("/my/profile/phone/verify/", {"code": wrong})
    page.post("/my/profile/phone/verify/", {"code": code})
    person.refresh_from_db()
    assert person.phone_verified_at is None


def test_an_expired_code_is_refused(person: User, gateway: Gateway) -> None:
    actions.update_profile(person, full_name="", language="en", time_zone="Asia/Baku", phone=PHONE)
    actions.start_phone_verification(person)
    # the SMS was queued; the code is read back from its outbox row
    from destek.notify.models import Delivery

    code = re.findall(r"\d{6}", Delivery.objects.get(transport="sms").body_text)[0]
    later = timezone.now() + timedelta(minutes=16)
    with time_machine.travel(later, tick=False), pytest.raises(ActionRefused) as refused:
        actions.verify_phone(person, code)
    assert refused.value.code == "invalid_code"
    actions.verify_phone(person, code)  # still within 15 minutes here
    person.refresh_from_db()
    assert person.phone_verified_at is not None


def test_an_invalid_number_is_refused_next_to_the_phone_field(page: Page, person: User) -> None:
    answer = page.post("/my/profile/", profile("12345"))
    assert answer.status_code == 200
    html = answer.content.decode()
    field = html[html.index('id="id_phone"') - 400 : html.index('id="id_phone"')]
    assert "This is not a valid phone number." in field, "the error is at the field"
    assert 'value="12345"' in html, "what was typed is kept"
    person.refresh_from_db()
    assert person.phone == ""


def test_changing_the_number_clears_the_verification(page: Page, person: User) -> None:
    person.phone, person.phone_verified_at = PHONE, timezone.now()
    person.save()
    page.post("/my/profile/", profile("+994 50 123 45 67"))  # the same number, spaced
    person.refresh_from_db()
    assert person.phone_verified_at is not None
    page.post("/my/profile/", profile("+90 532 123 45 67"))
    person.refresh_from_db()
    # mypy keeps the "is not None" from before refresh_from_db(), which reloads the field.
    assert (person.phone, person.phone_verified_at) == ("+905321234567", None)  # type: ignore[comparison-overlap]


def test_a_code_sent_to_an_earlier_number_does_not_verify_a_later_one(
    person: User, gateway: Gateway, django_capture_on_commit_callbacks: Any
) -> None:
    actions.update_profile(person, full_name="", language="en", time_zone="Asia/Baku", phone=PHONE)
    with django_capture_on_commit_callbacks(execute=True):
        actions.start_phone_verification(person)
    code = code_in(gateway)
    actions.update_profile(
        person, full_name="", language="en", time_zone="Asia/Baku", phone="+994551112233"
    )
    with pytest.raises(ActionRefused):
        actions.verify_phone(person, code)
    person.refresh_from_db()
    assert person.phone_verified_at is None


@pytest.mark.usefixtures("one_rate_window")
def test_codes_by_sms_are_rate_limited(page: Page, gateway: Gateway) -> None:
    page.post("/my/profile/", profile(PHONE))
    for _i in range(3):
        assert page.post("/my/profile/phone/code/").status_code == 302
    refused = page.post("/my/profile/phone/code/")
    assert refused.status_code == 429
    assert "Too many codes asked for." in refused.content.decode()
    assert len(gateway.requests) == 3


def test_no_verification_while_sms_is_off(page: Page, person: User) -> None:
    page.post("/my/profile/", profile(PHONE))
    assert "Verify by SMS" not in page.get("/my/profile/").content.decode()
    with pytest.raises(ActionRefused) as refused:
        actions.start_phone_verification(person)
    assert refused.value.code == "sms_off"
