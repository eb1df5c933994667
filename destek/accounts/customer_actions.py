"""What agents change about customers and organisations in the desk: notes, the fields an agent
may edit, an organisation's e-mail domains and the members they suggest.

Kept apart from `actions.py` (a person's own account: sign-up, passwords, two-factor), which
is past the size where one file per concern reads better. Each function is one transaction;
each checks who acts, since the desk is not the only possible caller. Which customer or
organisation an agent may reach at all is decided by the desk's one door
(`desk.people_selectors`), which knows tickets; these take the object it gave.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from destek.accounts.actions import normalize_phone
from destek.accounts.choices import Tier
from destek.accounts.models import (
    CustomerNote,
    Organisation,
    OrganisationDomain,
    OrganisationNote,
    PhoneCode,
    User,
)
from destek.accounts.selectors import email_domain, organisation_domains
from destek.accounts.signals import customer_named, customer_terms_changed
from destek.lib.errors import ActionRefused

#: A note longer than this is refused: notes are read at a glance, not filed as documents.
NOTE_MAX = 5000

#: The most domains one organisation has.
DOMAINS_MAX = 20

#: Public mail services: their users are not one organisation's, so no organisation claims
#: them (every Gmail user would be suggested as its member).
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "aol.com",
        "bk.ru",
        "gmail.com",
        "gmx.com",
        "gmx.de",
        "googlemail.com",
        "hotmail.com",
        "icloud.com",
        "inbox.ru",
        "list.ru",
        "live.com",
        "mail.ru",
        "me.com",
        "msn.com",
        "outlook.com",
        "proton.me",
        "protonmail.com",
        "rambler.ru",
        "yahoo.com",
        "yandex.com",
        "yandex.ru",
        "ya.ru",
    }
)

#: One label of a domain name: letters (any script) and digits, hyphens inside.
_LABEL = re.compile(r"[^\W_](?:[^\W_]|-){0,62}", re.UNICODE)


def _staff(user: User) -> None:
    if not user.is_agent:
        raise ActionRefused("forbidden", _("Only agents and admins do this."), status=403)


def _customer(user: User) -> None:
    if not user.is_customer:
        raise ActionRefused("not_a_customer", _("This account is not a customer's."))


def _note_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise ActionRefused("note_required", _("Write the note first."), field="body")
    if len(body) > NOTE_MAX:
        raise ActionRefused(
            "note_too_long",
            _("A note has at most {limit} characters.").format(limit=NOTE_MAX),
            field="body",
        )
    return body


@transaction.atomic
def add_customer_note(customer: User, *, author: User, body: str) -> CustomerNote:
    """A note about `customer` that only agents and admins read."""
    _staff(author)
    _customer(customer)
    return CustomerNote.objects.create(customer=customer, author=author, body=_note_body(body))


@transaction.atomic
def add_organisation_note(
    organisation: Organisation, *, author: User, body: str
) -> OrganisationNote:
    _staff(author)
    return OrganisationNote.objects.create(
        organisation=organisation, author=author, body=_note_body(body)
    )


@transaction.atomic
def update_customer(
    customer: User,
    *,
    by: User,
    full_name: str,
    phone: str,
    language: str,
    time_zone: str,
    organisation: Organisation | None,
    tier: str | None = None,
) -> list[str]:
    """What an agent may change about a customer, all of it or nothing: name, phone,
    language, time zone and organisation; the tier too when `by` is an admin (`tier` None
    leaves it as it is). Never the address or what is verified: a new phone number is not
    verified (SMS stop until its owner types back a code). Returns the fields changed.

    A new tier or organisation moves the customer's open tickets to the service-level
    policy that now matches, in this same transaction (`customer_terms_changed`)."""
    _staff(by)
    _customer(customer)
    if language not in dict(settings.LANGUAGES):
        raise ActionRefused(
            "invalid_language", _("Choose one of the languages offered."), field="language"
        )
    if time_zone not in zoneinfo.available_timezones():
        raise ActionRefused(
            "invalid_time_zone", _("Choose one of the time zones offered."), field="time_zone"
        )
    if tier is not None and tier not in Tier.values:
        raise ActionRefused("invalid_tier", _("Choose one of the tiers offered."), field="tier")
    phone = normalize_phone(phone)  # refused next to the phone field when not a number
    # Read again under a lock: two agents saving at once must not mix their edits.
    customer = User.objects.select_for_update().get(pk=customer.pk)
    if tier is not None and tier != customer.tier and not by.is_admin:
        raise ActionRefused(
            "tier_admins_only",
            _("Only administrators change a customer's tier."),
            status=403,
            field="tier",
        )
    wanted = {
        "full_name": " ".join(full_name.split())[:200],
        "phone": phone,
        "language": language,
        "time_zone": time_zone,
        "organisation_id": organisation.pk if organisation is not None else None,
    }
    if tier is not None:
        wanted["tier"] = tier
    changed = [name for name, value in wanted.items() if getattr(customer, name) != value]
    if not changed:
        return []
    for name in changed:
        setattr(customer, name, wanted[name])
    fields = [name.removesuffix("_id") for name in changed]
    if "phone" in changed:
        customer.phone_verified_at = None
        fields.append("phone_verified_at")
        PhoneCode.objects.filter(user=customer).delete()
    customer.save(update_fields=fields)
    if {"tier", "organisation_id"} & set(changed):
        customer_terms_changed.send(sender=User, customer=customer)
    if {"full_name", "organisation_id"} & set(changed):
        customer_named.send(sender=User, customer=customer)
    return fields


def _clean_domain(raw: str) -> str:
    domain = raw.strip().lower().lstrip("@").rstrip(".")
    labels = domain.split(".")
    if (
        len(domain) > 253
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) and not label.endswith("-") for label in labels)
    ):
        raise ActionRefused(
            "invalid_domain",
            _("{domain} is not a domain name (like example.com).").format(domain=raw.strip()),
            field="domains",
        )
    if domain in PUBLIC_MAIL_DOMAINS:
        raise ActionRefused(
            "public_mail_domain",
            _("{domain} is a public mail service: its users are not one organisation.").format(
                domain=domain
            ),
            field="domains",
        )
    return domain


@transaction.atomic
def set_organisation_domains(
    organisation: Organisation, domains: Sequence[str], *, by: User
) -> list[str]:
    """The organisation's e-mail domains become `domains` (blank lines ignored). Admins
    only: a domain decides whom agents are offered as members. Refused as a whole when one
    is not a domain name, is a public mail service or belongs to another organisation."""
    if not by.is_admin:
        raise ActionRefused(
            "admins_only", _("Only administrators change an organisation's domains."), status=403
        )
    cleaned = list(dict.fromkeys(_clean_domain(d) for d in domains if d.strip()))
    if len(cleaned) > DOMAINS_MAX:
        raise ActionRefused(
            "too_many_domains",
            _("An organisation has at most {limit} domains.").format(limit=DOMAINS_MAX),
            field="domains",
        )
    taken = (
        OrganisationDomain.objects.filter(domain__in=cleaned)
        .exclude(organisation=organisation)
        .select_related("organisation")
        .first()
    )
    if taken is not None:
        raise ActionRefused(
            "domain_taken",
            _("{domain} already belongs to {organisation}.").format(
                domain=taken.domain, organisation=taken.organisation.name
            ),
            field="domains",
        )
    OrganisationDomain.objects.filter(organisation=organisation).exclude(
        domain__in=cleaned
    ).delete()
    have = set(organisation_domains(organisation))
    OrganisationDomain.objects.bulk_create(
        OrganisationDomain(organisation=organisation, domain=domain)
        for domain in cleaned
        if domain not in have
    )
    return cleaned


@transaction.atomic
def confirm_member(organisation: Organisation, customer: User, *, by: User) -> bool:
    """An agent confirms a suggested member: a customer of no organisation whose address is
    in one of the organisation's domains joins it. False when they already had joined it
    (a second click); refused when they belong to another organisation since, or their
    address is in none of its domains (the page was older than a change)."""
    _staff(by)
    _customer(customer)
    customer = User.objects.select_for_update().get(pk=customer.pk)
    if customer.organisation_id == organisation.pk:
        return False
    if customer.organisation_id is not None:
        raise ActionRefused(
            "member_elsewhere", _("This customer already belongs to another organisation.")
        )
    if email_domain(customer.email) not in organisation_domains(organisation):
        raise ActionRefused(
            "domain_mismatch",
            _("This customer's address is in none of the organisation's domains."),
        )
    customer.organisation = organisation
    customer.save(update_fields=["organisation"])
    customer_terms_changed.send(sender=User, customer=customer)
    customer_named.send(sender=User, customer=customer)
    return True
