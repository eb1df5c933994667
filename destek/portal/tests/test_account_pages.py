"""The account pages without JavaScript: sign up with a mailed link, password reset,
two-factor sign-in, the profile and the addresses each kind of mail goes to."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from unittest import mock

import pyotp
import pytest
import time_machine
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.test import Client
from django.utils import timezone

from destek.accounts.models import ApiToken, RecoveryCode, TwoFactor, User
from destek.accounts.selectors import notification_address
from destek.notify.models import Delivery

pytestmark = pytest.mark.django_db


class Browser:
    """One browser, committing like production: mail queued on commit is sent (to
    `mail.outbox`) before the answer comes back."""

    def __init__(self, capture: Any, **client: Any) -> None:
        self.client = Client(headers={"Accept-Language": "en"}, **client)
        self.client.cookies["django_language"] = "en"
        self.capture = capture

    def get(self, url: str, **kw: Any) -> Any:
        with self.capture(execute=True):
            return self.client.get(url, **kw)

    def post(self, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        with self.capture(execute=True):
            return self.client.post(url, data or {}, **kw)

    def signed_in(self) -> bool:
        return self.client.get("/my/profile/").status_code == 200


@pytest.fixture
def browser(demo: None, django_capture_on_commit_callbacks: Any) -> Browser:
    # The demo people read their mail in their own languages (Azerbaijani, Persian, ...);
    # here they read English so the assertions can quote the mails. That mail follows the
    # recipient's language is shown by the sign-up and notify tests.
    User.objects.update(language="en")
    return Browser(django_capture_on_commit_callbacks)


@pytest.fixture
def new_browser(django_capture_on_commit_callbacks: Any) -> Any:
    return lambda **kw: Browser(django_capture_on_commit_callbacks, **kw)


def link_in(mail: Any) -> str:
    """The path of the first link to us in a mail's text."""
    found = re.search(r"https?://[^/\s]+(/\S+/)", mail.body)
    assert found, mail.body
    return found.group(1)


def page_text(response: Any) -> str:
    """The page without its per-browser CSRF token, to compare two answers."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def mails_to(outbox: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [m for m in outbox if m.to == [address]]


STRONG = "plum-Orbit-7421"

SIGN_UP = {
    "full_name": "Leyla Aliyeva",
    "email": "leyla@example.org",
    "password": STRONG,
    "language": "en",
    "time_zone": "Asia/Baku",
}


def sign_up(browser: Browser, **changes: Any) -> Any:
    return browser.post("/sign-up/", {**SIGN_UP, **changes})


# --- sign-up ------------------------------------------------------------------------------


def test_signing_up_mails_a_link_that_verifies_the_address_and_signs_in(
    browser: Browser, outbox: list[EmailMessage]
) -> None:
    response = sign_up(browser)
    assert response.status_code == 302
    assert response["Location"] == "/sign-up/sent/"
    user = User.objects.get(email="leyla@example.org")
    assert user.email_verified_at is None
    assert user.is_customer
    [mail] = mails_to(outbox, "leyla@example.org")
    assert isinstance(mail, EmailMultiAlternatives)
    assert mail.subject == "Confirm your e-mail address"
    assert mail.alternatives, "an HTML part too"

    refused = browser.post("/sign-in/", {"email": "leyla@example.org", "password": STRONG})
    page = refused.content.decode()
    assert "Invalid e-mail or password" in page
    assert "Open the link we sent you first" in page
    assert "Send the link again" in page
    assert not browser.signed_in()

    link = link_in(mail)
    looked = browser.get(link)
    assert "Confirm and sign in" in looked.content.decode()
    user.refresh_from_db()
    assert user.email_verified_at is None, "a GET (a mail scanner) changes nothing"

    followed = browser.post(link, {"password": STRONG})
    assert followed.status_code == 302
    assert browser.signed_in()
    user.refresh_from_db()
    assert user.email_verified_at is not None

    again = new_client_post(browser, link)
    assert "already used or has expired" in again.content.decode()


def new_client_post(browser: Browser, url: str) -> Any:
    other = Browser(browser.capture)
    response = other.post(url, {"password": STRONG})
    assert not other.signed_in()
    return response


def test_a_sign_up_that_draws_a_taken_customer_number_still_opens_the_account(
    browser: Browser, outbox: list[EmailMessage], users: dict[str, User]
) -> None:
    taken = users["customer"].customer_number
    draws = iter([taken, "7654321"])
    with mock.patch("destek.accounts.models.new_customer_number", lambda: next(draws)):
        response = sign_up(browser)
    assert response.status_code == 302
    assert User.objects.get(email="leyla@example.org").customer_number == "7654321"
    assert [m.subject for m in mails_to(outbox, "leyla@example.org")] == [
        "Confirm your e-mail address"
    ]


def test_the_sign_up_form_preselects_the_current_language_and_checks_the_password(
    browser: Browser,
) -> None:
    browser.client.cookies["django_language"] = "tr"
    page = browser.get("/sign-up/").content.decode()
    assert '<option value="tr" selected>' in page
    assert 'value="Asia/Baku" selected' in page
    weak = sign_up(browser, password="leyla")
    assert weak.status_code == 200
    assert not User.objects.filter(email="leyla@example.org").exists()


def test_the_verification_mail_is_in_the_language_chosen_at_sign_up(
    browser: Browser, outbox: list[EmailMessage]
) -> None:
    sign_up(browser, language="ru", time_zone="Europe/Moscow")
    delivery = Delivery.objects.get(recipient="leyla@example.org")
    assert delivery.language == "ru"
    user = User.objects.get(email="leyla@example.org")
    assert (user.language, user.time_zone) == ("ru", "Europe/Moscow")


def test_signing_up_with_a_taken_address_answers_the_same_and_tells_the_owner(
    browser: Browser, new_browser: Any, outbox: list[EmailMessage]
) -> None:
    fresh = sign_up(browser)
    taken = sign_up(new_browser(), email="Customer@Example.com", full_name="Mallory")
    assert (taken.status_code, taken["Location"]) == (fresh.status_code, fresh["Location"])
    assert page_text(new_browser().get(taken["Location"])) == page_text(
        browser.get(fresh["Location"])
    )
    [note] = mails_to(outbox, "customer@example.com")
    assert note.subject == "Someone tried to sign up with your address"
    assert "/password-reset/" in note.body
    owner = User.objects.get(email="customer@example.com")
    assert owner.check_password("demo"), "nothing changed in the account"
    assert owner.full_name != "Mallory"


def test_the_verification_mail_does_not_carry_the_name_typed_at_sign_up(
    browser: Browser, outbox: list[EmailMessage]
) -> None:
    sign_up(browser, full_name="Your account is locked: visit evil.example now")
    [mail] = mails_to(outbox, "leyla@example.org")
    assert isinstance(mail, EmailMultiAlternatives)
    assert "evil.example" not in mail.body
    assert "evil.example" not in str(mail.alternatives)
    assert "Hello leyla," in mail.body


def test_a_second_sign_up_before_verifying_kills_the_first_link(
    browser: Browser, outbox: list[EmailMessage]
) -> None:
    sign_up(browser)
    first = link_in(outbox[-1])
    sign_up(browser, password="another-Long-pass-99")
    second = link_in(outbox[-1])
    answer = browser.post(first, {"password": "another-Long-pass-99"}).content.decode()
    assert "already used or has expired" in answer
    browser.post(second, {"password": "another-Long-pass-99"})
    assert browser.signed_in()
    assert User.objects.get(email="leyla@example.org").check_password("another-Long-pass-99")


def test_a_sign_up_link_expires(browser: Browser, outbox: list[EmailMessage]) -> None:
    sign_up(browser)
    link = link_in(outbox[-1])
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        page = browser.post(link, {"password": STRONG}).content.decode()
    assert "already used or has expired" in page
    assert not browser.signed_in()


def test_the_link_can_be_sent_again_with_the_same_answer_for_anyone(
    browser: Browser, outbox: list[EmailMessage]
) -> None:
    sign_up(browser)
    outbox.clear()
    mine = browser.post("/sign-up/resend/", {"email": "leyla@example.org"})
    unknown = browser.post("/sign-up/resend/", {"email": "nobody@example.org"})
    verified = browser.post("/sign-up/resend/", {"email": "customer@example.com"})
    assert mine["Location"] == unknown["Location"] == verified["Location"] == "/sign-up/sent/"
    assert [m.to for m in outbox] == [["leyla@example.org"]]
    browser.post(link_in(outbox[-1]), {"password": STRONG})
    assert browser.signed_in()


@pytest.mark.usefixtures("one_rate_window")
def test_sign_up_is_rate_limited_by_address_and_by_client(
    browser: Browser, new_browser: Any, outbox: list[EmailMessage]
) -> None:
    answers = [sign_up(browser).status_code for _ in range(4)]
    assert answers == [302, 302, 302, 429]
    assert len(mails_to(outbox, "leyla@example.org")) == 3

    client = new_browser(REMOTE_ADDR="203.0.113.9")
    answers = [sign_up(client, email=f"p{i}@example.org").status_code for i in range(19)]
    assert answers == [302] * 18 + [429]
    assert not User.objects.filter(email="p18@example.org").exists()


def test_a_customer_known_only_from_their_mail_claims_the_account_by_signing_up(
    browser: Browser, outbox: list[EmailMessage]
) -> None:
    known = User(email="leyla@example.org", full_name="Leyla", email_verified_at=None)
    known.set_unusable_password()
    known.save()
    sign_up(browser)
    browser.post(link_in(mails_to(outbox, "leyla@example.org")[-1]), {"password": STRONG})
    assert browser.signed_in()
    known.refresh_from_db()
    assert known.check_password(STRONG)
    assert known.email_verified_at is not None


def test_confirming_a_sign_up_needs_the_password_chosen_at_sign_up(
    browser: Browser, new_browser: Any, outbox: list[EmailMessage]
) -> None:
    """A stranger signs up with someone's address; the owner opens the link in their mailbox.
    Without the stranger's password the owner cannot confirm it, so the owner never ends up
    signed in to an account whose password a stranger knows."""
    phoned = User(email="leyla@example.org", full_name="Leyla", language="az")
    phoned.set_unusable_password()
    phoned.save()
    stranger = new_browser(REMOTE_ADDR="203.0.113.66")
    sign_up(stranger, full_name="Not Leyla", language="ru", time_zone="Europe/Moscow")
    link = link_in(mails_to(outbox, "leyla@example.org")[-1])
    owner = new_browser(REMOTE_ADDR="198.51.100.7")
    answer = owner.post(link, {"password": "whatever-I-guess-1"})
    assert "not the password chosen at sign-up" in answer.content.decode()
    assert not owner.signed_in()
    phoned.refresh_from_db()
    assert phoned.email_verified_at is None
    # Nothing the stranger typed replaced the owner's own details.
    assert (phoned.full_name, phoned.language) == ("Leyla", "az")


def test_a_caller_whose_account_an_agent_made_claims_it_by_signing_up(
    browser: Browser, outbox: list[EmailMessage]
) -> None:
    phoned = User(email="leyla@example.org", full_name="Leyla")  # verified, no password
    phoned.set_unusable_password()
    phoned.save()
    sign_up(browser)
    phoned.refresh_from_db()
    assert phoned.email_verified_at is None
    before = browser.post("/sign-in/", {"email": "leyla@example.org", "password": STRONG})
    assert "Invalid e-mail or password" in before.content.decode()
    browser.post(link_in(mails_to(outbox, "leyla@example.org")[-1]), {"password": STRONG})
    assert browser.signed_in()


def test_signing_in_after_signing_up_with_a_taken_address_answers_as_for_a_new_one(
    new_browser: Any, demo: None, anonymous: Any, outbox: list[EmailMessage]
) -> None:
    """The one who signs up chose the password: the sign-in must not tell "not yet confirmed"
    (a new address) from "wrong password" (the address has an account)."""
    answers = []
    for email in ("leyla@example.org", "customer@example.com"):
        browser = new_browser()
        sign_up(browser, email=email)
        page = browser.post("/sign-in/", {"email": email, "password": STRONG})
        api = anonymous.post("auth/token", {"email": email, "password": STRONG})
        answers.append(
            (
                page_text(page).replace(email, "ADDRESS"),
                api.status_code,
                api.json(),
            )
        )
    assert answers[0] == answers[1]


def test_signing_up_cannot_claim_an_agent_or_admin_account_without_a_password(
    browser: Browser, outbox: list[EmailMessage]
) -> None:
    staff = User(email="new.agent@example.com", full_name="Nigar", role="agent")
    staff.set_unusable_password()
    staff.save()
    sign_up(browser, email="new.agent@example.com")
    staff.refresh_from_db()
    assert not staff.has_usable_password(), "a stranger's password is not waiting on it"
    assert staff.email_verified_at is not None
    [note] = mails_to(outbox, "new.agent@example.com")
    assert note.subject == "Someone tried to sign up with your address"


# --- sign-in --------------------------------------------------------------------------------


def test_the_admin_sites_own_sign_in_form_cannot_skip_two_factor(
    browser: Browser, users: dict[str, User]
) -> None:
    enable_two_factor(browser, users["admin"])
    login = {"username": "admin@example.com", "password": "demo"}
    page = browser.get("/admin/login/?next=/admin/")
    assert page["Location"] == "/sign-in/?next=/admin/"
    browser.post("/admin/login/?next=/admin/", login)
    assert not browser.signed_in()
    assert browser.client.get("/admin/")["Location"].startswith("/admin/login/")


def test_signing_in_gives_a_new_session_key(browser: Browser) -> None:
    browser.get("/sign-in/")
    browser.client.session.save()
    before = browser.client.session.session_key
    browser.post("/sign-in/", {"email": "customer@example.com", "password": "demo"})
    assert browser.signed_in()
    assert browser.client.session.session_key != before


@pytest.mark.usefixtures("one_rate_window")
def test_sign_in_is_rate_limited_by_address_and_shares_the_count_with_the_api(
    browser: Browser, anonymous: Any
) -> None:
    for _ in range(5):
        anonymous.post("auth/token", {"email": "customer@example.com", "password": "nope"})
    for _ in range(5):
        browser.post("/sign-in/", {"email": "customer@example.com", "password": "nope"})
    late = browser.post("/sign-in/", {"email": "customer@example.com", "password": "demo"})
    assert "Too many attempts" in late.content.decode()
    assert not browser.signed_in()


def test_the_sign_in_page_offers_sign_up_and_password_reset(browser: Browser) -> None:
    page = browser.get("/sign-in/").content.decode()
    assert 'href="/sign-up/"' in page
    assert 'href="/password-reset/"' in page
    assert "Forgot your password?" in page


def test_signing_in_goes_back_to_the_page_asked_for_but_never_elsewhere(
    browser: Browser,
) -> None:
    login = {"email": "customer@example.com", "password": "demo"}
    there = browser.post("/sign-in/?next=/my/profile/", login)
    assert there["Location"] == "/my/profile/"
    other = Browser(browser.capture)
    away = other.post("/sign-in/?next=https://evil.example/", login)
    assert away["Location"] == "/"


def test_signed_in_people_see_a_profile_link_in_the_header(
    browser: Browser, users: dict[str, User]
) -> None:
    assert 'href="/my/profile/"' not in browser.get("/sign-in/").content.decode()
    for name in ("customer", "agent"):
        browser.client.force_login(users[name])
        assert 'href="/my/profile/"' in browser.get("/my/profile/").content.decode()


def test_sign_up_can_be_switched_off(browser: Browser, settings: Any) -> None:
    settings.DESTEK_SIGNUP = False
    assert browser.get("/sign-up/").status_code == 404
    assert 'href="/sign-up/"' not in browser.get("/sign-in/").content.decode()


# --- password reset -------------------------------------------------------------------------


def test_password_reset_answers_the_same_for_known_and_unknown_addresses(
    browser: Browser, new_browser: Any, outbox: list[EmailMessage]
) -> None:
    known = browser.post("/password-reset/", {"email": "customer@example.com"})
    unknown = new_browser().post("/password-reset/", {"email": "nobody@example.com"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert page_text(browser.get(known["Location"])) == page_text(
        new_browser().get(unknown["Location"])
    )
    assert [m.to for m in outbox] == [["customer@example.com"]]
    assert outbox[0].subject == "Reset your password"


def test_a_reset_link_sets_a_new_password_once_and_tells_the_security_address(
    browser: Browser, users: dict[str, User], outbox: list[EmailMessage]
) -> None:
    customer = users["customer"]
    customer.contact_addresses.create(
        email="alerts@example.com", verified_at=timezone.now(), for_security=True
    )
    token_user = ApiToken.objects.filter(user=customer, revoked_at__isnull=True)
    from destek.accounts.actions import issue_api_token

    issue_api_token(customer)
    browser.post("/password-reset/", {"email": "customer@example.com"})
    link = link_in(mails_to(outbox, "customer@example.com")[-1])
    assert "Choose a new password" in browser.get(link).content.decode()
    weak = browser.post(link, {"new_password": "demo"})
    assert weak.status_code == 200
    done = browser.post(link, {"new_password": STRONG})
    assert done["Location"] == "/password-reset/done/"
    customer.refresh_from_db()
    assert customer.check_password(STRONG)
    assert not token_user.exists(), "API tokens of the old password are revoked"
    assert not browser.signed_in(), "the link does not sign in (two-factor would be skipped)"
    [changed] = mails_to(outbox, "alerts@example.com")
    assert changed.subject == "Your password was changed"
    used = browser.post(link, {"new_password": "yet-Another-pass-5"})
    assert "already used or has expired" in used.content.decode()
    customer.refresh_from_db()
    assert customer.check_password(STRONG)


def test_a_reset_link_expires(browser: Browser, outbox: list[EmailMessage]) -> None:
    browser.post("/password-reset/", {"email": "customer@example.com"})
    link = link_in(outbox[-1])
    # Relative: Django's token clock is naive local time, which an aware destination skews.
    with time_machine.travel(timedelta(minutes=61)):
        answer = browser.post(link, {"new_password": STRONG})
    assert answer.status_code == 200
    assert "already used or has expired" in answer.content.decode()
    assert User.objects.get(email="customer@example.com").check_password("demo")


@pytest.mark.usefixtures("one_rate_window")
def test_password_reset_is_rate_limited_by_address_and_by_client(
    browser: Browser, new_browser: Any, outbox: list[EmailMessage]
) -> None:
    answers = [
        browser.post("/password-reset/", {"email": "customer@example.com"}).status_code
        for _ in range(4)
    ]
    assert answers == [302, 302, 302, 429]
    assert len(outbox) == 3
    client = new_browser(REMOTE_ADDR="203.0.113.7")
    answers = [
        client.post("/password-reset/", {"email": f"u{i}@example.com"}).status_code
        for i in range(19)
    ]
    assert answers[-1] == 429


def test_a_customer_known_only_from_their_mail_claims_the_account_by_password_reset(
    browser: Browser, outbox: list[EmailMessage]
) -> None:
    known = User(email="leyla@example.org", email_verified_at=None)
    known.set_unusable_password()
    known.save()
    browser.post("/password-reset/", {"email": "leyla@example.org"})
    browser.post(link_in(outbox[-1]), {"new_password": STRONG})
    known.refresh_from_db()
    assert known.email_verified_at is not None, "reading the mail proved the address"
    browser.post("/sign-in/", {"email": "leyla@example.org", "password": STRONG})
    assert browser.signed_in()


# --- two-factor sign-in ---------------------------------------------------------------------


def enable_two_factor(browser: Browser, user: User) -> list[str]:
    browser.client.force_login(user)
    browser.post("/my/profile/two-factor/start/")
    secret = TwoFactor.objects.get(user=user).secret
    page = browser.post("/my/profile/two-factor/", {"code": pyotp.TOTP(secret).now()})
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", page.content.decode())
    browser.post("/sign-out/")
    return codes


def totp(user: User, at: Any = None) -> str:
    return pyotp.TOTP(TwoFactor.objects.get(user=user).secret).at(at or timezone.now())


def test_setting_up_two_factor_shows_the_key_once_then_never_again(
    browser: Browser, users: dict[str, User], outbox: list[EmailMessage]
) -> None:
    customer = users["customer"]
    browser.client.force_login(customer)
    browser.post("/my/profile/two-factor/start/")
    setup = browser.get("/my/profile/two-factor/")
    page = setup.content.decode()
    secret = TwoFactor.objects.get(user=customer).secret
    assert "<svg" in page and "http" not in page.split("<svg", 1)[1].split("</svg>")[0]
    assert secret[:4] in page
    assert "no-store" in setup["Cache-Control"]
    wrong = browser.post("/my/profile/two-factor/", {"code": "000000"})
    assert "The code is wrong" in wrong.content.decode()
    done = browser.post("/my/profile/two-factor/", {"code": pyotp.TOTP(secret).now()})
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", done.content.decode())
    assert len(set(codes)) == 10
    stored = list(RecoveryCode.objects.filter(user=customer).values_list("code_hash", flat=True))
    assert len(stored) == 10
    assert not set(codes) & set(stored), "only hashes are stored"
    assert all(code.replace("-", "") not in "".join(stored) for code in codes)

    assert browser.get("/my/profile/two-factor/")["Location"] == "/my/profile/"
    profile = browser.get("/my/profile/").content.decode()
    assert secret[:4] not in profile and secret not in profile
    assert "10 unused recovery codes left." in profile
    [mail] = mails_to(outbox, "customer@example.com")
    assert mail.subject == "Two-factor sign-in is on"


def test_with_two_factor_sign_in_asks_for_a_code_after_the_password(
    browser: Browser, users: dict[str, User]
) -> None:
    customer = users["customer"]
    enable_two_factor(browser, customer)
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        step = browser.post("/sign-in/", {"email": "customer@example.com", "password": "demo"})
        assert step["Location"] == "/sign-in/code/"
        assert not browser.signed_in(), "half signed in is not signed in"
        assert browser.client.get("/my/tickets/").status_code == 302
        wrong = browser.post("/sign-in/code/", {"code": "123456"})
        assert "The code is wrong" in wrong.content.decode()
        browser.client.session.save()
        before = browser.client.session.session_key
        right = browser.post("/sign-in/code/", {"code": totp(customer)})
        assert right.status_code == 302
        assert browser.signed_in()
        assert browser.client.session.session_key != before


def test_the_code_step_needs_the_password_step_first(browser: Browser) -> None:
    assert browser.get("/sign-in/code/")["Location"] == "/sign-in/"
    assert browser.post("/sign-in/code/", {"code": "123456"})["Location"] == "/sign-in/"


def test_a_code_from_the_app_works_only_once(
    browser: Browser, new_browser: Any, users: dict[str, User]
) -> None:
    customer = users["customer"]
    enable_two_factor(browser, customer)
    login = {"email": "customer@example.com", "password": "demo"}
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):
        code = totp(customer)
        browser.post("/sign-in/", login)
        browser.post("/sign-in/code/", {"code": code})
        assert browser.signed_in()
        thief = new_browser()
        thief.post("/sign-in/", login)
        replay = thief.post("/sign-in/code/", {"code": code})
        assert "The code is wrong" in replay.content.decode()
        assert not thief.signed_in()


def test_a_recovery_code_signs_in_once_and_the_security_address_is_told(
    browser: Browser, new_browser: Any, users: dict[str, User], outbox: list[EmailMessage]
) -> None:
    customer = users["customer"]
    codes = enable_two_factor(browser, customer)
    login = {"email": "customer@example.com", "password": "demo"}
    browser.post("/sign-in/", login)
    browser.post("/sign-in/code/", {"code": codes[0].upper().replace("-", " ")})
    assert browser.signed_in()
    assert mails_to(outbox, "customer@example.com")[-1].subject == "A recovery code was used"
    assert "Unused codes left: 9." in mails_to(outbox, "customer@example.com")[-1].body
    other = new_browser()
    other.post("/sign-in/", login)
    other.post("/sign-in/code/", {"code": codes[0]})
    assert not other.signed_in()


@pytest.mark.usefixtures("one_rate_window")
def test_the_code_step_is_rate_limited(browser: Browser, users: dict[str, User]) -> None:
    customer = users["customer"]
    enable_two_factor(browser, customer)
    browser.post("/sign-in/", {"email": "customer@example.com", "password": "demo"})
    for _ in range(5):
        browser.post("/sign-in/code/", {"code": "000000"})
    # The next step's code: valid (clock drift is allowed) and not spent by the set-up.
    blocked = browser.post(
        "/sign-in/code/", {"code": totp(customer, timezone.now() + timedelta(seconds=30))}
    )
    assert "Too many attempts" in blocked.content.decode()
    assert not browser.signed_in()


def test_agents_and_admins_sign_in_with_two_factor_through_the_same_page(
    browser: Browser, users: dict[str, User]
) -> None:
    agent = users["agent"]
    enable_two_factor(browser, agent)
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        step = browser.post("/sign-in/", {"email": "agent@example.com", "password": "demo"})
        assert step["Location"] == "/sign-in/code/"
        assert browser.client.get("/desk/").status_code == 302
        browser.post("/sign-in/code/", {"code": totp(agent)})
        assert browser.client.get("/desk/").status_code == 200


def test_switching_two_factor_off_needs_the_password_or_a_code(
    browser: Browser, users: dict[str, User], outbox: list[EmailMessage]
) -> None:
    customer = users["customer"]
    codes = enable_two_factor(browser, customer)
    browser.client.force_login(customer)
    refused = browser.post("/my/profile/two-factor/disable/", {"proof": "guess"})
    assert "The password or code is wrong." in refused.content.decode()
    assert TwoFactor.objects.filter(user=customer).exists()
    browser.post("/my/profile/two-factor/disable/", {"proof": codes[3]})
    assert not TwoFactor.objects.filter(user=customer).exists()
    assert not RecoveryCode.objects.filter(user=customer).exists()
    assert mails_to(outbox, "customer@example.com")[-1].subject == "Two-factor sign-in is off"
    browser.post("/sign-out/")
    browser.post("/sign-in/", {"email": "customer@example.com", "password": "demo"})
    assert browser.signed_in()


def test_new_recovery_codes_replace_the_old_ones(browser: Browser, users: dict[str, User]) -> None:
    customer = users["customer"]
    old = enable_two_factor(browser, customer)
    browser.client.force_login(customer)
    page = browser.post("/my/profile/two-factor/codes/", {"proof": "demo"}).content.decode()
    new = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", page)
    assert len(new) == 10 and not set(new) & set(old)
    browser.post("/sign-out/")
    browser.post("/sign-in/", {"email": "customer@example.com", "password": "demo"})
    browser.post("/sign-in/code/", {"code": old[0]})
    assert not browser.signed_in()
    browser.post("/sign-in/code/", {"code": new[0]})
    assert browser.signed_in()


def test_a_verification_link_of_a_two_factor_user_still_asks_for_the_code(
    browser: Browser, users: dict[str, User], outbox: list[EmailMessage]
) -> None:
    from destek.accounts.actions import signup_token

    customer = users["customer"]
    enable_two_factor(browser, customer)
    User.objects.filter(pk=customer.pk).update(email_verified_at=None)
    customer.refresh_from_db()
    answer = browser.post(f"/sign-up/verify/{signup_token(customer)}/", {"password": "demo"})
    assert answer["Location"] == "/sign-in/code/"
    assert not browser.signed_in()


# --- profile --------------------------------------------------------------------------------


def profile_data(**changes: Any) -> dict[str, Any]:
    return {
        "full_name": "Aysel Mammadova",
        "language": "en",
        "time_zone": "Asia/Baku",
        "phone": "+994 50 123 45 67",
        **changes,
    }


def test_changing_language_and_time_zone_applies_to_the_next_page(
    browser: Browser, users: dict[str, User]
) -> None:
    browser.client.force_login(users["customer"])
    saved = browser.post("/my/profile/", profile_data(language="fa", time_zone="Asia/Tehran"))
    assert saved["Location"] == "/my/profile/"
    page = browser.get("/my/profile/").content.decode()
    assert '<html lang="fa" dir="rtl">' in page
    assert 'value="Asia/Tehran" selected' in page
    customer = User.objects.get(email="customer@example.com")
    assert (customer.language, customer.time_zone, customer.phone) == (
        "fa",
        "Asia/Tehran",
        "+994501234567",
    ), "the phone is kept in E.164"


def test_a_time_zone_that_does_not_exist_is_refused_next_to_the_field(
    browser: Browser, users: dict[str, User]
) -> None:
    browser.client.force_login(users["customer"])
    page = browser.post("/my/profile/", profile_data(time_zone="Mars/Olympus")).content.decode()
    assert "Select a valid choice" in page
    assert "Aysel Mammadova" in page, "what was typed stays"


def test_changing_the_password_needs_the_current_one_and_keeps_this_browser_signed_in(
    browser: Browser, new_browser: Any, users: dict[str, User], outbox: list[EmailMessage]
) -> None:
    other = new_browser()
    for client in (browser, other):
        client.post("/sign-in/", {"email": "customer@example.com", "password": "demo"})
    wrong = browser.post(
        "/my/profile/password/", {"current_password": "nope", "new_password": STRONG}
    )
    assert "The current password is wrong." in wrong.content.decode()
    weak = browser.post(
        "/my/profile/password/", {"current_password": "demo", "new_password": "12345678"}
    )
    assert "This password is too common." in weak.content.decode()
    browser.post("/my/profile/password/", {"current_password": "demo", "new_password": STRONG})
    assert browser.signed_in()
    assert not other.signed_in(), "other browsers are signed out"
    assert mails_to(outbox, "customer@example.com")[-1].subject == "Your password was changed"


def test_a_notification_address_is_verified_then_chosen_and_removing_it_falls_back(
    browser: Browser, users: dict[str, User], outbox: list[EmailMessage]
) -> None:
    customer = users["customer"]
    browser.client.force_login(customer)
    browser.post("/my/profile/addresses/", {"email": "Billing@Example.com"})
    found = re.search(r"\b(\d{6})\b", str(mails_to(outbox, "billing@example.com")[-1].body))
    assert found is not None
    code = found.group(1)

    early = browser.post(
        "/my/profile/notifications/",
        {"security": "billing@example.com", "billing": "", "support": "", "announcements": ""},
    )
    assert early.status_code == 200, "an unverified address cannot be chosen"
    assert notification_address(customer, "security") == "customer@example.com"

    wrong = browser.post(
        "/my/profile/addresses/verify/",
        {"email": "billing@example.com", "code": "000000" if code != "000000" else "111111"},
    )
    assert "The code is wrong" in wrong.content.decode()
    browser.post("/my/profile/addresses/verify/", {"email": "billing@example.com", "code": code})
    assert "Verified" in browser.get("/my/profile/").content.decode()

    browser.post(
        "/my/profile/notifications/",
        {
            "security": "billing@example.com",
            "billing": "billing@example.com",
            "support": "",
            "announcements": "",
        },
    )
    assert notification_address(customer, "security") == "billing@example.com"
    assert notification_address(customer, "billing") == "billing@example.com"
    assert notification_address(customer, "support") == "customer@example.com"
    page = browser.get("/my/profile/").content.decode()
    assert re.search(
        r'name="security"[^>]*>.*?<option value="billing@example.com" selected', page, re.S
    )

    browser.post("/my/profile/password/", {"current_password": "demo", "new_password": STRONG})
    assert mails_to(outbox, "billing@example.com")[-1].subject == "Your password was changed"

    browser.post("/my/profile/addresses/remove/", {"email": "billing@example.com"})
    assert notification_address(customer, "security") == "customer@example.com"


def test_another_customers_address_cannot_be_chosen_or_removed(
    browser: Browser, users: dict[str, User]
) -> None:
    users["customer2"].contact_addresses.create(
        email="shared@example.com", verified_at=timezone.now()
    )
    browser.client.force_login(users["customer"])
    browser.post(
        "/my/profile/notifications/",
        {"security": "shared@example.com", "billing": "", "support": "", "announcements": ""},
    )
    assert notification_address(users["customer"], "security") == "customer@example.com"
    browser.post("/my/profile/addresses/remove/", {"email": "shared@example.com"})
    assert users["customer2"].contact_addresses.filter(email="shared@example.com").exists()


def test_the_profile_page_costs_a_fixed_number_of_queries(
    browser: Browser, users: dict[str, User], django_assert_max_num_queries: Any
) -> None:
    customer = users["customer"]
    for i in range(5):
        customer.contact_addresses.create(email=f"a{i}@example.com", verified_at=timezone.now())
    browser.client.force_login(customer)
    # 9: the messengers section reads the bots and the connected chats (one query each);
    # 10: the status banner asks whether anything is open (cold cache; none when warm).
    with django_assert_max_num_queries(10):
        assert browser.client.get("/my/profile/").status_code == 200


# --- CSRF -----------------------------------------------------------------------------------

FORMS = [
    "/sign-in/",
    "/sign-in/code/",
    "/sign-up/",
    "/sign-up/resend/",
    "/sign-up/verify/x/",
    "/password-reset/",
    "/password-reset/MQ/x-y/",
    "/my/profile/",
    "/my/profile/password/",
    "/my/profile/two-factor/start/",
    "/my/profile/two-factor/",
    "/my/profile/two-factor/codes/",
    "/my/profile/two-factor/disable/",
    "/my/profile/addresses/",
    "/my/profile/addresses/verify/",
    "/my/profile/addresses/remove/",
    "/my/profile/notifications/",
]


@pytest.mark.parametrize("url", FORMS)
def test_every_account_form_refuses_a_post_without_the_csrf_token(
    url: str, users: dict[str, User]
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["customer"])
    assert client.post(url, {"email": "customer@example.com"}).status_code == 403


PROFILE_PAGES = [url for url in FORMS if url.startswith("/my/")]


@pytest.mark.parametrize("url", PROFILE_PAGES)
def test_the_profile_pages_send_the_anonymous_to_sign_in(url: str, demo: None) -> None:
    for method in ("get", "post"):
        answer = getattr(Client(), method)(url)
        assert answer.status_code in (302, 405), (method, answer.status_code)
        if answer.status_code == 302:
            assert answer["Location"].startswith("/sign-in/?next=")
